"""Wires concrete clients together: the one place that knows every port's implementation."""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import aiohttp
import httpx
from slack_bolt.async_app import AsyncApp
from slack_sdk.web.async_client import AsyncWebClient

from bot.deps import Deps
from bot.incidents.card import CARD, card_template
from bot.logs import Redactor
from bot.outbox import Chore, Outbox
from bot.outbox.housekeeping import forget_old
from bot.probes.catalog import Catalog
from bot.runbook import ops
from bot.runbook import service as diagnostics
from bot.settings import Settings
from bot.slack.app import build_app
from bot.slack.replies import report_unexpected
from bot.store import Store, open_store

log = logging.getLogger(__name__)

RESUME_EVERY = 30.0  # how often the delivery lease holder looks for abandoned diagnostics and reports
ABANDONED = 60.0  # a run or report silent this long died with its process or a store blip


@dataclass
class Runtime:
    """A started bot: its ports, its Bolt app and the outbox deliverer."""

    settings: Settings
    deps: Deps
    app: AsyncApp
    client: AsyncWebClient
    store: Store
    outbox: Outbox

    async def close(self) -> None:
        await self.deps.cancel_background()
        await self.outbox.stop()
        for client in (self.deps.catalog.http, self.outbox.http):
            with contextlib.suppress(Exception):
                await client.aclose()
        if self.client.session is not None:
            await self.client.session.close()
        await self.store.close()


async def start_runtime(
    settings: Settings,
    *,
    store: Store | None = None,
    http: httpx.AsyncClient | None = None,
    clock: Callable[[], float] = time.time,
    outbox_options: dict[str, Any] | None = None,
    deliver: bool = True,
    signing_secret: str | None = None,
) -> Runtime:
    """Open the store (migrating it), build the clients and the app, start delivering."""
    token = settings.slack_bot_token.get_secret_value() if settings.slack_bot_token else None
    secret = signing_secret or (
        settings.slack_signing_secret.get_secret_value() if settings.slack_signing_secret else None
    )
    if not secret:
        from bot.settings import SettingsError

        raise SettingsError("SLACK_SIGNING_SECRET: is required to verify Slack's requests")
    store = store or open_store(settings.database_url.get_secret_value())
    await store.migrate()
    http = http or httpx.AsyncClient(timeout=httpx.Timeout(settings.probe_timeout_s))
    # One long-lived HTTP session: without it slack_sdk opens a new connection for every call.
    session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10))
    client = AsyncWebClient(
        token=token, timeout=10, base_url=settings.slack_api_url or AsyncWebClient.BASE_URL, session=session
    )
    outbox = Outbox(
        store,
        client,
        http=httpx.AsyncClient(timeout=10.0),  # Slack's response_urls; probes have their own client
        incident_channel=settings.incident_channel,
        clock=clock,
        on_error=report_unexpected,
        templates={CARD: card_template(settings.oncall_usergroup)},
        **(outbox_options or {}),
    )
    deps = Deps(
        settings=settings,
        store=store,
        outbox=outbox,
        catalog=Catalog(settings, http),
        clock=clock,
        redact=Redactor(settings.secrets()),
    )
    app = build_app(deps, client=client, signing_secret=secret)
    _add_chores(outbox, deps)
    if deliver:
        outbox.start()
        await diagnostics.resume(deps)
        await ops.resume(deps)
    return Runtime(settings=settings, deps=deps, app=app, client=client, store=store, outbox=outbox)


def _add_chores(outbox: Outbox, deps: Deps) -> None:
    """Work only the delivery lease holder does: a periodic check in the delivery loop until the
    durable scheduler lands (each becomes a scheduled job there)."""
    store, clock = deps.store, deps.clock
    outbox.add_chore(Chore("housekeeping", 3600.0, lambda: forget_old(store, clock)))
    outbox.add_chore(
        Chore("resume diagnostics", RESUME_EVERY, lambda: diagnostics.resume(deps, abandoned_after=ABANDONED))
    )
    outbox.add_chore(
        Chore("resume /ops reports", RESUME_EVERY, lambda: ops.resume(deps, abandoned_after=ABANDONED))
    )
