"""One delivery round's pieces: what is prepared, what became of it, how lanes are batched and a
backlog of thread replies merged. Pure except ``Outcome.record``, which writes to the given tx."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field, replace
from typing import Any

from bot.logs import iso
from bot.store import Tx, repo

log = logging.getLogger("opsbot.outbox")


FollowUp = Callable[[Tx], Awaitable[None]]


@dataclass
class Prepared:
    item: repo.OutboxItem
    payload: dict[str, Any]
    refs: dict[str, tuple[str, str] | None] = field(default_factory=dict)
    problem: str | None = None
    members: list[repo.OutboxItem] = field(default_factory=list)  # items this one message carries

    def __post_init__(self) -> None:
        if not self.members:
            self.members = [self.item]


MERGE_TEXT = 3000  # characters in one merged thread reply


def _mergeable(p: Prepared) -> bool:
    """A plain thread reply: no blocks, no name to edit it by, nothing to notify, no broadcast."""
    q = p.payload
    return (
        p.item.kind == "post"
        and bool(q.get("thread_ref"))
        and not p.problem
        and not p.item.in_doubt
        and not any(q.get(k) for k in ("ref", "blocks", "broadcast", "notify_url", "render"))
    )


def merge_replies(batch: list[Prepared]) -> list[Prepared]:
    """Consecutive plain replies to one thread become one message, in order. Slack takes about one
    message a second per channel, so a backlog goes out as a few messages instead of hundreds. Pure."""
    merged: list[Prepared] = []
    for p in batch:
        last = merged[-1] if merged else None
        if (
            last is not None
            and _mergeable(p)
            and _mergeable(last)
            and last.payload["thread_ref"] == p.payload["thread_ref"]
            and len(last.payload["text"]) + len(p.payload["text"]) + 1 <= MERGE_TEXT
        ):
            text = f"{last.payload['text']}\n{p.payload['text']}"
            merged[-1] = Prepared(
                last.item, {**last.payload, "text": text}, last.refs, members=[*last.members, p.item]
            )
        else:
            merged.append(p)
    return merged


@dataclass
class Outcome:
    """What became of one item in a round; recorded in the round's closing transaction."""

    item: repo.OutboxItem
    state: str  # sent | pending (retry) | failed | untouched (its lane stopped before it)
    error: str | None = None
    retry_at: float | None = None
    follow_up: FollowUp | None = None
    exc: BaseException | None = None

    def fanned(self, members: list[repo.OutboxItem]) -> list[Outcome]:
        """The same outcome for every item one message carried."""
        return [self, *(replace(self, item=m, follow_up=None, exc=None) for m in members[1:])]

    async def record(self, tx: Tx, *, now: float) -> None:
        if self.state == "untouched":
            await repo.release_item(tx, self.item.id)
        elif self.state == "pending":
            await repo.mark_item(
                tx, self.item.id, state="pending", at=now, error=self.error, retry_at=self.retry_at
            )
        else:
            await repo.mark_item(tx, self.item.id, state=self.state, at=now, error=self.error)
        if self.follow_up is not None:
            await self.follow_up(tx)

    def report(self, on_error: Callable[[BaseException], object] | None, *, now: float) -> None:
        """One log line: every delivery at INFO (what, which lane, latency since owed, outcome)."""
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
        elif self.state == "failed":
            log.error("outbox: item %d (%s) failed for good: %s", self.item.id, self.item.kind, self.error)
            if on_error is not None and self.exc is not None:
                on_error(self.exc)


def due_batches(items: list[repo.OutboxItem], now: float, per_lane: int) -> list[list[repo.OutboxItem]]:
    """Per lane, the leading items that are due (in order), up to ``per_lane``. A lane whose head is
    being sent, or not yet due, waits. Pure."""
    lanes: dict[str, list[repo.OutboxItem]] = {}
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
