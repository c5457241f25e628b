"""One delivery round's pure pieces: what is prepared, what became of it, how lanes are batched and a
backlog of thread replies merged."""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Literal

from bot.logs import iso
from bot.outbox.messages import Message, Post, decode
from bot.store.queue import OutboxItem

log = logging.getLogger("opsbot.outbox")

State = Literal["sent", "pending", "failed", "withheld", "untouched"]


@dataclass
class Prepared:
    """A claimed item and the message it carries (or why it cannot be sent)."""

    item: OutboxItem
    message: Message | None
    problem: str | None = None
    members: list[OutboxItem] = field(default_factory=list)  # items this one message carries

    def __post_init__(self) -> None:
        if not self.members:
            self.members = [self.item]


def prepare(item: OutboxItem) -> Prepared:
    """Decode a claimed item; a malformed one is prepared with its problem, to fail alone. Pure."""
    try:
        return Prepared(item, decode(item.kind, item.lane, item.payload))
    except ValueError as exc:
        return Prepared(item, None, problem=str(exc))


MERGE_TEXT = 3000  # characters in one merged thread reply


def _mergeable(p: Prepared) -> bool:
    """A plain thread reply: no blocks, no name to edit it by, nothing to notify, no broadcast."""
    m = p.message
    return (
        isinstance(m, Post)
        and bool(m.thread_ref)
        and not p.problem
        and not p.item.in_doubt
        and not (m.ref or m.blocks or m.broadcast or m.notify or m.live)
    )


def merge_replies(batch: list[Prepared]) -> list[Prepared]:
    """Consecutive plain replies to one thread become one message, in order. Slack takes about one
    message a second per channel, so a backlog goes out as a few messages instead of hundreds. Pure."""
    merged: list[Prepared] = []
    for p in batch:
        last = merged[-1] if merged else None
        if (
            last is not None
            and isinstance(last.message, Post)
            and isinstance(p.message, Post)
            and _mergeable(p)
            and _mergeable(last)
            and last.message.thread_ref == p.message.thread_ref
            and len(last.message.text) + len(p.message.text) + 1 <= MERGE_TEXT
        ):
            text = f"{last.message.text}\n{p.message.text}"
            message = dataclasses.replace(last.message, text=text)
            merged[-1] = Prepared(last.item, message, members=[*last.members, p.item])
        else:
            merged.append(p)
    return merged


@dataclass
class Outcome:
    """What became of one item in a round."""

    item: OutboxItem
    # sent | pending (retry) | failed | withheld (kept from where it was going, on purpose) | untouched
    # (its lane stopped before it)
    state: State
    error: str | None = None
    retry_at: float | None = None
    exc: BaseException | None = None

    def report(self, on_error: Callable[[BaseException], object] | None, *, now: float) -> None:
        """One log line: every delivery at INFO (what, which lane, latency since owed, outcome), a retry at
        INFO, a withheld item at WARNING (a guard working, not a fault), a failure at ERROR (and to
        Sentry)."""
        if self.state == "sent":
            log.info(
                "outbox: delivered %s %d (%s) %.2f s after it was owed: sent",
                self.item.kind,
                self.item.id,
                self.item.lane,
                max(0.0, now - self.item.created_at),
            )
        elif self.state == "pending":
            log.info(
                "outbox: %s %d (%s) not delivered, retry at %s: %s",
                self.item.kind,
                self.item.id,
                self.item.lane,
                iso(self.retry_at or now),
                self.error,
            )
        elif self.state == "withheld":
            log.warning("outbox: item %d (%s) withheld: %s", self.item.id, self.item.kind, self.error)
        elif self.state == "failed":
            log.error("outbox: item %d (%s) failed for good: %s", self.item.id, self.item.kind, self.error)
            if on_error is not None and self.exc is not None:
                on_error(self.exc)


def due_batches(items: list[OutboxItem], now: float, per_lane: int) -> list[list[OutboxItem]]:
    """Per lane, the leading items that are due (in order), up to ``per_lane``. A lane whose head is
    being sent, or not yet due, waits. Pure."""
    lanes: dict[str, list[OutboxItem]] = {}
    blocked: set[str] = set()
    for item in items:
        if item.lane in blocked:
            continue
        if item.state != "pending" or item.next_attempt_at > now:
            blocked.add(item.lane)
            continue
        batch = lanes.setdefault(item.lane, [])
        if len(batch) >= per_lane:
            blocked.add(item.lane)
            continue
        batch.append(item)
    return list(lanes.values())


@dataclass(frozen=True)
class Chore:
    """Periodic work only the lease holder does (housekeeping, resuming abandoned work)."""

    name: str
    every: float
    run: Callable[[], Awaitable[object]]


@dataclass(frozen=True)
class DeliveryHealth:
    """What ``/readyz`` reads: ``ok`` unless delivery stopped for good or is stuck."""

    ok: bool
    leader: bool
    term: int | None
    stopped: str | None = None  # why delivery stopped until a restart (token revoked, app uninstalled)
    stuck: str | None = None  # why delivery is making no progress right now
