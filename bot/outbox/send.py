"""Delivering one message: a fenced read (render it now, find what it refers to), the call, and a fenced
write of its outcome in its own transaction as soon as Slack answers."""

from __future__ import annotations

import base64
import dataclasses
import logging
import random
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass

from bot.errors import StoreUnavailable
from bot.jobs.lease import Lease, LeaseLost
from bot.outbox.errors import ARCHIVED, NOT_IN_CHANNEL, Failed, Retry, Stop
from bot.outbox.messages import (
    Blocks,
    Ephemeral,
    Live,
    Message,
    Page,
    Post,
    Rendered,
    Respond,
    Template,
    Update,
    Upload,
    owe,
)
from bot.outbox.respond import ResponseSender
from bot.outbox.rounds import Outcome, Prepared
from bot.outbox.slack import Posted, SlackSender
from bot.slack import ids
from bot.store import Store, Tx, doubling, queue, repo, run_through_blips

log = logging.getLogger("opsbot.outbox")

RECORD_ATTEMPTS = 7  # 0.1 + 0.2 + ... + 3.2 s between them: ~6 s, then up to ~4 s a try


@dataclass(frozen=True)
class Ready:
    """A message as it will be sent: its text now, and where it goes (resolved refs)."""

    text: str
    blocks: Blocks | None
    version: int | None = None
    target: tuple[str, str] | None = None  # (channel, ts) of the edited message or the thread parent


def invite_needed(channel: str) -> str:
    return (
        f"I can't post in {channel} yet: I'm not a member and can't join it by myself (it is private or"
        " archived). Invite me there with `/invite @opsbot`; what I owe it is kept and goes out as soon"
        " as I'm in."
    )


def could_not_post(error: str) -> str:
    return f":warning: I could not post that message in Slack ({error}). It is recorded all the same."


# Sends a page (message, where its incident's card is if posted, when it was owed); raises Retry or Failed.
Pager = Callable[[Page, tuple[str, str] | None, float], Awaitable[None]]
# May this message go where it now points (the (channel, ts) its ref resolved to)? Asked at send time, in
# the round's transaction: a confidential incident's thread must not be written in a public channel.
Guard = Callable[[Tx, Message, tuple[str, str] | None], Awaitable[bool]]


class Withheld(Failed):
    """The guard kept this message back (a confidential incident's thread outside its private channel)."""


