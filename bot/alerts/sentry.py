"""Sentry integration-platform webhooks: metric alerts, issue alerts and issue events, as typed Alerts."""

from __future__ import annotations

from collections.abc import Mapping

from pydantic import BaseModel, ConfigDict, ValidationError

from bot.alerts.decode import first_error, load_json
from bot.alerts.model import Alert, AlertStatus, BadPayload, Link, http_url, parse_time
from bot.alerts.signing import check_fresh, check_hmac

RESOURCES_WITH_ALERTS = ("metric_alert", "event_alert", "issue")
METRIC_ACTIONS = {"critical": "critical", "warning": "warning", "resolved": None}


class _Loose(BaseModel):
    model_config = ConfigDict(extra="ignore")


class _AlertRule(_Loose):
    id: str | int
    name: str = ""


class _MetricAlert(_Loose):
    id: str | int
    title: str = ""
    alert_rule: _AlertRule
    date_started: str | None = None
    date_closed: str | None = None


class _MetricData(_Loose):
    metric_alert: _MetricAlert
    description_title: str = ""
    description_text: str = ""
    web_url: str | None = None


class _MetricBody(_Loose):
    action: str
    data: _MetricData


class _Event(_Loose):
    issue_id: str | int
    title: str = ""
    level: str | None = None
    culprit: str | None = None
    web_url: str | None = None
    datetime: str | None = None


class _EventData(_Loose):
    event: _Event
    triggered_rule: str = ""


class _EventBody(_Loose):
    action: str
    data: _EventData


class _Issue(_Loose):
    id: str | int
    title: str = ""
    level: str | None = None
    culprit: str | None = None
    web_url: str | None = None
    permalink: str | None = None
    firstSeen: str | None = None


class _IssueData(_Loose):
    issue: _Issue


class _IssueBody(_Loose):
    action: str
    data: _IssueData


def verify(*, secret: str, body: bytes, headers: Mapping[str, str], now: float) -> None:
    """HMAC of the raw body with the client secret, and a fresh ``Sentry-Hook-Timestamp``."""
    check_hmac(secret=secret, message=body, signature=headers.get("Sentry-Hook-Signature"))
    check_fresh(timestamp=headers.get("Sentry-Hook-Timestamp"), now=now)


def parse(*, body: bytes, headers: Mapping[str, str]) -> list[Alert]:
    """The alerts in one delivery; resources that carry none (installation, comment) give an empty list."""
    resource = headers.get("Sentry-Hook-Resource", "")
    if resource not in RESOURCES_WITH_ALERTS:
        return []
    data = load_json(body)
    try:
        if resource == "metric_alert":
            return _metric(_MetricBody.model_validate(data))
        if resource == "event_alert":
            return [_event(_EventBody.model_validate(data))]
        return _issue(_IssueBody.model_validate(data))
    except ValidationError as exc:
        raise BadPayload(f"not a Sentry {resource} payload: {first_error(exc)}") from None


def _metric(body: _MetricBody) -> list[Alert]:
    if body.action not in METRIC_ACTIONS:
        raise BadPayload(f"unknown metric alert action {body.action[:30]!r}")
    alert = body.data.metric_alert
    title = body.data.description_title or alert.alert_rule.name or alert.title or "Sentry metric alert"
    resolved = body.action == "resolved"
    url = http_url(body.data.web_url)
    return [
        Alert(
            source="sentry",
            key=f"metric:{alert.id}",
            status=AlertStatus.RESOLVED if resolved else AlertStatus.FIRING,
            title=title,
            severity=METRIC_ACTIONS[body.action],
            summary=body.data.description_text.replace("\\n", "\n"),
            labels={"rule": alert.alert_rule.name, "kind": "metric_alert"},
            links=(Link("Sentry alert", url),) if url else (),
            started_at=parse_time(alert.date_started),
            ended_at=parse_time(alert.date_closed),
        )
    ]


def _event(body: _EventBody) -> Alert:
    event = body.data.event
    url = http_url(event.web_url)
    return Alert(
        source="sentry",
        key=f"issue:{event.issue_id}",
        status=AlertStatus.FIRING,
        title=event.title or "Sentry issue alert",
        severity=event.level,
        summary=event.culprit or "",
        labels={"rule": body.data.triggered_rule, "kind": "event_alert"},
        links=(Link("Sentry issue", url),) if url else (),
        started_at=parse_time(event.datetime),
    )


def _issue(body: _IssueBody) -> list[Alert]:
    if body.action not in ("created", "resolved", "unresolved"):
        return []  # assigned, ignored, archived: not an alert
    issue = body.data.issue
    url = http_url(issue.web_url or issue.permalink)
    resolved = body.action == "resolved"
    return [
        Alert(
            source="sentry",
            key=f"issue:{issue.id}",
            status=AlertStatus.RESOLVED if resolved else AlertStatus.FIRING,
            title=issue.title or "Sentry issue",
            severity=issue.level,
            summary=issue.culprit or "",
            labels={"kind": "issue"},
            links=(Link("Sentry issue", url),) if url else (),
            started_at=parse_time(issue.firstSeen),
        )
    ]
