"""The process's HTTP surface besides Slack's own routes: health (and, from the service branch, the app)."""
