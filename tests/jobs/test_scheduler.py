"""Durable timers on both stores: fired once, across instances and restarts, retried when a handler fails."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import TypeVar

import pytest

from bot.errors import StoreUnavailable
from bot.jobs.scheduler import Handler, Recurring, Scheduler, Timer, cancel, due_counts, pending, schedule
from bot.store import Store, Tx, open_store

T = TypeVar("T")


class Clock:
    """A clock the test moves by hand."""

    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


T0 = datetime(2026, 1, 5, 12, 0, tzinfo=UTC).timestamp()  # a Monday, in winter


async def remember(tx: Tx, timer: Timer) -> None:
    """A handler whose effect is a row: it commits with the claim, or not at all."""
    await tx.execute(
        "INSERT INTO kv (key, value) VALUES (?, ?)",
        (f"{timer.kind}:{timer.subject}:{timer.generation}", str(timer.payload.get("n", ""))),
    )


async def effects(store: Store) -> dict[str, str]:
    async with store.transaction() as tx:
        rows = await tx.fetchall("SELECT key, value FROM kv WHERE key LIKE ?", ("remind:%",))
    return {r["key"]: r["value"] for r in rows}


async def add(store: Store, kind: str, subject: str, due: float, **payload: int) -> int:
    async def body(tx: Tx) -> int:
        return await schedule(tx, kind=kind, subject=subject, due=due, payload=payload)

    return await store.run(body)


async def test_schedule_upserts_and_bumps_the_generation(store: Store) -> None:
    assert await add(store, "remind", "inc:1", T0 + 60, n=1) == 1
    assert await add(store, "remind", "inc:1", T0 + 30, n=2) == 2
    assert await add(store, "remind", "inc:2", T0 + 90) == 1
    async with store.transaction() as tx:
        timers = await pending(tx)
        assert [(t.subject, t.due, t.generation, t.payload) for t in timers] == [
            ("inc:1", T0 + 30, 2, {"n": 2}),
            ("inc:2", T0 + 90, 1, {}),
        ]
        await cancel(tx, kind="remind", subject="inc:1")
        await cancel(tx, kind="remind", subject="no-such")
        assert [t.subject for t in await pending(tx)] == ["inc:2"]


async def test_fires_once_when_due_and_not_before(store: Store) -> None:
    clock = Clock(T0)
    scheduler = Scheduler(store, handlers={"remind": remember}, clock=clock)
    await add(store, "remind", "inc:1", T0 + 60, n=7)
    assert await scheduler.fire_due() == 0
    clock.now = T0 + 60
    assert await scheduler.fire_due() == 1
    assert await scheduler.fire_due() == 0
    assert await effects(store) == {"remind:inc:1:1": "7"}
    async with store.transaction() as tx:
        assert await pending(tx) == []


async def test_a_handler_may_reschedule_its_own_timer(store: Store) -> None:
    clock = Clock(T0)

    async def again(tx: Tx, timer: Timer) -> None:
        await remember(tx, timer)
        if timer.generation < 3:
            await schedule(tx, kind=timer.kind, subject=timer.subject, due=clock.now + 10)

    scheduler = Scheduler(store, handlers={"remind": again}, clock=clock)
    await add(store, "remind", "inc:1", T0)
    for _ in range(5):
        await scheduler.fire_due()
        clock.now += 10
    assert sorted(await effects(store)) == ["remind:inc:1:1", "remind:inc:1:2", "remind:inc:1:3"]


async def test_a_failing_handler_is_rolled_back_and_retried_with_backoff(store: Store) -> None:
    clock = Clock(T0)
    failures: list[BaseException] = []
    calls = 0

    async def flaky(tx: Tx, timer: Timer) -> None:
        nonlocal calls
        calls += 1
        await remember(tx, timer)
        if calls <= 2:
            raise RuntimeError("upstream down")

    scheduler = Scheduler(
        store, handlers={"remind": flaky}, clock=clock, retry_base=5, on_error=failures.append
    )
    await add(store, "remind", "inc:1", T0)
    assert await scheduler.fire_due() == 0
    assert await effects(store) == {}  # the failed attempt's write was undone
    async with store.transaction() as tx:
        [timer] = await pending(tx)
        assert timer.due == T0 + 5
    clock.now = T0 + 5
    assert await scheduler.fire_due() == 0
    async with store.transaction() as tx:
        [timer] = await pending(tx)
        assert timer.due == T0 + 5 + 10  # doubled
    clock.now = T0 + 15
    assert await scheduler.fire_due() == 1
    assert await effects(store) == {"remind:inc:1:1": ""}
    assert [str(e) for e in failures] == ["upstream down", "upstream down"]


async def test_a_bad_timer_fails_alone(store: Store) -> None:
    clock = Clock(T0)

    async def picky(tx: Tx, timer: Timer) -> None:
        if timer.subject == "bad":
            raise ValueError("bad subject")
        await remember(tx, timer)

    scheduler = Scheduler(store, handlers={"remind": picky}, clock=clock, on_error=lambda exc: None)
    await add(store, "remind", "bad", T0)
    await add(store, "remind", "good", T0 + 1)
    clock.now = T0 + 1
    assert await scheduler.fire_due() == 1
    assert await effects(store) == {"remind:good:1": ""}


async def test_kinds_without_a_handler_here_are_left_for_others(store: Store) -> None:
    clock = Clock(T0)
    scheduler = Scheduler(store, handlers={"remind": remember}, clock=clock)
    await add(store, "escalate", "inc:1", T0)
    assert await scheduler.fire_due() == 0
    async with store.transaction() as tx:
        assert [t.kind for t in await pending(tx)] == ["escalate"]
        assert await due_counts(tx, now=T0 + 120, late_after=60) == (1, 1)
        assert await due_counts(tx, now=T0 + 30, late_after=60) == (1, 0)


async def test_a_timer_survives_a_restart(store_url: str) -> None:
    first = open_store(store_url)
    await first.migrate()
    await add(first, "remind", "inc:1", T0 + 60, n=1)
    await first.close()

    second = open_store(store_url)
    await second.open()
    try:
        scheduler = Scheduler(second, handlers={"remind": remember}, clock=Clock(T0 + 3600))
        assert await scheduler.fire_due() == 1
        assert await effects(second) == {"remind:inc:1:1": "1"}
    finally:
        await second.close()


async def test_two_instances_fire_each_timer_exactly_once(store_url: str) -> None:
    """Two schedulers, each with its own connection(s) to one store, as two processes would have."""
    stores = [open_store(store_url), open_store(store_url)]
    for s in stores:
        await s.migrate()
    fired: list[tuple[int, str]] = []

    def handler(instance: int) -> Handler:
        async def fire(tx: Tx, timer: Timer) -> None:
            await remember(tx, timer)
            fired.append((instance, timer.subject))
            await asyncio.sleep(0.002)  # hold the claim a moment, so the other instance runs into it

        return fire

    try:
        for n in range(40):
            await add(stores[0], "remind", f"inc:{n}", T0 + n % 3)
        clock = Clock(T0 + 5)
        schedulers = [
            Scheduler(s, handlers={"remind": handler(i)}, clock=clock, batch=1000)
            for i, s in enumerate(stores)
        ]
        counts = await asyncio.gather(*(sch.fire_due() for sch in schedulers), schedulers[0].fire_due())
        assert sum(counts) == 40
        assert sorted(subject for _, subject in fired) == sorted(f"inc:{n}" for n in range(40))
        assert len(await effects(stores[1])) == 40
        if stores[0].dialect == "postgres":
            assert {instance for instance, _ in fired} == {0, 1}  # SKIP LOCKED let both work at once
    finally:
        for s in stores:
            await s.close()


async def test_the_background_loop_fires_due_timers(store: Store) -> None:
    clock = Clock(T0)
    done = asyncio.Event()

    async def signal(tx: Tx, timer: Timer) -> None:
        await remember(tx, timer)
        done.set()

    async with Scheduler(store, handlers={"remind": signal}, clock=clock, poll_interval=0.01):
        await add(store, "remind", "inc:1", T0 + 1)
        await asyncio.sleep(0.05)
        assert not done.is_set()
        clock.now = T0 + 1
        await asyncio.wait_for(done.wait(), timeout=5)
    assert await effects(store) == {"remind:inc:1:1": ""}


# --- recurring jobs ----------------------------------------------------------------------------


async def count_fires(tx: Tx, timer: Timer) -> None:
    await tx.execute(
        "INSERT INTO counters (name, value) VALUES ('fires', 1)"
        " ON CONFLICT (name) DO UPDATE SET value = counters.value + 1"
    )


async def fires(store: Store) -> int:
    async with store.transaction() as tx:
        row = await tx.fetchone("SELECT value FROM counters WHERE name = 'fires'")
    return int(row["value"]) if row else 0


async def test_recurring_job_follows_its_cron_in_its_time_zone(store: Store) -> None:
    clock = Clock(T0)  # 12:00 UTC = 13:00 in Berlin
    daily = Recurring(kind="digest", cron="0 9 * * *", timezone="Europe/Berlin")
    scheduler = Scheduler(store, handlers={"digest": count_fires}, clock=clock, recurring=[daily])
    await scheduler.plan_recurring()
    async with store.transaction() as tx:
        [timer] = await pending(tx)
    tomorrow_9_berlin = datetime(2026, 1, 6, 8, 0, tzinfo=UTC).timestamp()
    assert timer.due == tomorrow_9_berlin
    clock.now = tomorrow_9_berlin
    assert await scheduler.fire_due() == 1
    async with store.transaction() as tx:
        [timer] = await pending(tx)
    assert timer.due == tomorrow_9_berlin + 86400
    assert await fires(store) == 1


async def test_missed_slots_fire_once_after_downtime(store_url: str) -> None:
    hourly = Recurring(kind="sweep", cron="0 * * * *")
    first = open_store(store_url)
    await first.migrate()
    await Scheduler(
        first, handlers={"sweep": count_fires}, clock=Clock(T0), recurring=[hourly]
    ).plan_recurring()
    await first.close()  # every instance down for five hours and a half

    later = T0 + 5.5 * 3600
    second = open_store(store_url)
    await second.open()
    try:
        scheduler = Scheduler(second, handlers={"sweep": count_fires}, clock=Clock(later), recurring=[hourly])
        await scheduler.plan_recurring()  # a restart keeps the overdue timer as it is
        assert await scheduler.fire_due() == 1
        assert await scheduler.fire_due() == 0
        assert await fires(second) == 1
        async with second.transaction() as tx:
            [timer] = await pending(tx)
        assert timer.due == T0 + 6 * 3600  # the next slot after now, not the next missed one
    finally:
        await second.close()


async def test_a_changed_schedule_moves_the_timer(store: Store) -> None:
    clock = Clock(T0)
    await Scheduler(
        store, handlers={"sweep": count_fires}, clock=clock, recurring=[Recurring("sweep", "0 * * * *")]
    ).plan_recurring()
    await Scheduler(
        store, handlers={"sweep": count_fires}, clock=clock, recurring=[Recurring("sweep", "*/15 * * * *")]
    ).plan_recurring()
    async with store.transaction() as tx:
        [timer] = await pending(tx)
    assert timer.due == T0 + 15 * 60
    assert timer.payload == {"cron": "*/15 * * * *", "timezone": "UTC"}


@pytest.mark.parametrize(
    ("job", "problem"),
    [
        (Recurring("x", "61 * * * *"), "bad cron"),
        (Recurring("x", "every hour"), "bad cron"),
        (Recurring("x", "0 * * * *", timezone="Mars/Olympus"), "unknown time zone"),
        (Recurring("y", "0 * * * *"), "no handler"),
    ],
)
def test_bad_recurring_jobs_are_refused_when_built(job: Recurring, problem: str) -> None:
    store = open_store("sqlite://:memory:")
    with pytest.raises(ValueError, match=problem):
        Scheduler(store, handlers={"x": count_fires}, clock=Clock(T0), recurring=[job])


class Blinking:
    """The store, except that while ``down`` every transaction fails as an unreachable store does."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.down = False
        self.dialect = store.dialect

    async def run(self, body: Callable[[Tx], Awaitable[T]]) -> T:
        if self.down:
            raise StoreUnavailable("blip")
        return await self.store.run(body)


