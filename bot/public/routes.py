"""The status page's routes: GET /status and Statuspage-compatible JSON under /api/v2/. Thin: read,
render, answer. Public by design: nothing here is shown unless someone published it."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from aiohttp import web

from bot.deps import Deps
from bot.public import html, service, statuspage
from bot.public.model import PublicIncident

JSON_HEADERS = {"Access-Control-Allow-Origin": "*", "Cache-Control": "max-age=5"}


def routes(deps: Deps) -> list[web.RouteDef]:
    """Every public route, ready to mount beside /slack/events."""

    def json_view(build: Callable[[list[PublicIncident], float], dict[str, Any]]) -> Any:
        async def view(request: web.Request) -> web.Response:
            incidents = await service.page_incidents(deps)
            body = json.dumps(build(incidents, deps.clock()))
            return web.Response(text=body, content_type="application/json", headers=JSON_HEADERS)

        return view

    info = service.page_info(deps)
    specs = service.components(deps)

    def summary(incidents: list[PublicIncident], now: float) -> dict[str, Any]:
        return statuspage.summary(info, specs, incidents, now)

    def status(incidents: list[PublicIncident], now: float) -> dict[str, Any]:
        return {"page": statuspage.page(info, now), "status": statuspage.status(incidents)}

    def components(incidents: list[PublicIncident], now: float) -> dict[str, Any]:
        return {
            "page": statuspage.page(info, now),
            "components": statuspage.components(specs, incidents, info, now),
        }

    def all_incidents(incidents: list[PublicIncident], now: float) -> dict[str, Any]:
        return {
            "page": statuspage.page(info, now),
            "incidents": [statuspage.incident(i, specs, info) for i in incidents],
        }

    def unresolved(incidents: list[PublicIncident], now: float) -> dict[str, Any]:
        open_ = [statuspage.incident(i, specs, info) for i in incidents if i.unresolved]
        return {"page": statuspage.page(info, now), "incidents": open_}

    async def page(request: web.Request) -> web.Response:
        incidents = await service.page_incidents(deps)
        text = html.page(info, specs, incidents, now=deps.clock())
        return web.Response(text=text, content_type="text/html", headers={"Cache-Control": "no-cache"})

    return [
        web.get("/status", page),
        web.get("/api/v2/summary.json", json_view(summary)),
        web.get("/api/v2/status.json", json_view(status)),
        web.get("/api/v2/components.json", json_view(components)),
        web.get("/api/v2/incidents.json", json_view(all_incidents)),
        web.get("/api/v2/incidents/unresolved.json", json_view(unresolved)),
    ]
