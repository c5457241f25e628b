"""The one aiohttp Application: route groups from their owners, served on PORT in both modes.

``serve`` mounts Slack's route (/slack/events); ``socket`` gets Slack's requests over its WebSocket and
mounts everything else the same way: webhooks, health and metrics.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager

from aiohttp import web
from slack_bolt.async_app import AsyncApp

from bot.server.health import health_routes
from bot.server.metrics import Metrics, metrics_routes
from bot.slack.foreground import Foreground
from bot.slack.web import slack_routes
from bot.store import Store
from bot.webhooks import Webhooks

RouteGroup = Iterable[web.AbstractRouteDef]
MAX_BODY = 1024 * 1024  # Slack's and every alert sender's payloads are far smaller


def build_server(*groups: RouteGroup) -> web.Application:
    """An Application with every route of ``groups``."""
    app = web.Application(client_max_size=MAX_BODY)
    for group in groups:
        app.add_routes(group)
    return app


def opsbot_server(
    *,
    store: Store,
    metrics: Metrics,
    webhooks: Webhooks,
    bolt: AsyncApp | None,
    foreground: Foreground | None = None,
) -> web.Application:
    """opsbot's routes: Slack's (when ``bolt`` is given: HTTP mode), webhooks, health and metrics."""
    slack = slack_routes(bolt, foreground) if bolt is not None else []
    return build_server(slack, webhooks.routes(), health_routes(store), metrics_routes(metrics, store))


@asynccontextmanager
async def serving(app: web.Application, *, host: str, port: int) -> AsyncIterator[int]:
    """Listen on ``host``:``port`` until the block ends; yields the bound port (useful with port 0)."""
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    try:
        site = web.TCPSite(runner, host, port)
        await site.start()
        yield int(runner.addresses[0][1])
    finally:
        await runner.cleanup()
