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
from slack_sdk.http_retry.builtin_async_handlers import async_default_handlers
from slack_sdk.web.async_client import AsyncWebClient

from bot.actions.directory import SlackDirectory
from bot.deps import Deps
from bot.incidents.card import CARD, card_renderer
from bot.logs import Redactor
from bot.outbox import Outbox
from bot.probes.catalog import Catalog
from bot.runbook import service as diagnostics
from bot.server.health import Health, SlackAuth
from bot.server.lifecycle import record_stop
from bot.settings import Settings
from bot.slack.app import build_app
from bot.slack.replies import report_unexpected
from bot.store import Store, open_store

log = logging.getLogger("opsbot.runtime")


@dataclass
class Runtime:
    """A started bot: its ports, its Bolt app and the outbox deliverer."""

    settings: Settings
    deps: Deps
    app: AsyncApp
    client: AsyncWebClient
    store: Store
    outbox: Outbox
    health: Health

    async def close(self, *, grace: float = 0.0, clean: bool = False) -> None:
        """Shut down; with ``grace``, the delivery round in progress may finish first (SIGTERM).
        ``clean`` records the stop in the store, so the next start can say it was one."""
        await self.deps.cancel_background()
        await self.outbox.stop(grace=grace)
        if clean:
            with contextlib.suppress(Exception):
                await record_stop(self.store, now=self.deps.clock())
        for client in (self.deps.catalog.http, self.outbox.http):
            with contextlib.suppress(Exception):
                await client.aclose()
        if self.client.session is not None:
            await self.client.session.close()
        await self.store.close()


def slack_client(settings: Settings, auth: SlackAuth) -> AsyncWebClient:
    """The Web API client every Slack call goes through; ``auth`` watches its answers for refusals."""
    token = settings.slack_bot_token.get_secret_value() if settings.slack_bot_token else None
    # One long-lived HTTP session: without it slack_sdk opens a new connection for every call.
    session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10))
    return AsyncWebClient(
        token=token,
        timeout=10,
        base_url=settings.slack_api_url or AsyncWebClient.BASE_URL,
        session=session,
        retry_handlers=[auth.watcher(), *async_default_handlers()],
    )


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
    secret = signing_secret or (
        settings.slack_signing_secret.get_secret_value() if settings.slack_signing_secret else None
    )
    if not secret:
        from bot.settings import SettingsError

        raise SettingsError("SLACK_SIGNING_SECRET: is required to verify Slack's requests")
    store = store or open_store(settings.database_url.get_secret_value())
    await store.migrate()
    http = http or httpx.AsyncClient(timeout=httpx.Timeout(settings.probe_timeout_s))
    auth = SlackAuth()
    client = slack_client(settings, auth)
    outbox = Outbox(
        store,
        client,
        http=httpx.AsyncClient(timeout=10.0),  # Slack's response_urls; probes have their own client
        incident_channel=settings.incident_channel,
        clock=clock,
        on_error=report_unexpected,
        renderers={CARD: card_renderer(settings.oncall_usergroup)},
        keep_for=settings.retention_days * 86400,
        **(outbox_options or {}),
    )
    deps = Deps(
        settings=settings,
        store=store,
        outbox=outbox,
        catalog=Catalog(settings, http),
        directory=SlackDirectory(client, ttl=settings.access_cache_s),
        clock=clock,
        redact=Redactor(settings.secrets()),
    )
    app = build_app(deps, client=client, signing_secret=secret)
    health = Health(
        store=store,
        client=client,
        auth=auth,
        delivery_running=outbox.running,
        delivery_stopped_for=lambda: deps.delivery_stopped,
        max_pending_age_s=settings.ready_max_pending_age_s,
        clock=clock,
    )
    if deliver:
        outbox.start()
        await diagnostics.resume(deps)
    return Runtime(
        settings=settings, deps=deps, app=app, client=client, store=store, outbox=outbox, health=health
    )
