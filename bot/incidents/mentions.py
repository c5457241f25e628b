"""A mention of the bot in an incident's thread is a command, carried out once.

People see a card before its ts is recorded here (Slack answered late, or a takeover is still checking
whether the post landed). A mention in such a young thread waits for it as a timer, data in the store: due
when the card's ts lands (``thread_messages.card_landed``) or when the grace ends (extended, up to the
hold of thread messages, while a recent incident has no card ts yet), and then it is carried out, or
answered "not an incident thread", once across instances and restarts.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, replace

from bot.deps import Deps
from bot.errors import StoreUnavailable
from bot.incidents import commands, thread_messages
from bot.incidents import service as incidents
from bot.incidents.model import Incident
from bot.jobs import scheduler
from bot.jobs.scheduler import JSON, Handler, Timer
from bot.outbox import owe
from bot.slack.answers import ephemeral, owe_ephemeral
from bot.slack.blocks import Message
from bot.slack.replies import explain
from bot.store import Tx, queue, repo

log = logging.getLogger("opsbot.incidents")

KIND = thread_messages.MENTION_WAITS
HOLD_UNKNOWN_THREADS_FOR = thread_messages.HOLD_UNKNOWN_THREADS_FOR
CARD_WAIT = 60.0  # a mention in a thread this young may be in a card whose ts is not recorded yet
# ...and one in an older thread (up to HOLD_UNKNOWN_THREADS_FOR, as thread messages are held) while an
# incident declared shortly before the thread began has no card ts yet (Slack slower still, a takeover).
CLOCK_SKEW = 5.0  # Slack's clock (a ts) may run a little behind this one (an incident's created_at)
RETRY_AFTER = 30.0  # a firing whose work never finished (the process died) fires again this much later
NOT_IN_A_THREAD = "Mention me in an incident card's thread to change that incident, or use `/incident help`."


@dataclass(frozen=True)
class Mention:
    """A mention of the bot: ``text`` is the command after the mention (redacted before it is stored)."""

    channel: str
    user: str
    ts: str
    text: str
    thread_ts: str | None = None
    bot_user_id: str | None = None

    @property
    def in_thread(self) -> bool:
        """Whether it was made in a thread's replies (not its first message, not the channel)."""
        return bool(self.thread_ts) and self.thread_ts != self.ts

    @property
    def subject(self) -> str:
        """Its waiting timer's subject (``thread_messages`` owns the format)."""
        thread_ts = self.thread_ts or ""
        return thread_messages.mention_subject(channel=self.channel, thread_ts=thread_ts, ts=self.ts)

    @property
    def reply_key(self) -> str:
        """The private answer's key: owed once, whatever is redelivered or fired again."""
        return f"mention-reply:{self.channel}:{self.ts}"

    def payload(self) -> dict[str, JSON]:
        """What its waiting timer keeps (``text`` redacted by the caller)."""
        return {
            "channel": self.channel,
            "user": self.user,
            "ts": self.ts,
            "text": self.text,
            "thread_ts": self.thread_ts,
            "bot_user_id": self.bot_user_id,
        }

    @classmethod
    def from_payload(cls, payload: Mapping[str, JSON]) -> Mention:
        """The mention a waiting timer kept."""

        def optional(name: str) -> str | None:
            value = payload.get(name)
            return str(value) if value else None

        return cls(
            channel=str(payload["channel"]),
            user=str(payload["user"]),
            ts=str(payload["ts"]),
            text=str(payload["text"]),
            thread_ts=optional("thread_ts"),
            bot_user_id=optional("bot_user_id"),
        )


async def carry_out(deps: Deps, mention: Mention) -> None:
    """Carry out a mention (the listener's use case); one in a young thread no card claims yet waits."""
    inc = None
    if mention.in_thread and mention.thread_ts:
        async with deps.store.transaction() as tx:
            inc = await _incident_locked(tx, mention)
            if inc is None and await _may_still_land(deps, tx, mention):
                await _wait(deps, tx, replace(mention, text=deps.redact(mention.text)))
                return
    reply = await perform(deps, mention, inc)
    if reply is not None:
        await owe_ephemeral(
            deps,
            channel=mention.channel,
            user=mention.user,
            message=reply,
            thread_ts=mention.thread_ts,
            key=mention.reply_key,
        )


