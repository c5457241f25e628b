"""opsbot: a Slack chatops bot that turns the operations runbook into action."""

__version__ = "0.1.0"
