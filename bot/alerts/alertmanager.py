"""Prometheus Alertmanager (webhook_config, version 4) and Grafana alerting webhooks as typed Alerts.

Grafana sends Alertmanager's shape plus title, state, message and per-alert values and URLs.
"""

from __future__ import annotations

from collections.abc import Mapping

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from bot.alerts.decode import first_error, load_json
from bot.alerts.model import Alert, AlertStatus, BadPayload, Link, Source, http_url, parse_time
from bot.alerts.signing import check_bearer, check_fresh, check_hmac

GRAFANA_SIGNATURE_HEADER = "X-Grafana-Alert-Signature"


class _Loose(BaseModel):
    model_config = ConfigDict(extra="ignore")


class _Alert(_Loose):
    status: str
    labels: dict[str, str] = Field(default_factory=dict)
    annotations: dict[str, str] = Field(default_factory=dict)
    startsAt: str | None = None  # the wire's field names, as Alertmanager and Grafana send them
    endsAt: str | None = None
    generatorURL: str | None = None
    fingerprint: str = ""
    dashboardURL: str | None = None
    panelURL: str | None = None
    silenceURL: str | None = None
    valueString: str | None = None


class _Notification(_Loose):
    version: str
    status: str
    groupKey: str = ""
    receiver: str = ""
    commonLabels: dict[str, str] = Field(default_factory=dict)
    commonAnnotations: dict[str, str] = Field(default_factory=dict)
    externalURL: str | None = None
    alerts: list[_Alert]
    title: str | None = None  # Grafana
    message: str | None = None  # Grafana


def verify_bearer(*, token: str, headers: Mapping[str, str]) -> None:
    """Alertmanager signs nothing: its http_config sends ``Authorization: Bearer <token>``."""
    check_bearer(token=token, authorization=headers.get("Authorization"))


def verify_grafana(
    *, secret: str, body: bytes, headers: Mapping[str, str], timestamp_header: str | None, now: float
) -> None:
    """Grafana's optional HMAC: hex HMAC-SHA256 of ``timestamp:`` (when configured) plus the raw body."""
    message = body
    if timestamp_header:
        stamp = headers.get(timestamp_header)
        check_fresh(timestamp=stamp, now=now)
        message = f"{stamp}:".encode() + body
    check_hmac(secret=secret, message=message, signature=headers.get(GRAFANA_SIGNATURE_HEADER))


def parse(*, body: bytes, source: Source = "alertmanager") -> list[Alert]:
    """One Alert per alert in the notification, keyed by group and fingerprint (Grafana: fingerprint)."""
    try:
        note = _Notification.model_validate(load_json(body))
    except ValidationError as exc:
        raise BadPayload(f"not an {source} notification: {first_error(exc)}") from None
    if source == "alertmanager" and note.version != "4":
        raise BadPayload(f"unsupported Alertmanager payload version {note.version[:10]!r} (expected 4)")
    return [_alert(note, a, source) for a in note.alerts]


def _alert(note: _Notification, a: _Alert, source: Source) -> Alert:
    if a.status not in ("firing", "resolved"):
        raise BadPayload(f"unknown alert status {a.status[:20]!r}")
    if not a.fingerprint:
        raise BadPayload("an alert has no fingerprint")
    labels = {**note.commonLabels, **a.labels}
    notes = {**note.commonAnnotations, **a.annotations}
    title = notes.get("summary") or labels.get("alertname") or note.title or f"{source} alert"
    key = a.fingerprint if source == "grafana" else f"{note.groupKey}:{a.fingerprint}"
    return Alert(
        source=source,
        key=key,
        status=AlertStatus(a.status),
        title=title,
        severity=labels.get("severity"),
        summary=notes.get("description") or a.valueString or note.message or "",
        labels=labels,
        links=_links(a),
        started_at=parse_time(a.startsAt),
        ended_at=parse_time(a.endsAt),
    )


def _links(a: _Alert) -> tuple[Link, ...]:
    named = (("Source", a.generatorURL), ("Dashboard", a.dashboardURL), ("Panel", a.panelURL))
    return tuple(Link(text, url) for text, raw in named if (url := http_url(raw)))
