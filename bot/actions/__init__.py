"""Remediation: the runbook's fixes from Slack, behind a preview, a single-use confirm by an allowed
person, a separate database role, a per-person rate limit and an audit log.

- ``model``: what an action is, what its preview shows, what runs after Confirm (pure);
- ``grammar``: the ``/ops`` words for actions (pure); ``ids``: the Confirm button's codec;
- who may run them: ``bot.access`` (shared with incidents and ``/ops``);
- ``target``: the production database through OPS_DATABASE_ADMIN_URL;
- ``records``: the store's requests, audit and rate-limit rows; ``audit``: what is recorded and shown;
- ``render``: previews, outcomes and the audit list as Block Kit (pure); ``service``: the use cases.
"""