async def perform(deps: Deps, mention: Mention, inc: Incident | None) -> Message | None:
    """The command's effect (keyed on the message, so nothing happens twice); the private answer if any."""
    if inc is None:
        return Message(text=NOT_IN_A_THREAD)
    cmd = commands.parse_thread_command(
        mention.text, inc.number, now=deps.clock(), bot_user_id=mention.bot_user_id
    )
    reply = await incidents.perform(
        deps,
        cmd,
        actor=mention.user,
        key=f"mention:{mention.channel}:{mention.ts}",
        as_of=_ts(mention.ts) or None,  # a late redelivery cannot undo later changes
        shown_in=mention.channel,
    )
    return reply if isinstance(cmd, commands.Show | commands.Help) else None


def handler(deps: Deps) -> Handler:
    """The timer's handler: keep the timer (due again later, should this process die), then do the work."""

    async def fire(tx: Tx, timer: Timer) -> None:
        mention = Mention.from_payload(timer.payload)
        again = deps.clock() + RETRY_AFTER
        await scheduler.schedule(tx, kind=KIND, subject=timer.subject, due=again, payload=timer.payload)
        deps.spawn_soon(lambda: _after_wait(deps, mention), name=f"mention:{mention.channel}:{mention.ts}")

    return fire


async def _after_wait(deps: Deps, mention: Mention) -> None:
    try:
        await _carry_out_waited(deps, mention)
    except StoreUnavailable:  # expected in a blip, and no loss: the timer kept in ``fire`` comes due again
        log.info("mention %s:%s waits for the store; its timer fires again", mention.channel, mention.ts)


async def _carry_out_waited(deps: Deps, mention: Mention) -> None:
    assert mention.thread_ts is not None  # only mentions in a thread wait
    thread_ts = mention.thread_ts
    inc = await thread_messages.incident_for_thread(deps, channel=mention.channel, thread_ts=thread_ts)
    try:
        reply = await perform(deps, mention, inc) if inc is not None else None
    except StoreUnavailable:
        raise  # not the person's mistake: see _after_wait
    except Exception as exc:  # as the listener's guard would: the person is told why
        reply = Message(text=explain(exc))
    async with deps.store.transaction() as tx:
        if inc is None:
            if await _incident_locked(tx, mention) is not None:
                return  # the card landed just now: that made this timer due again
            if await _may_still_land(deps, tx, mention):
                await _wait(deps, tx, mention)
                return
            reply = Message(text=NOT_IN_A_THREAD)
        if reply is not None:
            answer = ephemeral(
                channel=mention.channel, user=mention.user, message=reply, thread_ts=mention.thread_ts
            )
            await owe(tx, answer, at=deps.clock(), key=mention.reply_key)
        await scheduler.cancel(tx, kind=KIND, subject=mention.subject)
    deps.outbox.notify()


async def _incident_locked(tx: Tx, mention: Mention) -> Incident | None:
    """The thread's incident, the thread locked against its card's ts landing (``card_posted``) meanwhile."""
    assert mention.thread_ts is not None
    await queue.lock_thread(tx, channel=mention.channel, thread_ts=mention.thread_ts)
    return await repo.incident_by_card(tx, mention.channel, mention.thread_ts)


async def _may_still_land(deps: Deps, tx: Tx, mention: Mention) -> bool:
    """Whether a card's ts may still be recorded for the mention's thread (the mention should wait)."""
    began, now = _ts(mention.thread_ts or ""), deps.clock()
    if now < began + CARD_WAIT:
        return True
    if now >= began + HOLD_UNKNOWN_THREADS_FOR:
        return False
    since = began - HOLD_UNKNOWN_THREADS_FOR
    return await repo.card_unrecorded(tx, declared_from=since, declared_until=began + CLOCK_SKEW)


async def _wait(deps: Deps, tx: Tx, mention: Mention) -> None:
    # Due when the grace ends, then every CARD_WAIT while a card may still land: its landing brings the
    # timer forward (thread_messages.card_landed), so the due time is only when to look again.
    began, now = _ts(mention.thread_ts or ""), deps.clock()
    grace_ends = began + CARD_WAIT
    due = grace_ends if now < grace_ends else min(now + CARD_WAIT, began + HOLD_UNKNOWN_THREADS_FOR)
    await scheduler.schedule(tx, kind=KIND, subject=mention.subject, due=due, payload=mention.payload())


def _ts(ts: str) -> float:
    try:
        return float(ts)
    except ValueError:
        return 0.0
