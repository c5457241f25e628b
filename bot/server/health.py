"""GET /healthz for the platform's checks (the ops branch grows this into /livez, /readyz, /healthz)."""

from __future__ import annotations

import json

from aiohttp import web

from bot.errors import StoreUnavailable
from bot.logs import Redactor
from bot.store import Store, queue


def health_routes(store: Store) -> list[web.RouteDef]:
    """GET /healthz: 200 with the store's state and the outbox backlog, or 503 naming why the store
    cannot be written."""

    async def healthz(request: web.Request) -> web.Response:
        try:
            state = await store.ping()
            await store.writable()
            async with store.transaction() as tx:
                undelivered = await queue.undelivered_count(tx)
        except (StoreUnavailable, OSError) as exc:
            why = getattr(exc, "cause", None) or Redactor()(str(exc)) or exc.__class__.__name__
            body = {"ok": False, "store": f"cannot write: {why}"}
            return web.Response(status=503, text=json.dumps(body), content_type="application/json")
        body = {
            "ok": True,
            "store": state,
            "outbox_pending": undelivered,
        }
        return web.Response(status=200, text=json.dumps(body), content_type="application/json")

    return [web.get("/healthz", healthz)]
