"""Alert sources as webhook sources: ``POST /hooks/sentry``, ``/hooks/alertmanager``, ``/hooks/grafana``.

A source is listed only once the secret that proves its requests is set; until then its URL answers 404.
"""

from __future__ import annotations

from functools import partial

from bot.alerts import intake
from bot.alerts import service as alerts
from bot.alerts.model import SOURCES, Alert, BadPayload, Source, Unauthorized
from bot.deps import Deps
from bot.errors import Forbidden, UsageError
from bot.webhooks import Inbound, WebhookSource


def sources(deps: Deps) -> list[WebhookSource[list[Alert]]]:
    """One webhook source per enabled alert source."""
    return [
        WebhookSource(
            name=source,
            verify=partial(_verify, deps, source),
            parse=partial(_parse, source),
            handle=partial(_handle, deps),
        )
        for source in SOURCES
        if intake.enabled(deps.settings, source)
    ]


def _verify(deps: Deps, source: Source, inbound: Inbound) -> None:
    try:
        intake.verify(deps.settings, source, inbound.body, inbound.headers, inbound.received_at)
    except Unauthorized as exc:
        raise Forbidden(str(exc)) from None


def _parse(source: Source, inbound: Inbound) -> list[Alert]:
    try:
        return intake.parse(source, inbound.body, inbound.headers)
    except BadPayload as exc:
        raise UsageError(str(exc)) from None


async def _handle(deps: Deps, found: list[Alert]) -> None:
    await alerts.receive(deps, found)
