"""The soak's load: signed Slack requests whose effects are tracked, over HTTP (to the serve pair,
as a load balancer would spread them) and over Socket Mode (through the stand-in).

Every request acts as its own user (``UH0000042``), so whatever the bot says because of it can be
found again: thread lines carry ``<@user>``, private follow-ups go to ``/response/<user>``, error
notices are ephemerals to that user. What an ack promised is written down as a ``Promise``.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import random
import re
import time
from collections.abc import Coroutine
from dataclasses import dataclass, field
from typing import Any, Literal
from urllib.parse import parse_qsl

import aiohttp

from benchmarks.soak_procs import SECRET, Bot
from bot.devtools import payloads
from bot.devtools.slack_sim import BOT_USER

Kind = Literal["card", "reply", "followup", "timeline"]
SLACK_ACK_WINDOW = 3.0  # Slack gives up on an HTTP request after 3 s
EVENT_RETRY_AFTER = (1.0, 2.0, 4.0)  # Slack's retries, compressed from 0 s / 1 min / 5 min
CARD = re.compile(r"^incident_card:(\d+)$")
NEXT = {"investigating": "identified", "identified": "monitoring", "monitoring": "resolved"}
STATUS_SAID = re.compile(r"is already (\w+)|cannot go from (\w+)|is (resolved); reopen")
MIX = {"note": 30, "message": 25, "mention": 15, "status": 12, "ops": 5, "declare": 2}


@dataclass(frozen=True)
class Promise:
    """Something an ack promised: a card, a thread line, a private follow-up, a timeline row."""

    side: str
    kind: Kind
    key: str  # card: incident number; reply/followup: the user; timeline: the message ts
    via: str  # the request that promised it (declare, note, status, mention, message, ops)
    user: str  # who sent that request


@dataclass
class Tracked:
    number: int
    card_ts: str | None = None
    status: str | None = "investigating"  # None: unknown (a request's outcome was not seen)
    busy: bool = False


@dataclass
class Side:
    """HTTP or Socket Mode: its channel, its incidents and its counts."""

    name: str
    channel: str
    prefix: str
    notes: list[Tracked] = field(default_factory=list)
    statuses: list[Tracked] = field(default_factory=list)
    awaiting: dict[int, Tracked] = field(default_factory=dict)
    counts: dict[str, int] = field(default_factory=dict)

    def count(self, what: str) -> None:
        self.counts[what] = self.counts.get(what, 0) + 1


class Load:
    """Sends the mix; records what was promised."""

    def __init__(
        self, *, sim_url: str, serve: list[Bot], sides: list[Side], seed: int, card_grace: float = 0.0
    ) -> None:
        self.sim_url = sim_url
        self.card_grace = card_grace
        self.serve = serve
        self.sides = sides
        self.rng = random.Random(seed)
        self.promises: list[Promise] = []
        self.users = itertools.count(1)
        self._rr = itertools.count()
        self.session = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=400))
        self.tasks: set[asyncio.Task[None]] = set()
        self.requests = 0

    async def close(self) -> None:
        await self.session.close()

    def user(self, side: Side) -> str:
        return f"U{side.prefix}{next(self.users):07d}"

    def promise(self, side: Side, kind: Kind, key: str, via: str, user: str) -> None:
        self.promises.append(Promise(side.name, kind, key, via, user))

    # --- transport ---------------------------------------------------------------------------

    async def _http(self, body: str, content_type: str, *, retry: int = 0) -> tuple[int, str] | None:
        """POST to one serve process (the next live one); None when Slack would have given up."""
        self.requests += 1
        live = [b for b in self.serve if b.up] or self.serve
        start = next(self._rr)
        for i in range(len(live)):
            bot = live[(start + i) % len(live)]
            headers = payloads.signed_headers(SECRET, body, content_type=content_type)
            if retry:
                headers |= {"X-Slack-Retry-Num": str(retry), "X-Slack-Retry-Reason": "http_timeout"}
            try:
                async with self.session.post(
                    f"{bot.base}/slack/events",
                    data=body.encode(),
                    headers=headers,
                    timeout=aiohttp.ClientTimeout(total=SLACK_ACK_WINDOW),
                ) as response:
                    return response.status, await response.text()
            except aiohttp.ClientConnectorError:
                continue  # refused: the balancer tries the other instance
            except (TimeoutError, aiohttp.ClientError):
                return None
        return None

    async def _socket(self, kind: str, payload: dict[str, object]) -> dict[str, object] | None:
        self.requests += 1
        try:
            async with self.session.post(
                f"{self.sim_url}/_sim/socket",
                json={"kind": kind, "payload": payload, "within": 15},
                timeout=aiohttp.ClientTimeout(total=30),
            ) as response:
                data = await response.json()
        except (TimeoutError, aiohttp.ClientError):
            return None
        ack = data.get("ack") if data.get("ok") else None
        return dict(ack) if isinstance(ack, dict) else None

    async def command(self, side: Side, command: str, text: str, user: str) -> str | None:
        """A slash command; returns the ack's private text (None: no ack in time)."""
        body = payloads.slash_command(
            command, text, user=user, channel=side.channel, response_url=f"{self.sim_url}/response/{user}"
        )
        if side.name == "http":
            answer = await self._http(body, "application/x-www-form-urlencoded")
            if answer is None or answer[0] != 200:
                side.count("command not acked")
                return None
            return _ack_text(answer[1])
        ack = await self._socket("slash_commands", dict(parse_qsl(body)))
        if ack is None:
            side.count("command not acked")
            return None
        reply = ack.get("payload") or {}
        return str(reply.get("text", "")) if isinstance(reply, dict) else ""

    async def event(self, side: Side, event: dict[str, object]) -> bool:
        """An Events API delivery, retried as Slack retries it; True once any attempt was acked."""
        body = payloads.event_callback(dict(event))
        if side.name == "socket":
            acked = await self._socket("events_api", json.loads(body)) is not None
        else:
            acked = False
            for retry in range(len(EVENT_RETRY_AFTER) + 1):
                answer = await self._http(body, "application/json", retry=retry)
                if answer is not None and answer[0] == 200:
                    acked = True
                    break
                if retry < len(EVENT_RETRY_AFTER):
                    side.count("event retried")
                    await asyncio.sleep(EVENT_RETRY_AFTER[retry])
        if not acked:
            side.count("event not acked")
        return acked

    async def human(self, side: Side, user: str, text: str, thread_ts: str) -> str:
        """A person's message in a thread, as Slack stores it; returns its ts."""
        async with self.session.post(
            f"{self.sim_url}/_sim/human",
            json={"channel": side.channel, "user": user, "text": text, "thread_ts": thread_ts},
        ) as response:
            return str((await response.json())["message"]["ts"])

    # --- the mix -------------------------------------------------------------------------------

    async def declare(self, side: Side, *, pool: Literal["notes", "statuses"] = "notes") -> None:
        user = self.user(side)
        reply = await self.command(side, "/incident", f"open P3 soak load {user}", user)
        found = re.search(r"Declared \*INC-(\d+)\*", reply or "")
        if not found:
            return
        number = int(found.group(1))
        self.promise(side, "card", str(number), "declare", user)
        self.promise(side, "followup", user, "declare", user)
        side.awaiting[number] = Tracked(number)
        if pool == "statuses":
            side.statuses.append(side.awaiting[number])

    async def note(self, side: Side, inc: Tracked) -> None:
        user = self.user(side)
        reply = await self.command(side, "/incident", f"note INC-{inc.number} soak note", user)
        if reply is not None and reply.startswith("Done"):
            self.promise(side, "reply", user, "note", user)

    async def status(self, side: Side, inc: Tracked) -> None:
        inc.busy = True
        try:
            user = self.user(side)
            target = NEXT.get(inc.status or "", "identified") if inc.status != "resolved" else "investigating"
            if target == "investigating":
                text = f"reopen INC-{inc.number}"
            elif target == "resolved":
                text = f"resolve INC-{inc.number} soak"
            else:
                text = f"update INC-{inc.number} {target} soak"
            reply = await self.command(side, "/incident", text, user)
            if reply is None:
                inc.status = None
            elif reply.startswith("Done"):
                inc.status = target
                self.promise(side, "reply", user, "status", user)
            else:
                said = STATUS_SAID.search(reply)
                inc.status = next((g.lower() for g in said.groups() if g), None) if said else None
        finally:
            inc.busy = False

    async def message(self, side: Side, inc: Tracked, *, mention: bool) -> None:
        assert inc.card_ts is not None
        user = self.user(side)
        text = f"<@{BOT_USER}> note soak mention" if mention else "soak thread message"
        ts = await self.human(side, user, text, inc.card_ts)
        kw = {"channel": side.channel, "user": user, "text": text, "ts": ts, "thread_ts": inc.card_ts}
        sent = [self.event(side, payloads.message_event(**kw))]
        if mention:
            sent.append(self.event(side, payloads.app_mention_event(**kw)))
        acked = await asyncio.gather(*sent)
        # A mention is recorded once, as its effect (issue 12), not as a message: its reply is the promise.
        if acked[0] and not mention:
            self.promise(side, "timeline", ts, "message", user)
        if mention and acked[1]:
            self.promise(side, "reply", user, "mention", user)

    async def ops(self, side: Side) -> None:
        user = self.user(side)
        reply = await self.command(side, "/ops", "status", user)
        if reply is not None and "results follow" in reply:
            self.promise(side, "followup", user, "ops", user)

    async def one(self, side: Side, kind: str) -> None:
        """One job from the mix, on incidents whose cards people can see."""
        side.count(kind)
        idle = [i for i in side.statuses if not i.busy and i.card_ts]
        if kind == "status" and idle:
            await self.status(side, self.rng.choice(idle))
        elif kind == "ops":
            await self.ops(side)
        elif kind == "declare" or not side.notes:
            await self.declare(side)
        elif kind in ("message", "mention"):
            await self.message(side, self.rng.choice(side.notes), mention=kind == "mention")
        else:
            await self.note(side, self.rng.choice(side.notes))

    # --- running -------------------------------------------------------------------------------

    def spawn(self, work: Coroutine[Any, Any, None]) -> None:
        task = asyncio.ensure_future(work)
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    async def watch_cards(self) -> None:
        """Cards as people see them: an incident joins the pools once its card is in Slack."""
        since = {s.name: 0.0 for s in self.sides}
        while True:
            for side in self.sides:
                async with self.session.get(
                    f"{self.sim_url}/_sim/messages",
                    params={"channel": side.channel, "since": f"{since[side.name]:.6f}", "top": "1"},
                ) as response:
                    found = (await response.json())["messages"]
                for msg in found:
                    since[side.name] = max(since[side.name], float(msg["ts"]))
                    number = card_number(msg)
                    inc = side.awaiting.pop(number, None) if number is not None else None
                    if inc is not None:
                        asyncio.get_running_loop().call_later(
                            self.card_grace, _usable, side, inc, str(msg["ts"])
                        )
            await asyncio.sleep(0.25)

    async def run(self, *, seconds: float, rate: float, max_requests: int, socket_share: float) -> float:
        """Open loop at ``rate`` requests a second (a mention is two: message and app_mention; Slack's
        retries come on top) for ``seconds`` or ``max_requests``; returns the time taken."""
        started = time.monotonic()
        due = started
        by_name = {s.name: s for s in self.sides}
        kinds = list(MIX)
        while time.monotonic() - started < seconds and self.requests < max_requests:
            side = by_name.get("socket") if self.rng.random() < socket_share else None
            kind = self.rng.choices(kinds, weights=[MIX[k] for k in kinds])[0]
            self.spawn(self.one(side or by_name["http"], kind))
            due += (2 if kind == "mention" else 1) / rate
            await asyncio.sleep(max(0.0, due - time.monotonic()))
        return time.monotonic() - started

    async def finish(self, within: float = 120) -> int:
        """Wait for requests still in flight (event retries included); returns how many were left."""
        if self.tasks:
            await asyncio.wait(set(self.tasks), timeout=within)
        return len(self.tasks)


def _ack_text(body: str) -> str:
    """The private text of a slash command's ack: Bolt answers JSON, or plain text for a bare string."""
    try:
        data = json.loads(body or "{}")
    except ValueError:
        return body
    return str(data.get("text", "")) if isinstance(data, dict) else body


def _usable(side: Side, inc: Tracked, card_ts: str) -> None:
    """People start using an incident's card (its thread, its status) once they see it."""
    inc.card_ts = card_ts
    if inc not in side.statuses:
        side.notes = [*side.notes, inc][-8:]


def card_number(msg: dict[str, Any]) -> int | None:
    """The incident a message is the card of (its actions block id), if any."""
    for block in msg.get("blocks") or []:
        found = CARD.match(str(block.get("block_id", "")))
        if found:
            return int(found.group(1))
    return None
