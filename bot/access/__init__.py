"""Who may do what, and where: the policy every feature asks (``permission``) and the Slack records it
reads (``directory``: guests and user-group members, cached)."""
