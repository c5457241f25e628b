"""Events about the app itself (tokens revoked, uninstalled, rate limited) and every event nobody asked for.

Slack disables event delivery for an app that keeps answering errors, so every event it can send is
acked; the ones that change nothing are dropped here, quietly.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Awaitable, Callable
from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_bolt.response import BoltResponse

from bot.deps import Deps

log = logging.getLogger("opsbot.slack")


def register(app: AsyncApp, deps: Deps) -> None:
    """Register last: the catch-all takes only what no other listener did."""

    @app.middleware
    async def rate_limited(
        req: AsyncBoltRequest, resp: BoltResponse, next: Callable[[], Awaitable[BoltResponse]]
    ) -> BoltResponse:
        # Not an event_callback, so no event listener can match it; ack it before anything else.
        if req.body.get("type") == "app_rate_limited":
            log.warning(
                "Slack rate-limited this app's events for minute %s", req.body.get("minute_rate_limited")
            )
            return BoltResponse(status=200, body="")
        return await next()

    async def tokens_revoked(event: dict[str, Any]) -> None:
        revoked = event.get("tokens") or {}
        if revoked.get("bot"):
            deps.stop_delivery("tokens_revoked: the bot token was revoked")

    async def app_uninstalled() -> None:
        deps.stop_delivery("app_uninstalled: the app was uninstalled from the workspace")

    async def anything_else(body: dict[str, Any]) -> None:
        log.debug("ignored event %s", (body.get("event") or {}).get("type"))

    app.event("tokens_revoked")(tokens_revoked)
    app.event("app_uninstalled")(app_uninstalled)
    app.event(re.compile(".*"))(anything_else)
