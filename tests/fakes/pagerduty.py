"""A local PagerDuty Events API v2 (../shared/reference/pagerduty/README.md): validates each event as
PagerDuty does and answers 202, 400 (invalid event) or, on demand, 429 and 5xx."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

ROUTING_KEY = "R0" + "0123456789abcdef" + "0123456789abcd"  # 32 characters, like an integration key
SEVERITIES = {"critical", "error", "warning", "info"}


def problems(event: Any) -> list[str]:
    """Why PagerDuty would refuse ``event`` (empty: it is valid)."""
    if not isinstance(event, dict):
        return ["Event object is invalid"]
    errors = []
    if not isinstance(event.get("routing_key"), str) or len(event["routing_key"]) != 32:
        errors.append("'routing_key' is invalid")
    action = event.get("event_action")
    if action not in {"trigger", "acknowledge", "resolve"}:
        errors.append("'event_action' is invalid")
    dedup = event.get("dedup_key")
    if dedup is not None and (not isinstance(dedup, str) or len(dedup) > 255):
        errors.append("'dedup_key' is invalid")
    if action in {"acknowledge", "resolve"} and not dedup:
        errors.append("'dedup_key' is required for acknowledge and resolve")
    if action == "trigger":
        payload = event.get("payload")
        if not isinstance(payload, dict):
            errors.append("'payload' is missing")
        else:
            summary = payload.get("summary")
            if not isinstance(summary, str) or not summary or len(summary) > 1024:
                errors.append("'payload.summary' is invalid")
            if not payload.get("source"):
                errors.append("'payload.source' is missing")
            if payload.get("severity") not in SEVERITIES:
                errors.append("'payload.severity' is invalid")
        for link in event.get("links") or []:
            if not isinstance(link, dict) or not str(link.get("href", "")).startswith("http"):
                errors.append("'links' is invalid")
    return errors


@dataclass
class FakePagerDuty:
    """Every request received, the events accepted, and faults to answer with next."""

    received: list[dict[str, Any]] = field(default_factory=list)
    accepted: list[dict[str, Any]] = field(default_factory=list)
    faults: list[int] = field(default_factory=list)  # statuses to answer the next requests with
    url: str = ""
    _runner: web.AppRunner | None = None

    async def start(self) -> FakePagerDuty:
        app = web.Application()
        app.router.add_post("/v2/enqueue", self._enqueue)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.url = f"http://127.0.0.1:{self._runner.addresses[0][1]}/v2/enqueue"
        return self

    async def stop(self) -> None:
        if self._runner:
            await self._runner.cleanup()

    def actions(self) -> list[tuple[str, str]]:
        """(event_action, dedup_key) of each accepted event, in order."""
        return [(e["event_action"], e["dedup_key"]) for e in self.accepted]

    async def _enqueue(self, request: web.Request) -> web.Response:
        try:
            event = await request.json()
        except ValueError:
            event = None
        self.received.append(event if isinstance(event, dict) else {})
        if self.faults:
            status = self.faults.pop(0)
            return web.json_response({"status": "throttle" if status == 429 else "error"}, status=status)
        errors = problems(event)
        if errors:
            return web.json_response(
                {"status": "invalid event", "message": "Event object is invalid", "errors": errors},
                status=400,
            )
        self.accepted.append(event)
        return web.json_response(
            {"status": "success", "message": "Event processed", "dedup_key": event.get("dedup_key")},
            status=202,
        )
