"""Pure rules for alerts: which runbook scenario, which severity to suggest, which rule declares."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import handlers
from bot.alerts.model import Alert
from bot.incidents.model import Severity
from bot.settings import AlertRule

# The source's own severity words, to the runbook's table (P0 is left to rules: a human or a rule says
# "site down", a metric rarely knows).
SEVERITY_WORDS: Mapping[str, Severity] = {
    "fatal": Severity.P1,
    "critical": Severity.P1,
    "page": Severity.P1,
    "high": Severity.P2,
    "error": Severity.P2,
    "warning": Severity.P3,
    "warn": Severity.P3,
    "info": Severity.P3,
    "low": Severity.P3,
}


def suggested_severity(alert: Alert) -> Severity:
    """The severity an incident opened from this alert starts with (P2 when the source says nothing)."""
    return SEVERITY_WORDS.get((alert.severity or "").lower(), Severity.P2)


def scenario_for(alert: Alert, extra_keywords: Mapping[str, Sequence[str]] | None = None) -> str | None:
    """Route like a title; a Sentry alert is an error spike unless its words say otherwise."""
    text = " ".join(part for part in (alert.title, alert.labels.get("alertname", "")) if part)
    scenario = handlers.classify(text, extra_keywords)
    if scenario is None and alert.source == "sentry":
        return "error_spike"
    return scenario.key if scenario else None


def matching_rule(alert: Alert, rules: Sequence[AlertRule]) -> AlertRule | None:
    """The first rule for the alert's source whose labels all match; only firing alerts declare."""
    if not alert.firing:
        return None
    for rule in rules:
        if rule.source == alert.source and all(alert.labels.get(k) == v for k, v in rule.match.items()):
            return rule
    return None
