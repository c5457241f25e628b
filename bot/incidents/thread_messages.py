"""People's messages in an incident's thread: onto its timeline once, edits and deletions too; a reply that
arrives before its card's ts is recorded is held until it is, and a mention waits for it (a timer)."""

from __future__ import annotations

from bot.deps import Deps
from bot.incidents.model import Incident
from bot.jobs import scheduler
from bot.store import Tx, queue, repo

# A thread message for a card this recent may have arrived before the card's ts was recorded.
HOLD_UNKNOWN_THREADS_FOR = 600.0
# A mention in a thread no card claims yet waits as a timer of this kind (bot.incidents.mentions fires it),
# one per mention, named after its thread so that the card's landing can bring the thread's forward.
MENTION_WAITS = "mention-waits"


def mention_subject(*, channel: str, thread_ts: str, ts: str) -> str:
    """The waiting timer's subject for the mention ``ts`` in the thread ``thread_ts``."""
    return f"{_thread_prefix(channel, thread_ts)}{ts}"


def _thread_prefix(channel: str, thread_ts: str) -> str:
    return f"{channel}:{thread_ts}:"


async def card_landed(tx: Tx, *, channel: str, thread_ts: str) -> int:
    """A card's ts is now recorded: the mentions waiting in its thread are due now (lock the thread first)."""
    return await scheduler.bring_forward(
        tx, kind=MENTION_WAITS, subject_prefix=_thread_prefix(channel, thread_ts), due=0.0
    )


async def incident_for_thread(deps: Deps, *, channel: str, thread_ts: str) -> Incident | None:
    async with deps.store.transaction() as tx:
        return await repo.incident_by_card(tx, channel, thread_ts)


async def record_message(
    deps: Deps, *, channel: str, thread_ts: str, ts: str, actor: str, text: str
) -> Incident | None:
    """Put a human message in an incident's thread on its timeline (once, whatever Slack redelivers).

    A reply to a recent message no incident claims yet is held: it may be in the thread of a card whose
    ts is being recorded right now, and joins that incident's timeline when it is."""
    async with deps.store.transaction() as tx:
        await queue.lock_thread(tx, channel=channel, thread_ts=thread_ts)  # vs. card_posted
        inc = await repo.incident_by_card(tx, channel, thread_ts)
        if inc is not None:
            await repo.add_event(
                tx,
                incident=inc.number,
                kind="message",
                actor=actor,
                text=deps.redact(text),
                at=_ts(ts),
                slack_ts=ts,
            )
        elif deps.clock() - _ts(thread_ts) < HOLD_UNKNOWN_THREADS_FOR:
            await queue.hold_message(
                tx,
                channel=channel,
                thread_ts=thread_ts,
                ts=ts,
                actor=actor,
                text=deps.redact(text),
                at=deps.clock(),
            )
    return inc


async def edit_message(deps: Deps, *, channel: str, thread_ts: str, ts: str, text: str) -> bool:
    async with deps.store.transaction() as tx:
        inc = await repo.incident_by_card(tx, channel, thread_ts)
        return inc is not None and await repo.edit_message_event(
            tx, incident=inc.number, slack_ts=ts, text=deps.redact(text), at=deps.clock()
        )


async def delete_message(deps: Deps, *, channel: str, thread_ts: str, ts: str) -> bool:
    async with deps.store.transaction() as tx:
        inc = await repo.incident_by_card(tx, channel, thread_ts)
        return inc is not None and await repo.delete_message_event(
            tx, incident=inc.number, slack_ts=ts, at=deps.clock()
        )


def _ts(ts: str) -> float:
    try:
        return float(ts)
    except ValueError:
        return 0.0
