"""One webhook delivery from an alert source: verify it, parse it, record it. Free of HTTP frameworks.

Answers: 202 recorded; 401 not from the source (logged at INFO, nothing stored); 400 not the shape the
source sends (nothing stored); 404 the source is not enabled (its secret is not set).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass

from bot.alerts import alertmanager, sentry
from bot.alerts import service as alerts
from bot.alerts.model import Alert, BadPayload, Source, Unauthorized
from bot.deps import Deps
from bot.settings import Settings

log = logging.getLogger("opsbot.alerts")


@dataclass(frozen=True)
class Answer:
    status: int
    text: str


def enabled(settings: Settings, source: Source) -> bool:
    """A source is enabled once the secret that proves its requests is set."""
    if source == "sentry":
        return settings.sentry_client_secret is not None
    if source == "alertmanager":
        return settings.alertmanager_token is not None
    return settings.grafana_hmac_secret is not None or settings.grafana_token is not None


def verify(settings: Settings, source: Source, body: bytes, headers: Mapping[str, str], now: float) -> None:
    """Raise Unauthorized unless the request proves it comes from ``source``."""
    if source == "sentry" and settings.sentry_client_secret is not None:
        secret = settings.sentry_client_secret.get_secret_value()
        sentry.verify(secret=secret, body=body, headers=headers, now=now)
    elif source == "alertmanager" and settings.alertmanager_token is not None:
        alertmanager.verify_bearer(token=settings.alertmanager_token.get_secret_value(), headers=headers)
    elif source == "grafana" and settings.grafana_hmac_secret is not None:
        alertmanager.verify_grafana(
            secret=settings.grafana_hmac_secret.get_secret_value(),
            body=body,
            headers=headers,
            timestamp_header=settings.grafana_timestamp_header,
            now=now,
        )
    elif source == "grafana" and settings.grafana_token is not None:
        alertmanager.verify_bearer(token=settings.grafana_token.get_secret_value(), headers=headers)
    else:
        raise Unauthorized("the source is not enabled")


def parse(source: Source, body: bytes, headers: Mapping[str, str]) -> list[Alert]:
    if source == "sentry":
        return sentry.parse(body=body, headers=headers)
    return alertmanager.parse(body=body, source=source)


async def handle(deps: Deps, *, source: Source, body: bytes, headers: Mapping[str, str]) -> Answer:
    """Verify, parse and record one delivery; never raises for anything the sender controls."""
    if not enabled(deps.settings, source):
        return Answer(404, f"the {source} webhook is not enabled on this opsbot")
    try:
        verify(deps.settings, source, body, headers, deps.clock())
    except Unauthorized as exc:
        log.info("refused a %s webhook: %s", source, exc)
        return Answer(401, "unauthorized")
    try:
        found = parse(source, body, headers)
    except BadPayload as exc:
        log.info("bad %s webhook: %s", source, exc)
        return Answer(400, str(exc))
    received = await alerts.receive(deps, found)
    log.info(
        "%s webhook: %d alerts (%d new, %d updated, %d out of order)",
        source,
        len(found),
        received.new,
        received.updated,
        received.stale,
    )
    return Answer(202, "recorded")