async def test_the_loop_outlives_a_store_blip(store: Store) -> None:
    clock = Clock(T0)
    done = asyncio.Event()
    blinking = Blinking(store)

    async def signal(tx: Tx, timer: Timer) -> None:
        await remember(tx, timer)
        done.set()

    await add(store, "remind", "inc:1", T0 + 1)
    scheduler = Scheduler(blinking, handlers={"remind": signal}, clock=clock, poll_interval=0.01)
    async with scheduler:
        blinking.down = True
        clock.now = T0 + 1
        await asyncio.sleep(0.05)
        assert not done.is_set()
        blinking.down = False
        await asyncio.wait_for(done.wait(), timeout=5)
    assert await effects(store) == {"remind:inc:1:1": ""}


async def test_a_firing_cut_short_at_shutdown_still_fires_once(store: Store) -> None:
    """PostgreSQL rolls the cut transaction back and the timer fires again later; SQLite never cuts a
    transaction body in half (it is shielded), so the firing completes. Once, either way."""
    clock = Clock(T0)
    started = asyncio.Event()
    calls = 0

    async def slow(tx: Tx, timer: Timer) -> None:
        nonlocal calls
        calls += 1
        await remember(tx, timer)
        started.set()
        await asyncio.sleep(0.3 if calls == 1 else 0)

    await add(store, "remind", "inc:1", T0)
    scheduler = Scheduler(store, handlers={"remind": slow}, clock=clock, poll_interval=0.01)
    scheduler.start()
    await asyncio.wait_for(started.wait(), timeout=5)
    await scheduler.stop(grace=0.05)
    await asyncio.sleep(0.4)  # let SQLite's shielded body finish
    fired_again = await Scheduler(store, handlers={"remind": slow}, clock=clock).fire_due()
    assert fired_again == (1 if store.dialect == "postgres" else 0)
    assert await effects(store) == {"remind:inc:1:1": ""}
