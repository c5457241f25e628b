"""Durable timers: data in the store, not sleeping tasks, so they survive restarts and fire once across
instances.

A timer is one row per (kind, subject). ``schedule`` creates or moves it (and bumps its generation),
``cancel`` drops it. Any running instance may claim a due timer; the kind's handler runs inside the
claiming transaction, so the claim and the handler's effects commit together or not at all. A handler
that raises is rolled back to a savepoint, the failure is counted and the timer retried with backoff.

Recurring jobs are timers whose next due time comes from a cron expression in a time zone. Only the
next slot is ever stored, so a slot missed while every instance was down fires once at start-up, then
the schedule resumes from the next slot after now.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TypeAlias, cast
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from cronsim import CronSim, CronSimError

from bot.store import Row, Store, Tx
from bot.store import timers as sql

log = logging.getLogger("opsbot.jobs")

JSON: TypeAlias = "str | int | float | bool | list[JSON] | dict[str, JSON] | None"

RECURRING_SUBJECT = ""  # a recurring job has one timer, keyed by its kind alone


@dataclass(frozen=True)
class Timer:
    """A timer as stored: ``generation`` grows each time it is scheduled again."""

    id: int
    kind: str
    subject: str
    due: float
    generation: int
    payload: dict[str, JSON]


Handler = Callable[[Tx, Timer], Awaitable[None]]


@dataclass(frozen=True)
class Recurring:
    """A job fired on a cron schedule (5 fields, or 6 with seconds first) read in ``timezone``."""

    kind: str
    cron: str
    timezone: str = "UTC"

    def next_due(self, after: float) -> float:
        """The first slot strictly after ``after`` (epoch seconds)."""
        zone = ZoneInfo(self.timezone)
        return next(CronSim(self.cron, datetime.fromtimestamp(after, zone))).timestamp()

    def check(self) -> None:
        """Raise ValueError if the time zone or the expression is not valid."""
        try:
            ZoneInfo(self.timezone)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"recurring job {self.kind!r}: unknown time zone {self.timezone!r}") from exc
        try:
            self.next_due(0.0)
        except (CronSimError, ValueError) as exc:
            raise ValueError(f"recurring job {self.kind!r}: bad cron {self.cron!r}: {exc}") from exc

    def payload(self) -> dict[str, JSON]:
        return {"cron": self.cron, "timezone": self.timezone}


def _timer(row: Row) -> Timer:
    return Timer(
        id=int(row["id"]),
        kind=str(row["kind"]),
        subject=str(row["subject"]),
        due=float(row["due"]),
        generation=int(row["generation"]),
        payload=cast(dict[str, JSON], json.loads(row["payload"])),
    )


async def schedule(
    tx: Tx, *, kind: str, subject: str, due: float, payload: Mapping[str, JSON] | None = None
) -> int:
    """Create the (kind, subject) timer or move it to ``due`` with ``payload``; returns its generation."""
    return await sql.upsert(tx, kind=kind, subject=subject, due=due, payload=dict(payload or {}))


async def cancel(tx: Tx, *, kind: str, subject: str) -> None:
    """Drop the (kind, subject) timer if there is one."""
    await sql.delete(tx, kind=kind, subject=subject)


async def bring_forward(tx: Tx, *, kind: str, subject_prefix: str, due: float) -> int:
    """Make every ``kind`` timer whose subject starts with ``subject_prefix`` due by ``due``; how many."""
    return await sql.bring_forward(tx, kind=kind, subject_prefix=subject_prefix, due=due)


async def pending(tx: Tx, *, limit: int = 50) -> list[Timer]:
    """Timers soonest first (due or not)."""
    return [_timer(row) for row in await sql.soonest(tx, limit=limit)]


async def due_counts(tx: Tx, *, now: float, late_after: float = 60.0) -> tuple[int, int]:
    """(timers due now, timers due for longer than ``late_after`` seconds): for metrics."""
    return await sql.due_counts(tx, now=now, late_after=late_after)


@dataclass(frozen=True)
class _Fired:
    timer: Timer
    error: BaseException | None = None


class Scheduler:
    """Fires due timers through their kind's handler; start one in every instance."""

    def __init__(
        self,
        store: Store,
        *,
        handlers: Mapping[str, Handler],
        clock: Callable[[], float],
        poll_interval: float = 1.0,
        recurring: Sequence[Recurring] = (),
        batch: int = 100,
        retry_base: float = 5.0,
        retry_max: float = 900.0,
        on_error: Callable[[BaseException], object] | None = None,
    ) -> None:
        for job in recurring:
            job.check()
            if job.kind not in handlers:
                raise ValueError(f"recurring job {job.kind!r} has no handler")
        self.store = store
        self.handlers = dict(handlers)
        self.clock = clock
        self.poll_interval = poll_interval
        self.recurring = {job.kind: job for job in recurring}
        self.batch = batch
        self.retry_base = retry_base
        self.retry_max = retry_max
        self._on_error = on_error or (lambda exc: log.error("timer failed", exc_info=exc))
        self._task: asyncio.Task[None] | None = None
        self._stopping = asyncio.Event()

    # --- lifecycle -----------------------------------------------------------------------------

    def start(self) -> None:
        """Poll for due timers in the background until ``stop``."""
        if self._task is None:
            self._stopping = asyncio.Event()
            self._task = asyncio.create_task(self._poll(self._stopping), name="opsbot-scheduler")

    async def stop(self, *, grace: float = 5.0) -> None:
        """Stop polling; a timer being fired gets ``grace`` seconds to commit before it is cut short
        (and then rolled back, to fire again later)."""
        task, self._task = self._task, None
        if task is None:
            return
        self._stopping.set()
        with contextlib.suppress(TimeoutError, asyncio.CancelledError):
            await asyncio.wait_for(task, timeout=grace)

    async def __aenter__(self) -> Scheduler:
        self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.stop()

    async def _poll(self, stopping: asyncio.Event) -> None:
        planned = False
        while not stopping.is_set():
            try:
                if not planned:
                    await self.plan_recurring()
                    planned = True
                await self.fire_due(stopping=stopping)
            except Exception as exc:  # a store blip: try again next tick, never die
                log.warning("scheduler: %s: %s", exc.__class__.__name__, exc)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stopping.wait(), timeout=self.poll_interval)

    # --- work ----------------------------------------------------------------------------------

    async def plan_recurring(self) -> None:
        """Make sure every recurring job has its timer; a changed cron or zone moves it to its next slot.

        An existing timer with the same schedule is left alone, even if overdue: it fires once."""
        now = self.clock()

        async def plan(tx: Tx) -> None:
            for job in self.recurring.values():
                row = await sql.get(tx, kind=job.kind, subject=RECURRING_SUBJECT)
                if row is None or json.loads(row["payload"]) != job.payload():
                    await schedule(
                        tx,
                        kind=job.kind,
                        subject=RECURRING_SUBJECT,
                        due=job.next_due(now),
                        payload=job.payload(),
                    )

        await self.store.run(plan)

    async def fire_due(self, *, stopping: asyncio.Event | None = None) -> int:
        """Fire due timers, one transaction each, until none is left (or ``batch``); returns how many
        fired successfully."""
        fired = 0
        for _ in range(self.batch):
            if stopping is not None and stopping.is_set():
                break
            outcome = await self.store.run(self._fire_one)
            if outcome is None:
                break
            if outcome.error is None:
                fired += 1
            else:
                log.warning(
                    "scheduler: %s timer %r failed; retrying",
                    outcome.timer.kind,
                    outcome.timer.subject,
                )
                self._on_error(outcome.error)
        return fired

    async def _fire_one(self, tx: Tx) -> _Fired | None:
        now = self.clock()
        row = await sql.claim_due(tx, kinds=self.handlers.keys(), now=now)
        if row is None:
            return None
        timer = _timer(row)
        await tx.execute("SAVEPOINT timer_fire")
        try:
            await self.handlers[timer.kind](tx, timer)
        except Exception as exc:
            await tx.execute("ROLLBACK TO SAVEPOINT timer_fire")
            retry_at = now + min(self.retry_max, self.retry_base * 2 ** int(row["attempts"]))
            await sql.record_failure(
                tx, timer_id=timer.id, generation=timer.generation, retry_at=retry_at, error=repr(exc)
            )
            return _Fired(timer, exc)
        await tx.execute("RELEASE SAVEPOINT timer_fire")
        job = self.recurring.get(timer.kind)
        if job is not None and timer.subject == RECURRING_SUBJECT:
            # From now, not from the slot that fired: missed slots are not made up one by one.
            await self._plan(tx, job, now)
        else:
            await sql.delete_fired(tx, timer_id=timer.id, generation=timer.generation)
        return _Fired(timer)

    @staticmethod
    async def _plan(tx: Tx, job: Recurring, now: float) -> None:
        await schedule(
            tx, kind=job.kind, subject=RECURRING_SUBJECT, due=job.next_due(now), payload=job.payload()
        )
