"""The one aiohttp Application: route groups from their owners, served on PORT in both modes.

``serve`` mounts Slack's route (/slack/events); ``socket`` gets Slack's requests over its WebSocket and
mounts everything else the same way: webhooks, health and metrics.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager
from dataclasses import dataclass

from aiohttp import web
from slack_bolt.async_app import AsyncApp

from bot.server.health import Health, health_routes
from bot.server.metrics import Metrics, metrics_routes
from bot.slack.foreground import Foreground
from bot.slack.web import BODY_TIMEOUT, slack_routes
from bot.store import Store
from bot.webhooks import Webhooks

RouteGroup = Iterable[web.AbstractRouteDef]
REQUEST_GRACE_S = 5.0
MAX_BODY = 1024 * 1024  # Slack's and every alert sender's payloads are far smaller


def build_server(*groups: RouteGroup) -> web.Application:
    """An Application with every route of ``groups``."""
    app = web.Application(client_max_size=MAX_BODY)
    for group in groups:
        app.add_routes(group)
    return app


@dataclass(frozen=True)
class SlackOverHttp:
    """What Slack's route group needs in HTTP mode."""

    bolt: AsyncApp
    signing_secret: str
    foreground: Foreground | None = None
    body_timeout: float = BODY_TIMEOUT


def opsbot_server(
    *,
    store: Store,
    metrics: Metrics,
    webhooks: Webhooks,
    slack: SlackOverHttp | None,
    health: Health | None = None,
    public: RouteGroup = (),
) -> web.Application:
    """opsbot's routes: Slack's (HTTP mode only), webhooks, health, metrics and the public status page."""
    slack_group = (
        slack_routes(
            slack.bolt, slack.foreground, signing_secret=slack.signing_secret, body_timeout=slack.body_timeout
        )
        if slack is not None
        else []
    )
    return build_server(
        slack_group,
        webhooks.routes(),
        health_routes(store, health),
        metrics_routes(metrics, store),
        public,
    )


@asynccontextmanager
async def serving(
    app: web.Application, *, host: str, port: int, reuse_port: bool = False
) -> AsyncIterator[int]:
    """Listen on ``host``:``port`` until the block ends; yields the bound port (useful with port 0).
    ``reuse_port`` (SO_REUSEPORT) lets other processes listen on the same port: the kernel spreads
    new connections over them."""
    # shutdown_timeout bounds how long requests in flight (or bodies still arriving) hold a stop: Slack
    # gives up on an ack after 3 s, and a platform's grace period is often 30 s.
    runner = web.AppRunner(app, access_log=None, shutdown_timeout=REQUEST_GRACE_S)
    await runner.setup()
    try:
        site = web.TCPSite(runner, host, port, reuse_port=reuse_port or None)
        await site.start()
        yield int(runner.addresses[0][1])
    finally:
        await runner.cleanup()