class Delivery:
    """Sends prepared messages for a deliverer holding ``lease``."""

    def __init__(
        self,
        store: Store,
        lease: Lease,
        slack: SlackSender,
        responder: ResponseSender,
        *,
        templates: Mapping[str, Template],
        pager: Pager | None = None,
        guard: Guard | None = None,
        clock: Callable[[], float] = time.time,
        backoff_base: float = 1.0,
        backoff_max: float = 60.0,
        settle_after_timeout: float = 3.0,
    ) -> None:
        self.store = store
        self.lease = lease
        self.slack = slack
        self.responder = responder
        self.templates = dict(templates)
        self.pager = pager
        self.clock = clock
        self.backoff_base = backoff_base
        self.backoff_max = backoff_max
        self.settle_after_timeout = settle_after_timeout
        self.guard = guard  # may this item go where it is going (bot.incidents.confidential)

    async def deliver(self, p: Prepared) -> Outcome:
        """Send one message and record its outcome. Raises LeaseLost, Stop or StoreUnavailable, which
        end the lane (the item stays claimed; the deliverer settles it)."""
        item = p.item
        ready: Ready | None = None
        posted: Posted | None = None
        term = self.lease.term  # the term this item was claimed in
        try:
            if p.problem or p.message is None:
                raise Failed(p.problem or "nothing to send")
            if not self.lease.held:
                raise LeaseLost("lease not confirmed lately")
            message = p.message
            ready = await self.store.run(lambda tx: self._before_send(tx, message))
            if not self.lease.held:  # the fenced read may have waited long: a new holder may own it now
                raise LeaseLost("lease not confirmed lately")
            posted = await self._send(p, ready)
            if isinstance(message, Post) and message.notify and "{permalink}" in message.notify.text:
                assert posted is not None
                posted = dataclasses.replace(posted, permalink=await self.slack.permalink(posted))
        except (LeaseLost, Stop, StoreUnavailable):
            raise
        except Retry as exc:
            delay = exc.after if exc.after is not None else self._backoff(item.attempts)
            if exc.uncertain:
                delay = max(delay, self.settle_after_timeout)  # let a late-processed post show up first
            outcome = Outcome(item, "pending", error=str(exc)[:500], retry_at=self.clock() + delay)
        except Withheld as exc:  # on purpose: kept for inspection, not a delivery fault
            outcome = Outcome(item, "withheld", error=str(exc)[:500])
        except Failed as exc:
            outcome = Outcome(item, "failed", error=str(exc)[:500], exc=exc)
        except Exception as exc:  # a render or payload bug fails this item alone, never the round
            outcome = Outcome(item, "failed", error=f"{exc.__class__.__name__}: {exc}"[:500], exc=exc)
        else:
            outcome = Outcome(item, "sent")
        await self.record(p, outcome, ready, posted, term=term)
        return outcome

    def _backoff(self, attempts: int) -> float:
        delay = min(self.backoff_max, self.backoff_base * 2.0 ** min(attempts, 16))
        return float(delay * (0.75 + random.random() / 2))

    async def _render(self, tx: Tx, live: Live) -> Rendered:
        template = self.templates.get(live.template)
        if template is None:
            raise Failed(f"no template {live.template!r}")
        try:
            return await template.render(tx, live.subject)
        except LookupError as exc:
            raise Failed(f"nothing to render: {exc}") from exc

    async def _before_send(self, tx: Tx, message: Message) -> Ready:
        await self.lease.check(tx)
        if isinstance(message, Respond | Ephemeral):
            return Ready(message.text, message.blocks)
        if isinstance(message, Page):
            return Ready("", None, None, await repo.get_ref(tx, ids.card_ref(message.incident)))
        if isinstance(message, Upload):
            if message.thread_ref is None:
                return Ready(message.text, None, None, None)
            target = await repo.get_ref(tx, message.thread_ref)
            if target is None:
                raise Failed(f"{message.thread_ref} was never posted, so there is no thread to upload to")
            await self._guarded(tx, message, target)
            return Ready(message.text, None, None, target)
        text, blocks, version = message.text, message.blocks, None
        if message.live is not None:
            rendered = await self._render(tx, message.live)
            text, blocks, version = rendered.text, rendered.blocks, rendered.version
        ref = message.ref if isinstance(message, Update) else message.thread_ref
        target = await repo.get_ref(tx, ref) if ref else None
        if ref and target is None:
            what = "edited" if isinstance(message, Update) else "replied to"
            raise Failed(f"{ref} was never posted, so it cannot be {what}")
        await self._guarded(tx, message, target)
        return Ready(text, blocks, version, target)

    async def _guarded(self, tx: Tx, message: Message, target: tuple[str, str] | None) -> None:
        if self.guard is not None and not await self.guard(tx, message, target):
            raise Withheld("withheld: a confidential incident's details never go to a public channel")

    async def _send(self, p: Prepared, ready: Ready) -> Posted | None:
        message = p.message
        if isinstance(message, Respond):
            await self.responder.send(dataclasses.replace(message, text=ready.text, blocks=ready.blocks))
            return None
        if isinstance(message, Ephemeral):
            await self.slack.ephemeral(
                channel=message.channel,
                user=message.user,
                text=message.text,
                blocks=message.blocks,
                thread_ts=message.thread_ts,
            )
            return None
        if isinstance(message, Page):
            if self.pager is None:
                raise Failed("a page is owed but no pager is configured (PAGERDUTY_ROUTING_KEY)")
            await self.pager(message, ready.target, p.item.created_at)
            return None
        if isinstance(message, Upload):
            await self._upload(message, ready)
            return None
        if isinstance(message, Update):
            assert ready.target is not None
            channel, ts = ready.target
            await self.slack.update(channel=channel, ts=ts, text=ready.text, blocks=ready.blocks)
            return Posted(channel, ts)
        assert isinstance(message, Post)
        return await self._post(p, message, ready)

    async def _upload(self, message: Upload, ready: Ready) -> None:
        """files_upload_v2 runs Slack's external flow: getUploadURLExternal, the bytes, complete."""
        if ready.target is not None:
            channel, thread_ts = ready.target
        else:
            assert message.channel is not None
            channel, thread_ts = await self.slack.channel(message.channel), None
        body = {"file": base64.b64decode(message.content)} if message.binary else {"content": message.content}
        await self.slack.call(
            "files_upload_v2",
            channel=channel,
            thread_ts=thread_ts,
            filename=message.filename,
            title=message.title,
            initial_comment=message.text,
            **body,
        )

    async def _post(self, p: Prepared, message: Post, ready: Ready) -> Posted:
        item = p.item
        thread_ts = None
        if ready.target is not None:
            channel, thread_ts = ready.target
        else:
            channel = await self.slack.channel(message.channel or "")
        if item.in_doubt:
            earlier = await self.slack.find_earlier(
                item_id=item.id, created_at=item.created_at, channel=channel, thread_ts=thread_ts
            )
            if earlier is not None:
                return earlier
        try:
            return await self.slack.post(
                channel=channel,
                text=ready.text,
                blocks=ready.blocks,
                item_ids=[m.id for m in p.members],
                thread_ts=thread_ts,
                broadcast=message.broadcast,
            )
        except Retry as exc:
            cannot_join = str(exc) in NOT_IN_CHANNEL and not thread_ts and not await self.slack.join(channel)
            if cannot_join and message.notify is not None and item.attempts == 0:
                await self.store.run(lambda tx: self._tell(tx, item.id, message, invite_needed(channel)))
            raise

    async def _tell(
        self, tx: Tx, item_id: int, message: Post, text: str, *, why: str = "invite", answer: bool = False
    ) -> None:
        """Tell the person who asked. ``answer``: the owner's own notice (it says what it is about), which
        answers their command; the outbox's generic notices (invite me, could not post) are new messages,
        so the ack naming what they are about stays in view."""
        assert message.notify is not None
        await self.lease.check(tx)
        notice = message.notify.respond(text) if answer else Respond(message.notify.url, text)
        await owe(tx, notice, at=self.clock(), key=f"outbox:{why}:{item_id}")

    async def record(
        self,
        p: Prepared,
        outcome: Outcome,
        ready: Ready | None,
        posted: Posted | None,
        *,
        term: int | None = None,
    ) -> None:
        """Write the outcome (fenced), retrying a store blip for ~15 s (a PostgreSQL restart, killed
        sessions) before giving up: an outcome not written makes the item in doubt, and a private reply
        in doubt is sent again (a response_url cannot be looked up)."""
        await run_through_blips(
            self.store,
            lambda tx: self._record(tx, p, outcome, ready, posted, term),
            waits=doubling(0.1, cap=4.0, count=RECORD_ATTEMPTS - 1),
            on_blip=lambda exc: log.warning(
                "outbox: cannot record item %d yet (%s); retrying", p.item.id, exc
            ),
        )

    async def _record(
        self,
        tx: Tx,
        p: Prepared,
        outcome: Outcome,
        ready: Ready | None,
        posted: Posted | None,
        claimed: int | None,
    ) -> None:
        late = False
        try:
            term = await self.lease.check(tx)
        except LeaseLost:
            # Replaced mid-send. That it was sent is still true and worth writing, as long as the new
            # holder has not taken the item up again: otherwise it sends it a second time (a private
            # reply cannot be looked for first). Anything else is the new holder's to decide.
            if outcome.state != "sent" or claimed is None:
                raise
            term, late = claimed, True
        now = self.clock()
        written = await queue.mark_items(
            tx,
            [member.id for member in p.members],
            state=outcome.state,
            at=now,
            error=outcome.error,
            retry_at=outcome.retry_at,
            term=term,
            late=late,
        )
        settled = written > 0
        if late:
            log.info("outbox: item %d was sent just before this instance's lease term ended", p.item.id)
        if not settled:
            log.info("outbox: item %d was settled elsewhere; leaving it", p.item.id)
            return
        message = p.message
        if outcome.state == "failed" and isinstance(message, Post) and message.notify is not None:
            archived = outcome.error in ARCHIVED and message.notify.archived
            text = message.notify.archived if archived else could_not_post(outcome.error or "error")
            await self._tell(tx, p.item.id, message, text or "", why="failed", answer=bool(archived))
        if outcome.state != "sent" or posted is None or not isinstance(message, Post | Update):
            return
        if isinstance(message, Post):
            await self._posted(tx, p.item.id, message, posted)
        if message.live is not None and ready is not None and ready.version is not None:
            # The subject moved on while this was in flight: owe the edit that shows it as it is now.
            now_shows = await self._render(tx, message.live)
            if now_shows.version != ready.version and (ref := message.ref):
                await owe(tx, Update(message.lane, ref, live=message.live), at=now)

    async def _posted(self, tx: Tx, item_id: int, message: Post, posted: Posted) -> None:
        if message.ref:
            await repo.save_ref(tx, message.ref, posted.channel, posted.ts)
        if message.live is not None:
            template = self.templates.get(message.live.template)
            if template is not None and template.posted is not None:
                await template.posted(tx, message.live.subject, posted.channel, posted.ts)
        if message.notify is not None:
            text = message.notify.text.replace("{permalink}", posted.permalink or "")
            await owe(tx, message.notify.respond(text), at=self.clock(), key=f"outbox:notify:{item_id}")
