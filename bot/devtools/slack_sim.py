"""A local stand-in for the Slack Web API: keeps channels and messages, records every call.

The console runs the real Bolt app against it, so anyone can try opsbot without a Slack account;
the tests run against it too, with a checker that holds every call against Slack's OpenAPI spec, and
with faults (429, 5xx, slow answers, posts that land but answer 500) injected on demand: for the
next N calls (``fail``, ``fail_after``) or for a share of all calls (``chaos``; slack_sim_faults).
Socket Mode envelopes not acked in time are redelivered (slack_sim_socket); history pages like
Slack's (slack_sim_history). Another process drives it through /_sim/ (slack_sim_control).
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl

from aiohttp import web

from bot.devtools import slack_sim_history as history
from bot.devtools.slack_limits import refusal
from bot.devtools.slack_sim_control import control_routes
from bot.devtools.slack_sim_faults import AfterFault, Chaos, Verdict, after_verdict
from bot.devtools.slack_sim_private import PrivateView
from bot.devtools.slack_sim_socket import SocketHub

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
    trouble: str | None = None  # a fault that hit a processed call: after_error, after_drop, slow

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
class SimFile:
    """A file in Slack's external upload flow: announced, then its bytes sent, then completed."""

    id: str
    filename: str
    length: int
    content: bytes | None = None
    title: str = ""
    channel: str | None = None
    thread_ts: str | None = None

    @property
    def text(self) -> str:
        return (self.content or b"").decode()


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

    def __init__(
        self,
        *,
        validator: Callable[[str, str, dict[str, Any]], list[str]] | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.clock = clock  # message ts; tests that move the bot's clock move Slack's with it
        self.calls: list[Call] = []
        self.problems: list[str] = []
        self.messages: dict[str, dict[str, dict[str, Any]]] = {}
        self.channels: dict[str, Channel] = {}
        self.faults: list[Fault] = []
        self.validator = validator
        self._last_ts = 0.0
        self.uploads: dict[str, SimFile] = {}  # files.getUploadURLExternal -> upload -> complete
        self._runner: web.AppRunner | None = None
        self.url = ""
        self.add_channel("C0INCIDENT", "engineering-incidents")
        self.add_channel("C0GENERAL", "general")
        self.add_channel("C0ONCALL", "engineering-oncall")
        self.changed = asyncio.Event()
        self.socket = SocketHub()
        self.after_faults: list[AfterFault] = []
        self.chaos: Chaos | None = None
        self.guests: set[str] = set()
        self.usergroups: dict[str, list[str]] = {}
        self.private: dict[str, PrivateView] = {}  # response_url name -> what its person sees

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

    def fail_after(self, method: str, *, times: int = 1, drop: bool = False, delay: float = 0.0) -> None:
        """Process the next ``times`` calls of ``method`` (the message IS posted), then answer 500
        (or, with ``drop``, hang up without an answer), after ``delay`` seconds."""
        self.after_faults.append(AfterFault(method, times, "after_drop" if drop else "after_error", delay))

    def unleash(self, chaos: Chaos | None) -> None:
        """Let ``chaos`` hit a share of all calls from now on (``None`` calms things down)."""
        self.chaos = chaos

    @property
    def socket_connected(self) -> asyncio.Event:
        return self.socket.connected

    @property
    def api_url(self) -> str:
        return f"{self.url}/api/"

    def response_url(self, name: str = "r") -> str:
        return f"{self.url}/response/{name}"

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> SlackSim:
        app = web.Application()
        app.router.add_route("*", "/api/{method}", self._api)
        app.router.add_post("/response/{name}", self._response)
        app.router.add_post("/upload/{file_id}", self._upload)
        app.router.add_get("/link/", self.socket.serve)
        app.router.add_routes(control_routes(self))
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
        self._last_ts = max(self.clock(), self._last_ts + 0.000001)
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

    async def _api(self, request: web.Request) -> web.StreamResponse:
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
        verdict = await self._trouble_before(call)
        if verdict is not None and call.status != 200:
            return _refusal(verdict)
        handler = getattr(self, "_m_" + method.replace(".", "_"), None)
        if handler is None:
            return web.json_response({"ok": False, "error": "unknown_method"})
        if not token:
            return web.json_response({"ok": False, "error": "not_authed"})
        try:
            result: dict[str, Any] = handler(params)
        except history.BadCursor:
            result = {"ok": False, "error": "invalid_cursor"}
        call.response = result
        self.changed.set()
        return self._trouble_after(request, verdict) or web.json_response(result)

    async def _trouble_before(self, call: Call) -> Verdict | None:
        """Chaos or an after-processing fault for this call; sleeps when it is slow, and sets the
        call's status when it is refused before processing."""
        verdict = after_verdict(self.after_faults, call.method) or (
            self.chaos.verdict(call.method) if self.chaos is not None else None
        )
        if verdict is None:
            return None
        call.trouble = verdict.trouble
        if verdict.delay:
            await asyncio.sleep(verdict.delay)
        if verdict.trouble == "ratelimited":
            call.status = 429
        elif verdict.trouble == "error":
            call.status = 500
        return verdict

    @staticmethod
    def _trouble_after(request: web.Request, verdict: Verdict | None) -> web.StreamResponse | None:
        """After processing: the answer is lost (500, or the connection cut)."""
        if verdict is None or verdict.trouble not in ("after_error", "after_drop"):
            return None
        if verdict.trouble == "after_drop" and request.transport is not None:
            request.transport.abort()
        return web.Response(status=500, text="upstream trouble after processing")

    async def _response(self, request: web.Request) -> web.StreamResponse:
        params = await self._params(request)
        faulty = await self._fault("response_url")
        call = Call("response_url", {**params, "name": request.match_info["name"]}, None)
        self.calls.append(call)
        if faulty is not None:
            call.status = faulty.status
            return faulty
        verdict = await self._trouble_before(call)
        if verdict is not None and call.status != 200:
            return _refusal(verdict)
        if refused := refusal(params):
            call.status = 400
            return web.Response(status=400, text=refused)
        self.private.setdefault(request.match_info["name"], PrivateView()).receive(params)
        self.changed.set()
        return self._trouble_after(request, verdict) or web.Response(text="ok")

    # --- Socket Mode -----------------------------------------------------------------------------

    async def socket_request(
        self, kind: str, payload: dict[str, Any], *, within: float = 10
    ) -> dict[str, Any]:
        """Send one Socket Mode envelope (slash_commands, events_api, interactive); returns the ack.
        Events API envelopes not acked in time are sent again, as Slack does."""
        return await self.socket.request(kind, payload, within=within)

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

    # --- files: Slack's external upload (files.getUploadURLExternal, POST, completeUploadExternal) --

    def _m_files_getUploadURLExternal(self, p: dict[str, Any]) -> dict[str, Any]:
        length = str(p.get("length", ""))
        if not p.get("filename") or not length.isdigit() or int(length) <= 0:
            return {"ok": False, "error": "invalid_arguments"}
        file_id = f"F{len(self.uploads) + 1:08d}"
        self.uploads[file_id] = SimFile(file_id, str(p["filename"]), int(length))
        return {"ok": True, "upload_url": f"{self.url}/upload/{file_id}", "file_id": file_id}

    async def _upload(self, request: web.Request) -> web.Response:
        found = self.uploads.get(request.match_info["file_id"])
        data = await request.read()
        self.calls.append(
            Call("upload", {"file_id": request.match_info["file_id"], "bytes": len(data)}, None)
        )
        if found is None or found.content is not None:
            return web.Response(status=404, text="unknown or used upload url")
        if len(data) != found.length:  # Slack refuses a body that is not the announced length
            self.problems.append(f"upload {found.id}: {len(data)} bytes sent, {found.length} announced")
            return web.Response(status=400, text="length mismatch")
        found.content = data
        return web.Response(text=f"OK - {len(data)}")

    def _m_files_completeUploadExternal(self, p: dict[str, Any]) -> dict[str, Any]:
        raw = p.get("files")
        try:
            entries = json.loads(raw) if isinstance(raw, str) else list(raw or [])
        except ValueError:
            return {"ok": False, "error": "invalid_arguments"}
        found = [self.uploads.get(str(e.get("id"))) for e in entries if isinstance(e, dict)]
        if not found or any(f is None or f.content is None for f in found):
            return {"ok": False, "error": "file_not_found"}
        channel = self._channel({"channel": p.get("channel_id", "")}) if p.get("channel_id") else None
        thread_ts = p.get("thread_ts")
        if p.get("channel_id") and (channel is None or not channel.is_member):
            return {"ok": False, "error": "channel_not_found"}
        if thread_ts and (channel is None or thread_ts not in self.messages[channel.id]):
            return {"ok": False, "error": "invalid_thread_ts" if channel else "invalid_arguments"}
        files = []
        for entry, sim_file in zip(entries, found, strict=True):
            assert sim_file is not None
            sim_file.title, sim_file.channel, sim_file.thread_ts = (
                str(entry.get("title") or ""),
                p.get("channel_id"),
                thread_ts,
            )
            files.append({"id": sim_file.id, "name": sim_file.filename, "title": sim_file.title})
        if channel is not None:
            ts = self._next_ts()
            msg = {
                "type": "message",
                "user": BOT_USER,
                "bot_id": BOT_ID,
                "text": p.get("initial_comment", ""),
                "ts": ts,
                "files": files,
            }
            if thread_ts:
                msg["thread_ts"] = thread_ts
            self.messages[channel.id][ts] = msg
        return {"ok": True, "files": files}

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
        if channel is None or (channel.is_private and not channel.is_member):
            return {"ok": False, "error": "channel_not_found"}  # Slack hides private channels from outsiders
        return {
            "ok": True,
            "channel": {
                "id": channel.id,
                "name": channel.name,
                "is_channel": not channel.is_private,
                "is_group": False,
                "is_private": channel.is_private,
                "is_archived": channel.is_archived,
                "is_member": channel.is_member,
            },
        }

    def _history(
        self,
        channel_id: str,
        p: dict[str, Any],
        keep: Callable[[dict[str, Any]], bool],
        *,
        newest_first: bool,
    ) -> dict[str, Any]:
        found = (m for m in self.messages.get(channel_id, {}).values() if keep(m))
        return history.page(found, p, newest_first=newest_first)

    def _m_conversations_history(self, p: dict[str, Any]) -> dict[str, Any]:
        channel = self._channel(p)
        if channel is None:
            return {"ok": False, "error": "channel_not_found"}
        return self._history(
            channel.id, p, lambda m: not m.get("thread_ts") or m["thread_ts"] == m["ts"], newest_first=True
        )

    def _m_conversations_replies(self, p: dict[str, Any]) -> dict[str, Any]:
        channel = self._channel(p)
        thread = str(p.get("ts", ""))
        if channel is None or thread not in self.messages.get(channel.id, {}):
            return {"ok": False, "error": "thread_not_found"}
        return self._history(
            channel.id, p, lambda m: m["ts"] == thread or m.get("thread_ts") == thread, newest_first=False
        )


def _refusal(verdict: Verdict) -> web.Response:
    """The answer to a call refused before processing: 429 with Retry-After, or a bare 500."""
    if verdict.trouble == "ratelimited":
        return web.json_response(
            {"ok": False, "error": "ratelimited"},
            status=429,
            headers={"Retry-After": str(verdict.retry_after)},
        )
    return web.Response(status=500, text="upstream trouble")
