"""The deliverer: claims due items in rounds, sends them to Slack, records what became of them."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import random
import socket
import time
import uuid
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

import httpx
from slack_sdk.errors import SlackApiError, SlackClientError
from slack_sdk.web.async_client import AsyncWebClient

from bot.errors import StoreUnavailable
from bot.outbox.owe import respond
from bot.outbox.rounds import FollowUp, Outcome, Prepared, due_batches, merge_replies
from bot.slack.foreground import Foreground
from bot.store import Store, Tx, repo

log = logging.getLogger("opsbot.outbox")

LEASE = "outbox"
# Renders a message from the store at delivery time: (transaction, payload) -> {"text": ..., "blocks": ...}.
Renderer = Callable[[Tx, dict[str, Any]], Awaitable[dict[str, Any]]]
METADATA_EVENT = "opsbot_outbox"
KEEP_FOR = 7 * 24 * 3600.0  # Slack redelivers within minutes; a week is plenty
HOUSEKEEPING_EVERY = 3600.0

# Errors that no retry will fix: the item is marked failed and reported.
PERMANENT = {
    "invalid_blocks",
    "invalid_blocks_format",
    "msg_too_long",
    "no_text",
    "too_many_attachments",
    "cant_update_message",
    "message_not_found",
    "edit_window_closed",
    "invalid_arguments",
    "thread_not_found",
    "is_archived",
    "channel_is_archived",
    "invalid_ts_latest",
    "expired_url",
    "used_url",
}
EPHEMERAL_ARGS = ("channel", "user", "text", "blocks", "thread_ts")
ARCHIVED = {"is_archived", "channel_is_archived"}
NOT_IN_CHANNEL = {"not_in_channel", "channel_not_found"}
# Why a look for an earlier attempt can never work (so the item is posted rather than stuck).
CANNOT_LOOK = {
    "missing_scope",
    "not_allowed_token_type",
    "not_in_channel",
    "channel_not_found",
    "thread_not_found",
}


class Retry(Exception):
    """Delivery may succeed later: after ``after`` seconds (Retry-After), or after a backoff."""

    def __init__(self, reason: str, *, after: float | None = None) -> None:
        super().__init__(reason)
        self.after = after


class Failed(Exception):
    """Delivery can never succeed; the item is marked failed."""


class Outbox:
    """Delivers the outbox. ``notify()`` after a commit wakes it at once."""

    def __init__(
        self,
        store: Store,
        client: AsyncWebClient,
        *,
        http: httpx.AsyncClient,
        incident_channel: str,
        clock: Callable[[], float] = time.time,
        poll_interval: float = 1.0,
        backoff_base: float = 1.0,
        backoff_max: float = 60.0,
        lease_ttl: float = 15.0,
        concurrency: int = 8,
        on_error: Callable[[BaseException], object] | None = None,
        renderers: Mapping[str, Renderer] | None = None,
        batch_window: float = 0.01,
        lane_batch: int = 50,
        round_size: int = 500,
        foreground: Foreground | None = None,
        keep_for: float = KEEP_FOR,
    ) -> None:
        self.keep_for = keep_for
        self.grace = 0.0  # how long stop() lets the round in progress finish (set for SIGTERM)
        self._stopping = False
        self.foreground = foreground or Foreground()
        self.batch_window = batch_window
        self.lane_batch = lane_batch
        self.round_size = round_size
        self.store = store
        self.renderers = dict(renderers or {})
        self.client = client
        self.http = http
        self.incident_channel = incident_channel
        self.clock = clock
        self.poll_interval = poll_interval
        self.backoff_base = backoff_base
        self.backoff_max = backoff_max
        self.lease_ttl = lease_ttl
        # host:pid:nonce, so a restarted process can tell its dead predecessor's lease from a live peer's.
        self.holder = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._paused_until = 0.0
        self._leader_until = 0.0
        self._housekept_at = 0.0
        self._channel_ids: dict[str, str] = {}
        self._sem = asyncio.Semaphore(concurrency)
        self._on_error = on_error
        self.delivered = 0

    # --- lifecycle ---------------------------------------------------------------------------

    def notify(self) -> None:
        self._wake.set()

    def start(self) -> None:
        if self._task is None:
            self._stopping = False
            self._task = asyncio.create_task(self._run(), name="opsbot-outbox")

    def running(self) -> bool:
        """The delivery task is alive (for readiness)."""
        return self._task is not None and not self._task.done()

    async def stop(self, *, grace: float | None = None) -> None:
        """Stop delivering. With ``grace``, the round in progress first finishes the message each lane is
        sending (and no more) for up to ``grace`` seconds; then the lease is released. What is left
        mid-send after that goes back to pending, marked in doubt, so nothing stays ``sending``."""
        grace = self.grace if grace is None else grace
        task, self._task = self._task, None
        if task is not None:
            self._stopping = True
            self._wake.set()
            if grace > 0:
                await asyncio.wait({task}, timeout=grace)
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        if self._leader_until:
            with contextlib.suppress(Exception):
                async with self.store.transaction() as tx:
                    # Only while still the holder: otherwise 'sending' rows are another instance's.
                    still = await repo.lease_holder(tx, LEASE) == self.holder
                    left = await repo.reset_in_doubt(tx) if still else 0
                    await repo.release_lease(tx, LEASE, self.holder)
                if left:
                    log.warning("outbox: stopped with %d item(s) mid-send; checked before resending", left)
            self._leader_until = 0.0

    async def _run(self) -> None:
        while not self._stopping:
            self._wake.clear()
            try:
                worked = await self.run_once()
            except StoreUnavailable as exc:
                log.warning("outbox: store unavailable (%s); retrying", exc)
                worked = 0
            except Exception as exc:  # keep delivering whatever one bad round did
                log.exception("outbox: delivery round failed")
                if self._on_error:
                    self._on_error(exc)
                worked = 0
            if worked or self._stopping:
                continue
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=self.poll_interval)
                # Woken by a commit: give a burst a moment to land, so it goes out as one round.
                await asyncio.sleep(self.batch_window)

    async def wait_idle(self, within: float = 10.0) -> bool:
        """Wait until nothing is pending (for the console and tests)."""
        deadline = time.monotonic() + within
        while time.monotonic() < deadline:
            async with self.store.transaction() as tx:
                counts = await repo.outbox_counts(tx)
            if not counts.get("pending") and not counts.get("sending"):
                return True
            self.notify()
            await asyncio.sleep(0.01)
        return False

    # --- one round ---------------------------------------------------------------------------

    async def _lead(self, now: float) -> bool:
        if self._leader_until - now > self.lease_ttl / 2:
            return True
        async with self.store.transaction() as tx:
            leader = await repo.take_lease(tx, LEASE, self.holder, now=now, ttl=self.lease_ttl)
            holder = None if leader else await repo.lease_holder(tx, LEASE)
            if holder is not None and _dead_here(holder):
                # The last holder was a process on this host that is gone (killed, crashed): no need
                # to wait for its lease to run out.
                await repo.release_lease(tx, LEASE, holder)
                leader = await repo.take_lease(tx, LEASE, self.holder, now=now, ttl=self.lease_ttl)
            if leader and not self._leader_until:
                # Taking over (after a start or another instance's crash): what was mid-send is in doubt.
                reset = await repo.reset_in_doubt(tx)
                if reset:
                    log.warning("outbox: %d item(s) were mid-send at a crash; delivering them again", reset)
        self._leader_until = now + self.lease_ttl if leader else 0.0
        if leader and now - self._housekept_at > HOUSEKEEPING_EVERY:
            await self._housekeep(now)
        return leader

    async def _housekeep(self, now: float) -> None:
        """Forget what no redelivery or restart can need any more: old delivery keys, sent items."""
        self._housekept_at = now
        async with self.store.transaction() as tx:
            keys = await repo.forget_deliveries(tx, before=now - self.keep_for)
            items = await repo.forget_sent(tx, before=now - self.keep_for)
        if keys or items:
            days = self.keep_for / 86400
            log.info("outbox: forgot %d delivery key(s), %d sent item(s) over %g days old", keys, items, days)

    async def run_once(self) -> int:
        """One round: claim a batch from every lane, send them (lanes side by side, each lane in order),
        record the outcomes. Two store transactions a round, however many messages it carries."""
        await self.foreground.quiet()
        now = self.clock()
        if now < self._paused_until or not await self._lead(now):
            return 0

        async def claim(tx: Tx) -> list[list[Prepared]]:
            batches = due_batches(await repo.undelivered(tx, limit=self.round_size), now, self.lane_batch)
            await repo.mark_sending(tx, [item.id for batch in batches for item in batch])
            return [[await self._prepare(tx, item) for item in batch] for batch in batches]

        prepared = await self.store.run(claim)
        if not prepared:
            return 0
        outcomes = await asyncio.gather(*(self._send_lane(batch) for batch in prepared))
        done = [outcome for lane in outcomes for outcome in lane]

        async def record(tx: Tx) -> None:
            for outcome in done:
                await outcome.record(tx, now=self.clock())

        await self.store.run(record)
        finished = self.clock()
        for outcome in done:
            outcome.report(self._on_error, now=finished)
        return sum(1 for o in done if o.state in ("sent", "failed"))

    async def _prepare(self, tx: Tx, item: repo.OutboxItem) -> Prepared:
        """Inside the claiming transaction: render what is rendered at delivery, look up message refs."""
        p = item.payload
        name = p.get("render")
        if name:
            renderer = self.renderers.get(str(name))
            if renderer is None:
                return Prepared(item, p, problem=f"no renderer {name!r}")
            try:
                p = {**p, **await renderer(tx, p)}
            except LookupError as exc:
                return Prepared(item, p, problem=f"nothing to render: {exc}")
        refs = {key: await repo.get_ref(tx, p[key]) for key in ("ref", "thread_ref") if p.get(key)}
        return Prepared(item, p, refs=refs)

    async def _send_lane(self, batch: list[Prepared]) -> list[Outcome]:
        """Send one lane's batch in order; the first retry stops the lane (its order must hold)."""
        outcomes: list[Outcome] = []
        posted: dict[str, tuple[str, str]] = {}  # refs posted earlier in this batch
        messages = merge_replies(batch)
        async with self._sem:
            for index, prepared in enumerate(messages):
                if self._stopping:  # shutting down: finish what is in flight, leave the rest pending
                    outcomes.extend(Outcome(m, "untouched") for p in messages[index:] for m in p.members)
                    break
                await self.foreground.quiet()
                outcome = await self._attempt(prepared, posted)
                outcomes.extend(outcome.fanned(prepared.members))
                if outcome.state == "pending":
                    outcomes.extend(Outcome(m, "untouched") for p in messages[index + 1 :] for m in p.members)
                    break
        return outcomes

    async def _attempt(self, prepared: Prepared, posted: dict[str, tuple[str, str]]) -> Outcome:
        item = prepared.item
        try:
            if prepared.problem:
                raise Failed(prepared.problem)
            follow_up = await self._send(prepared, posted)
        except Retry as exc:
            delay = exc.after if exc.after is not None else self._backoff(item.attempts)
            return Outcome(item, "pending", error=str(exc)[:500], retry_at=self.clock() + delay)
        except Failed as exc:
            return Outcome(item, "failed", error=str(exc)[:500], exc=exc)
        self.delivered += 1
        return Outcome(item, "sent", follow_up=follow_up)

    def _backoff(self, attempts: int) -> float:
        delay = min(self.backoff_max, self.backoff_base * 2.0 ** min(attempts, 16))
        return float(delay * (0.75 + random.random() / 2))

    # --- sending -----------------------------------------------------------------------------

    async def _send(self, prepared: Prepared, posted: dict[str, tuple[str, str]]) -> FollowUp | None:
        item, p = prepared.item, prepared.payload
        if item.kind == "respond":
            await self._respond(p)
            return None
        if item.kind == "ephemeral":
            await self._call("chat_postEphemeral", **{k: p.get(k) for k in EPHEMERAL_ARGS})
            return None
        if item.kind == "post":
            return await self._post(prepared, posted)
        if item.kind == "update":
            target = prepared.refs.get("ref") or posted.get(p["ref"])
            if target is None:
                raise Failed(f"{p['ref']} was never posted, so it cannot be edited")
            await self._call(
                "chat_update", channel=target[0], ts=target[1], text=p["text"], blocks=p.get("blocks")
            )
            return None
        if item.kind == "upload":
            await self._upload(prepared, posted)
            return None
        raise Failed(f"unknown outbox item kind {item.kind!r}")

    async def _upload(self, prepared: Prepared, posted: dict[str, tuple[str, str]]) -> None:
        """A file in a thread, the way slack_sdk's files_upload_v2 does it: get an upload URL, send
        the bytes, complete the upload into the channel and thread."""
        p = prepared.payload
        target = prepared.refs.get("thread_ref") or posted.get(p["thread_ref"])
        if target is None:
            raise Failed(f"{p['thread_ref']} was never posted, so there is no thread to upload to")
        await self._call(
            "files_upload_v2",
            channel=target[0],
            thread_ts=target[1],
            content=p["content"],
            filename=p["filename"],
            title=p["title"],
            initial_comment=p["text"],
        )

    async def _post(self, prepared: Prepared, posted: dict[str, tuple[str, str]]) -> FollowUp:
        item, p = prepared.item, prepared.payload
        thread_ts = None
        if p.get("thread_ref"):
            target = prepared.refs.get("thread_ref") or posted.get(p["thread_ref"])
            if target is None:
                raise Failed(f"{p['thread_ref']} was never posted, so there is no thread to reply in")
            channel, thread_ts = target
        else:
            channel = await self._channel(p["channel"])
        # Each post carries its outbox id, so a retry after a timeout or a crash can tell whether the
        # earlier attempt reached Slack and never posts the same message twice.
        metadata = {
            "event_type": METADATA_EVENT,
            "event_payload": {"outbox_ids": [m.id for m in prepared.members]},
        }
        kwargs: dict[str, Any] = {
            "channel": channel,
            "text": p["text"],
            "blocks": p.get("blocks"),
            "metadata": metadata,
        }
        if thread_ts:
            kwargs["thread_ts"] = thread_ts
            if p.get("broadcast"):
                kwargs["reply_broadcast"] = True
        earlier = await self._already_posted(item, channel, thread_ts) if item.in_doubt else None
        try:
            response = earlier or await self._call("chat_postMessage", **kwargs)
        except Retry as exc:
            if str(exc) in NOT_IN_CHANNEL and not thread_ts:
                await self._join_or_ask(item, channel, p)
            raise
        except Failed as exc:
            if str(exc) in ARCHIVED and p.get("notify_url"):
                from bot.incidents.render import channel_archived

                await self._tell(p["notify_url"], channel_archived(p["channel"]))  # the item fails once
            raise
        ts = str(response["ts"])
        posted_channel = str(response.get("channel") or channel)
        ref = p.get("ref")
        if ref:
            posted[ref] = (posted_channel, ts)
        permalink = None
        if p.get("notify_url"):
            with contextlib.suppress(Retry, Failed):
                link = await self._call("chat_getPermalink", channel=posted_channel, message_ts=ts)
                permalink = link.get("permalink")

        async def follow_up(tx: Tx) -> None:
            if ref:
                await repo.save_ref(tx, ref, posted_channel, ts)
            if p.get("incident") and ref == f"card:{p['incident']}":
                await repo.set_card(tx, int(p["incident"]), posted_channel, ts)
            if p.get("notify_url") and p.get("notify_text"):
                text = str(p["notify_text"]).replace("{permalink}", permalink or "")
                await respond(tx, url=p["notify_url"], at=self.clock(), text=text)

        return follow_up

    async def _already_posted(
        self, item: repo.OutboxItem, channel: str, thread_ts: str | None
    ) -> dict[str, Any] | None:
        """The message an earlier attempt of ``item`` posted, if Slack has it."""
        oldest = f"{max(0.0, item.created_at - 300):.6f}"
        try:
            if thread_ts:
                page = await self._call(
                    "conversations_replies",
                    channel=channel,
                    ts=thread_ts,
                    oldest=oldest,
                    include_all_metadata=True,
                    limit=200,
                )
            else:
                page = await self._call(
                    "conversations_history",
                    channel=channel,
                    oldest=oldest,
                    include_all_metadata=True,
                    limit=200,
                )
        except Retry as exc:
            if str(exc) not in CANNOT_LOOK:
                raise
            # A private channel without groups:history, say: posting again beats never posting.
            log.warning("outbox: cannot check whether item %d reached Slack (%s); posting it", item.id, exc)
            return None
        for message in page.get("messages") or []:
            meta = message.get("metadata") or {}
            if meta.get("event_type") == METADATA_EVENT and item.id in (meta.get("event_payload") or {}).get(
                "outbox_ids", []
            ):
                log.info("outbox: item %d had reached Slack before; not posting it again", item.id)
                return {"ts": message["ts"], "channel": channel}
        return None

    async def _join_or_ask(self, item: repo.OutboxItem, channel: str, p: dict[str, Any]) -> None:
        try:
            await self._call("conversations_join", channel=channel)
            log.info("outbox: joined %s", channel)
            return
        except (Retry, Failed) as exc:
            log.warning("outbox: cannot join %s: %s", channel, exc)
        if p.get("notify_url") and item.attempts == 0:
            from bot.incidents.render import invite_needed

            async with self.store.transaction() as tx:
                await respond(tx, url=p["notify_url"], at=self.clock(), text=invite_needed(p["channel"]))
            self.notify()

    async def _tell(self, url: str, text: str) -> None:
        """Owe the person behind ``url`` a private word about a message that cannot be delivered."""
        async with self.store.transaction() as tx:
            await respond(tx, url=url, at=self.clock(), text=text)
        self.notify()

    async def _channel(self, name: str) -> str:
        """A channel ID for ``name``: IDs pass through, ``#name`` is looked up once and remembered."""
        if not name.startswith("#"):
            return name
        if name in self._channel_ids:
            return self._channel_ids[name]
        key = f"channel_id:{name}"
        async with self.store.transaction() as tx:
            known = await repo.get_value(tx, key)
        if known is None:
            known = await self._find_channel(name[1:])
            async with self.store.transaction() as tx:
                await repo.set_value(tx, key, known)
        self._channel_ids[name] = known
        return known

    async def _find_channel(self, name: str) -> str:
        cursor = None
        for _ in range(100):
            page = await self._call(
                "conversations_list",
                types="public_channel,private_channel",
                exclude_archived=True,
                limit=1000,
                cursor=cursor,
            )
            for channel in page.get("channels", []):
                if channel.get("name") == name:
                    return str(channel["id"])
            cursor = (page.get("response_metadata") or {}).get("next_cursor")
            if not cursor:
                break
        raise Retry(f"channel #{name} not found (or not visible to the bot)", after=60.0)

    async def _call(self, method: str, **kwargs: Any) -> dict[str, Any]:
        kwargs = {k: v for k, v in kwargs.items() if v is not None}
        try:
            response = await getattr(self.client, method)(**kwargs)
            return dict(response.data) if isinstance(response.data, dict) else {}
        except SlackApiError as exc:
            status = exc.response.status_code
            data = exc.response.data
            error = str(data.get("error") or f"HTTP {status}") if isinstance(data, dict) else f"HTTP {status}"
            if status == 429:
                after = float(
                    exc.response.headers.get("retry-after", exc.response.headers.get("Retry-After", 1))
                )
                self._paused_until = self.clock() + after
                raise Retry(error or "ratelimited", after=after) from exc
            if status >= 500:
                raise Retry(error) from exc
            if error in PERMANENT:
                raise Failed(error) from exc
            raise Retry(error) from exc
        except (SlackClientError, TimeoutError, OSError, ValueError) as exc:
            raise Retry(f"{exc.__class__.__name__}: {exc}"[:200]) from exc

    async def _respond(self, p: dict[str, Any]) -> None:
        body = {
            "response_type": p.get("response_type", "ephemeral"),
            "replace_original": bool(p.get("replace_original", False)),  # an outcome replaces its preview
            "text": p["text"],
        }
        if p.get("blocks"):
            body["blocks"] = p["blocks"]
        try:
            response = await self.http.post(p["url"], json=body, timeout=10.0)
        except httpx.HTTPError as exc:
            raise Retry(f"{exc.__class__.__name__}") from exc
        if response.status_code == 429:
            raise Retry("ratelimited", after=float(response.headers.get("retry-after", 1)))
        if response.status_code >= 500:
            raise Retry(f"HTTP {response.status_code}")
        if response.status_code >= 400:
            raise Failed(f"response_url answered HTTP {response.status_code}")


def _dead_here(holder: str | None) -> bool:
    """True when ``holder`` names a process on this host that no longer runs."""
    if not holder or holder.count(":") < 2:
        return False
    host, pid, _ = holder.rsplit(":", 2)
    if host != socket.gethostname() or not pid.isdigit() or int(pid) == os.getpid():
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False
