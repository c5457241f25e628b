"""A local stand-in for the Slack Web API: keeps channels and messages, records every call.

The console runs the real Bolt app against it, so anyone can try opsbot without a Slack account;
the tests run against it too, with a checker that holds every call against Slack's OpenAPI spec, and
with faults (429, 5xx, slow answers) injected on demand.
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl

from aiohttp import WSMsgType, web

from bot.devtools.slack_limits import refusal

BOT_USER = "U0OPSBOT"
BOT_ID = "B0OPSBOT"
TEAM = "T0OPSBOT"


@dataclass
class Call:
    """One request the bot made: a Web API method, or a POST to a response_url."""

    method: str
    params: dict[str, Any]
    token: str | None
    at: float = field(default_factory=time.time)
    status: int = 200
    response: dict[str, Any] = field(default_factory=dict)

    @property
    def blocks(self) -> list[dict[str, Any]]:
        raw = self.params.get("blocks")
        if isinstance(raw, str):
            parsed: list[dict[str, Any]] = json.loads(raw)
            return parsed
        return list(raw or [])


@dataclass
class Fault:
    method: str
    status: int
    times: int
    retry_after: int = 1
    delay: float = 0.0
    error: str | None = None


@dataclass
class Channel:
    id: str
    name: str
    is_private: bool = False
    is_member: bool = True
    can_join: bool = True
    is_archived: bool = False


class SlackSim:
    """An aiohttp server answering like slack.com/api, plus response_url endpoints."""

    def __init__(self, *, validator: Callable[[str, str, dict[str, Any]], list[str]] | None = None) -> None:
        self.calls: list[Call] = []
        self.problems: list[str] = []
        self.messages: dict[str, dict[str, dict[str, Any]]] = {}
        self.channels: dict[str, Channel] = {}
        self.faults: list[Fault] = []
        self.validator = validator
        self._last_ts = 0.0
        self._runner: web.AppRunner | None = None
        self.url = ""
        self.add_channel("C0INCIDENT", "engineering-incidents")
        self.add_channel("C0GENERAL", "general")
        self.changed = asyncio.Event()
        self._ws: web.WebSocketResponse | None = None
        self._acks: dict[str, asyncio.Future[dict[str, Any]]] = {}
        self.socket_connected = asyncio.Event()
        self.guests: set[str] = set()
        self.usergroups: dict[str, list[str]] = {}

    # --- set-up ----------------------------------------------------------------------------

    def add_channel(self, channel_id: str, name: str, **kwargs: Any) -> Channel:
        channel = Channel(channel_id, name, **kwargs)
        self.channels[channel_id] = channel
        self.messages.setdefault(channel_id, {})
        return channel

    def fail(
        self,
        method: str,
        *,
        status: int = 500,
        times: int = 1,
        retry_after: int = 1,
        delay: float = 0.0,
        error: str | None = None,
    ) -> None:
        """Make the next ``times`` calls of ``method`` fail (or answer after ``delay`` seconds)."""
        self.faults.append(Fault(method, status, times, retry_after, delay, error))

    @property
    def api_url(self) -> str:
        return f"{self.url}/api/"

    def response_url(self, name: str = "r") -> str:
        return f"{self.url}/response/{name}"

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> SlackSim:
        app = web.Application()
        app.router.add_route("*", "/api/{method}", self._api)
        app.router.add_post("/response/{name}", self._response)
        app.router.add_get("/_sim/stats", self._stats)
        app.router.add_get("/link/", self._socket)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, host, port)
        await site.start()
        self.url = f"http://{host}:{self._runner.addresses[0][1]}"
        return self

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    # --- queries for tests and the console --------------------------------------------------

    def of(self, method: str) -> list[Call]:
        return [c for c in self.calls if c.method == method and c.status == 200]

    def post_human(self, channel: str, user: str, text: str, thread_ts: str | None = None) -> dict[str, Any]:
        """A person's message, as Slack would store it (the caller sends the matching event)."""
        ts = self._next_ts()
        msg = {"type": "message", "user": user, "text": text, "ts": ts, "channel": channel}
        if thread_ts:
            msg["thread_ts"] = thread_ts
        self.messages.setdefault(channel, {})[ts] = msg
        return msg

    def thread(self, channel: str, thread_ts: str) -> list[dict[str, Any]]:
        msgs = self.messages.get(channel, {}).values()
        return sorted((m for m in msgs if m.get("thread_ts") == thread_ts), key=lambda m: float(m["ts"]))

    # --- handlers ----------------------------------------------------------------------------

    def _next_ts(self) -> str:
        # Real time to the microsecond, strictly increasing, as Slack's message ts are.
        self._last_ts = max(time.time(), self._last_ts + 0.000001)
        return f"{self._last_ts:.6f}"

    async def _params(self, request: web.Request) -> dict[str, Any]:
        params: dict[str, Any] = dict(request.query)
        raw = await request.read()
        if request.content_type == "application/json":
            data = json.loads(raw or b"{}")
            params.update(data if isinstance(data, dict) else {})
        elif raw:
            params.update(parse_qsl(raw.decode(), keep_blank_values=True))
        return params

    async def _fault(self, method: str) -> web.Response | None:
        for fault in self.faults:
            if fault.method == method and fault.times > 0:
                fault.times -= 1
                if fault.delay:
                    await asyncio.sleep(fault.delay)
                if fault.status == 200 and not fault.error:
                    return None
                if fault.status == 429:
                    return web.json_response(
                        {"ok": False, "error": "ratelimited"},
                        status=429,
                        headers={"Retry-After": str(fault.retry_after)},
                    )
                if fault.error:
                    return web.json_response({"ok": False, "error": fault.error}, status=fault.status)
                return web.Response(status=fault.status, text="upstream trouble")
        return None

    async def _api(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        params = await self._params(request)
        auth = request.headers.get("Authorization", "")
        token = auth.removeprefix("Bearer ") if auth.startswith("Bearer ") else params.get("token")
        call = Call(method, params, token)
        self.calls.append(call)
        if self.validator is not None:
            self.problems.extend(
                self.validator(method, request.method, {**params, **({"token": token} if token else {})})
            )
        faulty = await self._fault(method)
        if faulty is not None:
            call.status = faulty.status
            return faulty
        handler = getattr(self, "_m_" + method.replace(".", "_"), None)
        if handler is None:
            return web.json_response({"ok": False, "error": "unknown_method"})
        if not token:
            return web.json_response({"ok": False, "error": "not_authed"})
        result: dict[str, Any] = handler(params)
        call.response = result
        self.changed.set()
        return web.json_response(result)

    async def _response(self, request: web.Request) -> web.Response:
        params = await self._params(request)
        faulty = await self._fault("response_url")
        call = Call("response_url", {**params, "name": request.match_info["name"]}, None)
        self.calls.append(call)
        if faulty is not None:
            call.status = faulty.status
            return faulty
        if refused := refusal(params):
            call.status = 400
            return web.Response(status=400, text=refused)
        self.changed.set()
        return web.Response(text="ok")

    # --- Socket Mode -----------------------------------------------------------------------------

    async def _socket(self, request: web.Request) -> web.WebSocketResponse:
        """Slack's Socket Mode endpoint: says hello, sends envelopes, takes acks."""
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        self._ws = ws
        await ws.send_json(
            {
                "type": "hello",
                "num_connections": 1,
                "debug_info": {"host": "opsbot-sim", "approximate_connection_time": 3600},
                "connection_info": {"app_id": "A0OPSBOT"},
            }
        )
        self.socket_connected.set()
        async for message in ws:
            if message.type != WSMsgType.TEXT:
                continue
            data = json.loads(message.data)
            waiter = self._acks.pop(str(data.get("envelope_id")), None)
            if waiter is not None and not waiter.done():
                waiter.set_result(data)
        self.socket_connected.clear()
        return ws

    async def socket_request(
        self, kind: str, payload: dict[str, Any], *, within: float = 10
    ) -> dict[str, Any]:
        """Send one Socket Mode envelope (slash_commands, events_api, interactive); returns the ack."""
        if self._ws is None:
            raise RuntimeError("no Socket Mode connection")
        envelope_id = uuid.uuid4().hex
        waiter: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self._acks[envelope_id] = waiter
        await self._ws.send_json(
            {
                "envelope_id": envelope_id,
                "payload": payload,
                "type": kind,
                "accepts_response_payload": kind != "events_api",
                "retry_attempt": 0,
                "retry_reason": "",
            }
        )
        return await asyncio.wait_for(waiter, timeout=within)

    async def _stats(self, request: web.Request) -> web.Response:
        """Counts for benchmarks that run the stand-in in another process."""
        counts: dict[str, int] = {}
        for call in self.calls:
            if call.status == 200:
                counts[call.method] = counts.get(call.method, 0) + 1
        replies = sum(
            _carried(c)
            for c in self.calls
            if c.method == "chat.postMessage" and c.status == 200 and c.params.get("thread_ts")
        )
        return web.json_response(
            {"calls": counts, "thread_replies": replies, "last_at": self.calls[-1].at if self.calls else None}
        )

    # --- Web API methods ---------------------------------------------------------------------

    def _m_auth_test(self, p: dict[str, Any]) -> dict[str, Any]:
        return {
            "ok": True,
            "url": "https://opsbot-sim.slack.com/",
            "team": "Sim",
            "user": "opsbot",
            "team_id": TEAM,
            "user_id": BOT_USER,
            "bot_id": BOT_ID,
        }

    def _channel(self, p: dict[str, Any]) -> Channel | None:
        channel = str(p.get("channel", ""))
        if channel.startswith("#"):
            return next((c for c in self.channels.values() if c.name == channel[1:]), None)
        return self.channels.get(channel)

    def _m_chat_postMessage(self, p: dict[str, Any]) -> dict[str, Any]:
        channel = self._channel(p)
        if channel is None or (channel.is_private and not channel.is_member):
            return {"ok": False, "error": "channel_not_found"}
        if channel.is_archived:
            return {"ok": False, "error": "is_archived"}
        if not channel.is_member:
            return {"ok": False, "error": "not_in_channel"}
        if not p.get("text") and not p.get("blocks"):
            return {"ok": False, "error": "no_text"}
        if refused := refusal(p):
            return {"ok": False, "error": refused}
        thread_ts = p.get("thread_ts")
        if thread_ts and thread_ts not in self.messages[channel.id]:
            return {"ok": False, "error": "thread_not_found"}
        ts = self._next_ts()
        msg = {
            "type": "message",
            "user": BOT_USER,
            "bot_id": BOT_ID,
            "text": p.get("text", ""),
            "ts": ts,
            "blocks": Call("", p, None).blocks,
        }
        if thread_ts:
            msg["thread_ts"] = thread_ts
        metadata = p.get("metadata")
        if metadata:
            msg["metadata"] = json.loads(metadata) if isinstance(metadata, str) else metadata
        self.messages[channel.id][ts] = msg
        return {"ok": True, "channel": channel.id, "ts": ts, "message": msg}

    def _m_chat_update(self, p: dict[str, Any]) -> dict[str, Any]:
        channel = self._channel(p)
        msg = self.messages.get(channel.id if channel else "", {}).get(str(p.get("ts")))
        if channel is None or msg is None:
            return {"ok": False, "error": "message_not_found"}
        if refused := refusal(p):
            return {"ok": False, "error": refused}
        msg["text"] = p.get("text", "")
        msg["blocks"] = Call("", p, None).blocks
        msg["edited"] = {"user": BOT_USER, "ts": self._next_ts()}
        return {"ok": True, "channel": channel.id, "ts": msg["ts"], "text": msg["text"]}

    def _m_chat_postEphemeral(self, p: dict[str, Any]) -> dict[str, Any]:
        channel = self._channel(p)
        if channel is None:
            return {"ok": False, "error": "channel_not_found"}
        if refused := refusal(p):
            return {"ok": False, "error": refused}
        return {"ok": True, "message_ts": self._next_ts()}

    def _m_chat_getPermalink(self, p: dict[str, Any]) -> dict[str, Any]:
        channel = str(p.get("channel"))
        ts = str(p.get("message_ts", ""))
        return {
            "ok": True,
            "channel": channel,
            "permalink": f"https://opsbot-sim.slack.com/archives/{channel}/p{ts.replace('.', '')}",
        }

    def _m_conversations_list(self, p: dict[str, Any]) -> dict[str, Any]:
        channels = [
            {
                "id": c.id,
                "name": c.name,
                "is_channel": not c.is_private,
                "is_private": c.is_private,
                "is_member": c.is_member,
            }
            for c in self.channels.values()
            if not c.is_private or c.is_member
        ]
        return {"ok": True, "channels": channels, "response_metadata": {"next_cursor": ""}}

    def _m_conversations_join(self, p: dict[str, Any]) -> dict[str, Any]:
        channel = self._channel(p)
        if channel is None or channel.is_private:
            return {
                "ok": False,
                "error": "channel_not_found" if channel is None else "method_not_supported_for_channel_type",
            }
        if not channel.can_join:
            return {"ok": False, "error": "is_archived"}
        channel.is_member = True
        return {"ok": True, "channel": {"id": channel.id, "name": channel.name}}

    def _m_users_info(self, p: dict[str, Any]) -> dict[str, Any]:
        # Anyone not marked as a guest is a full member: the tests' people need no set-up.
        user = str(p.get("user", ""))
        if not user or user[0] not in "UW":
            return {"ok": False, "error": "user_not_found"}
        guest = user in self.guests
        return {
            "ok": True,
            "user": {
                "id": user,
                "team_id": TEAM,
                "name": user.lower(),
                "deleted": False,
                "is_bot": False,
                "is_admin": False,
                "is_owner": False,
                "is_restricted": guest,
                "is_ultra_restricted": False,
                "profile": {"real_name": user.lower(), "display_name": user.lower()},
            },
        }

    def _m_usergroups_users_list(self, p: dict[str, Any]) -> dict[str, Any]:
        group = str(p.get("usergroup", ""))
        if group not in self.usergroups:
            return {"ok": False, "error": "no_such_subteam"}
        return {"ok": True, "users": list(self.usergroups[group])}

    def _m_apps_connections_open(self, p: dict[str, Any]) -> dict[str, Any]:
        return {"ok": True, "url": self.url.replace("http://", "ws://") + "/link/?ticket=sim"}

    def _m_conversations_info(self, p: dict[str, Any]) -> dict[str, Any]:
        channel = self._channel(p)
        if channel is None:
            return {"ok": False, "error": "channel_not_found"}
        return {
            "ok": True,
            "channel": {"id": channel.id, "name": channel.name, "is_member": channel.is_member},
        }

    def _history(
        self, channel_id: str, p: dict[str, Any], keep: Callable[[dict[str, Any]], bool]
    ) -> dict[str, Any]:
        oldest = float(p.get("oldest") or 0)
        with_meta = str(p.get("include_all_metadata", "")).lower() in ("1", "true")
        found = [
            m for m in self.messages.get(channel_id, {}).values() if float(m["ts"]) >= oldest and keep(m)
        ]
        found.sort(key=lambda m: float(m["ts"]))
        shown = [m if with_meta else {k: v for k, v in m.items() if k != "metadata"} for m in found]
        return {"ok": True, "messages": shown[: int(p.get("limit") or 100)], "has_more": False}

    def _m_conversations_history(self, p: dict[str, Any]) -> dict[str, Any]:
        channel = self._channel(p)
        if channel is None:
            return {"ok": False, "error": "channel_not_found"}
        return self._history(channel.id, p, lambda m: not m.get("thread_ts") or m["thread_ts"] == m["ts"])

    def _m_conversations_replies(self, p: dict[str, Any]) -> dict[str, Any]:
        channel = self._channel(p)
        thread = str(p.get("ts", ""))
        if channel is None or thread not in self.messages.get(channel.id, {}):
            return {"ok": False, "error": "thread_not_found"}
        return self._history(channel.id, p, lambda m: m["ts"] == thread or m.get("thread_ts") == thread)


def _carried(call: Call) -> int:
    """How many of opsbot's outbox items one posted message carried (a backlog may share a message)."""
    meta = call.params.get("metadata")
    if isinstance(meta, str):
        meta = json.loads(meta)
    ids = ((meta or {}).get("event_payload") or {}).get("outbox_ids")
    return len(ids) if isinstance(ids, list) and ids else 1
