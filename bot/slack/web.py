"""HTTP mode: Slack's requests at /slack/events, and /healthz for the platform's checks."""

from __future__ import annotations

import json
from collections.abc import Sequence

from aiohttp import web
from slack_bolt.adapter.aiohttp import to_aiohttp_response, to_bolt_request
from slack_bolt.async_app import AsyncApp

from bot.errors import StoreUnavailable
from bot.slack.foreground import Foreground
from bot.store import Store, repo

EVENTS_PATH = "/slack/events"


def build_web_app(
    app: AsyncApp,
    store: Store,
    foreground: Foreground | None = None,
    routes: Sequence[web.RouteDef] = (),
) -> web.Application:
    busy = foreground or Foreground()

    async def slack_events(request: web.Request) -> web.Response:
        busy.enter()  # the outbox holds back while Slack waits for an ack
        try:
            bolt_request = await to_bolt_request(request)
            bolt_response = await app.async_dispatch(bolt_request)
            return await to_aiohttp_response(bolt_response)
        finally:
            busy.leave()

    async def healthz(request: web.Request) -> web.Response:
        try:
            state = await store.ping()
            async with store.transaction() as tx:
                counts = await repo.outbox_counts(tx)
        except (StoreUnavailable, OSError) as exc:
            body = {"ok": False, "store": f"unreachable: {exc.__class__.__name__}"}
            return web.Response(status=503, text=json.dumps(body), content_type="application/json")
        body = {
            "ok": True,
            "store": state,
            "outbox_pending": counts.get("pending", 0) + counts.get("sending", 0),
        }
        return web.Response(status=200, text=json.dumps(body), content_type="application/json")

    web_app = web.Application()
    web_app.router.add_post(EVENTS_PATH, slack_events)
    web_app.router.add_get("/healthz", healthz)
    web_app.router.add_routes(routes)  # /livez and /readyz (bot.server.health)
    return web_app
