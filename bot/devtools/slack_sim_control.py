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


def control_routes(sim: SlackSim) -> list[web.RouteDef]:
    """Routes that let another process steer ``sim``."""

    async def chaos(request: web.Request) -> web.Response:
        if request.method == "DELETE":
            counts = sim.chaos.counts if sim.chaos else {}
            sim.unleash(None)
            return web.json_response({"ok": True, "counts": counts})
        body = await request.json()
        try:
            sim.unleash(_chaos(body))
        except (TypeError, ValueError) as exc:
            return web.json_response({"ok": False, "error": str(exc)}, status=400)
        return web.json_response({"ok": True})

    async def fail_after(request: web.Request) -> web.Response:
        body = await request.json()
        sim.fail_after(str(body["method"]), times=int(body.get("times", 1)), drop=bool(body.get("drop")))
        return web.json_response({"ok": True})

    async def channel(request: web.Request) -> web.Response:
        body = await request.json()
        sim.add_channel(str(body["id"]), str(body["name"]))
        return web.json_response({"ok": True})

    async def human(request: web.Request) -> web.Response:
        body = await request.json()
        msg = sim.post_human(
            str(body["channel"]), str(body["user"]), str(body["text"]), body.get("thread_ts")
        )
        return web.json_response({"ok": True, "message": msg})

    async def socket(request: web.Request) -> web.Response:
        body = await request.json()
        try:
            ack = await sim.socket_request(
                str(body["kind"]), dict(body["payload"]), within=float(body.get("within", 10))
            )
        except TimeoutError as exc:
            return web.json_response({"ok": False, "error": str(exc)}, status=504)
        return web.json_response({"ok": True, "ack": ack})

    async def socket_drop(request: web.Request) -> web.Response:
        body = await request.json()
        dropped = await sim.socket.drop(abort=bool(body.get("abort")))
        return web.json_response({"ok": True, "dropped": dropped})

    async def messages(request: web.Request) -> web.Response:
        """A channel's messages (replies too), optionally only those after ``since`` or top-level ones."""
        found = sim.messages.get(request.query.get("channel", ""), {}).values()
        since = float(request.query.get("since") or 0)
        top = request.query.get("top") == "1"
        shown = [
            m
            for m in found
            if float(m["ts"]) > since and not (top and m.get("thread_ts") not in (None, m["ts"]))
        ]
        return web.json_response({"ok": True, "messages": shown})

    async def calls(request: web.Request) -> web.Response:
        method = request.query.get("method")
        found = [_call(c) for c in sim.calls if method is None or c.method == method]
        return web.json_response({"ok": True, "calls": found})

    async def stats(request: web.Request) -> web.Response:
        """Counts for benchmarks: successful calls per method, thread replies (items carried)."""
        counts: dict[str, int] = {}
        for call in sim.calls:
            if call.status == 200:
                counts[call.method] = counts.get(call.method, 0) + 1
        replies = sum(
            _carried(c)
            for c in sim.calls
            if c.method == "chat.postMessage" and c.status == 200 and c.params.get("thread_ts")
        )
        last_at = sim.calls[-1].at if sim.calls else None
        return web.json_response({"calls": counts, "thread_replies": replies, "last_at": last_at})

    async def state(request: web.Request) -> web.Response:
        troubles: dict[str, int] = {}
        for c in sim.calls:
            if c.trouble:
                troubles[c.trouble] = troubles.get(c.trouble, 0) + 1
        hub = sim.socket
        return web.json_response(
            {
                "problems": sim.problems[:20],
                "problem_count": len(sim.problems),
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

    return [
        web.get("/_sim/stats", stats),
        web.get("/_sim/state", state),
        web.post("/_sim/chaos", chaos),
        web.delete("/_sim/chaos", chaos),
        web.post("/_sim/fail_after", fail_after),
        web.post("/_sim/channels", channel),
        web.post("/_sim/human", human),
        web.post("/_sim/socket", socket),
        web.post("/_sim/socket/drop", socket_drop),
        web.get("/_sim/messages", messages),
        web.get("/_sim/calls", calls),
    ]


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
