"""Alerts that arrive by themselves: Sentry, Alertmanager and Grafana webhooks, vendor status pages."""
