"""The stand-in's control surface under /_sim/, for a benchmark that runs it in another process:
faults on and off, channels, people's messages, Socket Mode requests and hang-ups, and what was said.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from aiohttp import web

from bot.devtools.slack_sim_faults import Chaos

if TYPE_CHECKING:
    from bot.devtools.slack_sim import Call, SlackSim

# Call parameters worth returning to a reconciler (blocks and metadata stay in the stand-in).
CALL_FIELDS = ("name", "text", "user", "channel", "thread_ts", "ts")


class Control:
    """Handlers that let another process steer the stand-in."""

    def __init__(self, sim: SlackSim) -> None:
        self.sim = sim

    async def chaos(self, request: web.Request) -> web.Response:
        """POST: unleash chaos (a share of calls goes wrong); DELETE: calm, returning what it hit."""
        if request.method == "DELETE":
            counts = self.sim.chaos.counts if self.sim.chaos else {}
            self.sim.unleash(None)
            return web.json_response({"ok": True, "counts": counts})
        body = await request.json()
        try:
            self.sim.unleash(_chaos(body))
        except (TypeError, ValueError) as exc:
            return web.json_response({"ok": False, "error": str(exc)}, status=400)
        return web.json_response({"ok": True})

    async def fail_after(self, request: web.Request) -> web.Response:
        """The next calls of a method are processed, then answered 500 or hung up on."""
        body = await request.json()
        self.sim.fail_after(str(body["method"]), times=int(body.get("times", 1)), drop=bool(body.get("drop")))
        return web.json_response({"ok": True})

    async def channel(self, request: web.Request) -> web.Response:
        """Add a channel."""
        body = await request.json()
        self.sim.add_channel(str(body["id"]), str(body["name"]))
        return web.json_response({"ok": True})

    async def human(self, request: web.Request) -> web.Response:
        """A person's message, stored as Slack would; returns it (with its ts)."""
        body = await request.json()
        msg = self.sim.post_human(
            str(body["channel"]), str(body["user"]), str(body["text"]), body.get("thread_ts")
        )
        return web.json_response({"ok": True, "message": msg})

    async def socket(self, request: web.Request) -> web.Response:
        """Send one Socket Mode request; 504 when no ack came within ``within``."""
        body = await request.json()
        try:
            ack = await self.sim.socket_request(
                str(body["kind"]), dict(body["payload"]), within=float(body.get("within", 10))
            )
        except TimeoutError as exc:
            return web.json_response({"ok": False, "error": str(exc)}, status=504)
        return web.json_response({"ok": True, "ack": ack})

    async def socket_drop(self, request: web.Request) -> web.Response:
        """Hang up every Socket Mode connection (``abort``: without a close frame)."""
        body = await request.json()
        dropped = await self.sim.socket.drop(abort=bool(body.get("abort")))
        return web.json_response({"ok": True, "dropped": dropped})

    async def messages(self, request: web.Request) -> web.Response:
        """A channel's messages (replies too), optionally only those after ``since`` or top-level ones."""
        found = self.sim.messages.get(request.query.get("channel", ""), {}).values()
        since = float(request.query.get("since") or 0)
        top = request.query.get("top") == "1"
        shown = [
            m
            for m in found
            if float(m["ts"]) > since and not (top and m.get("thread_ts") not in (None, m["ts"]))
        ]
        return web.json_response({"ok": True, "messages": shown})

    async def calls(self, request: web.Request) -> web.Response:
        """The calls of one method (or all), with the parameters a reconciler needs."""
        method = request.query.get("method")
        found = [_call(c) for c in self.sim.calls if method is None or c.method == method]
        return web.json_response({"ok": True, "calls": found})

    async def private(self, request: web.Request) -> web.Response:
        """Per response_url name, the private follow-ups its person sees (a replaced ack counts once)."""
        views = {name: view.visible for name, view in self.sim.private.items()}
        return web.json_response({"ok": True, "private": views})

    async def stats(self, request: web.Request) -> web.Response:
        """Counts for benchmarks: successful calls per method, thread replies (items carried)."""
        counts: dict[str, int] = {}
        for call in self.sim.calls:
            if call.status == 200:
                counts[call.method] = counts.get(call.method, 0) + 1
        replies = sum(
            _carried(c)
            for c in self.sim.calls
            if c.method == "chat.postMessage" and c.status == 200 and c.params.get("thread_ts")
        )
        last_at = self.sim.calls[-1].at if self.sim.calls else None
        return web.json_response({"calls": counts, "thread_replies": replies, "last_at": last_at})

    async def state(self, request: web.Request) -> web.Response:
        """Spec problems, trouble counts and Socket Mode counters."""
        troubles: dict[str, int] = {}
        for c in self.sim.calls:
            if c.trouble:
                troubles[c.trouble] = troubles.get(c.trouble, 0) + 1
        hub = self.sim.socket
        return web.json_response(
            {
                "problems": self.sim.problems[:20],
                "problem_count": len(self.sim.problems),
                "troubles": troubles,
                "socket": {
                    "connections": len(hub.connections),
                    "connects": hub.connects,
                    "envelopes": len(hub.envelopes),
                    "redelivered": sum(1 for e in hub.envelopes if e["retry_attempt"]),
                    "late_acks": hub.late_acks,
                },
            }
        )

    def routes(self) -> list[web.RouteDef]:
        """The /_sim/ routes."""
        return [
            web.get("/_sim/stats", self.stats),
            web.get("/_sim/state", self.state),
            web.post("/_sim/chaos", self.chaos),
            web.delete("/_sim/chaos", self.chaos),
            web.post("/_sim/fail_after", self.fail_after),
            web.post("/_sim/channels", self.channel),
            web.post("/_sim/human", self.human),
            web.post("/_sim/socket", self.socket),
            web.post("/_sim/socket/drop", self.socket_drop),
            web.get("/_sim/messages", self.messages),
            web.get("/_sim/calls", self.calls),
            web.get("/_sim/private", self.private),
        ]


def control_routes(sim: SlackSim) -> list[web.RouteDef]:
    """Routes that let another process steer ``sim``."""
    return Control(sim).routes()


def _chaos(body: dict[str, Any]) -> Chaos:
    options: dict[str, Any] = {"fraction": float(body.get("fraction", 0.1))}
    if "troubles" in body:
        options["troubles"] = {str(k): float(v) for k, v in dict(body["troubles"]).items()}
    if "slow" in body:
        low, high = body["slow"]
        options["slow"] = (float(low), float(high))
    if "methods" in body:
        options["methods"] = frozenset(str(m) for m in body["methods"])
    for name in ("retry_after", "seed"):
        if name in body:
            options[name] = int(body[name])
    return Chaos(**options)


def _call(call: Call) -> dict[str, Any]:
    params = {k: str(call.params[k])[:500] for k in CALL_FIELDS if k in call.params}
    return {"method": call.method, "status": call.status, "trouble": call.trouble, "at": call.at, **params}


def _carried(call: Call) -> int:
    """How many of opsbot's outbox items one posted message carried (a backlog may share a message)."""
    meta = call.params.get("metadata")
    if isinstance(meta, str):
        meta = json.loads(meta)
    ids = ((meta or {}).get("event_payload") or {}).get("outbox_ids")
    return len(ids) if isinstance(ids, list) and ids else 1
