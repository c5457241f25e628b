"""Housekeeping runs as a recurring job and forgets only what is older than a week."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from bot.jobs import housekeeping
from bot.jobs.scheduler import Scheduler, pending
from bot.store import Store, Tx, open_store, queue, repo
from tests.jobs.test_scheduler import Clock

DAY = 86400.0
NOW = 1_800_000_000.0  # 2027-01-15 08:00 UTC


@pytest.fixture
async def store(store_url: str) -> AsyncIterator[Store]:
    s = open_store(store_url)
    await s.migrate()
    try:
        yield s
    finally:
        await s.close()


async def test_housekeeping_forgets_what_is_older_than_a_week(store: Store) -> None:
    async def seed(tx: Tx) -> None:
        await repo.claim(tx, "old-delivery", NOW - 8 * DAY)
        await repo.claim(tx, "new-delivery", NOW - 1 * DAY)
        for at, state in ((NOW - 8 * DAY, "sent"), (NOW - 1 * DAY, "sent"), (NOW - 9 * DAY, "failed")):
            await queue.enqueue(tx, lane="inc:1", kind="post", payload={}, at=at)
            item = (await queue.undelivered(tx))[-1]
            await queue.mark_sending(tx, [item.id])
            await queue.mark_item(tx, item.id, state=state, at=at)

    await store.run(seed)
    clock = Clock(NOW)
    scheduler = Scheduler(
        store,
        handlers={housekeeping.KIND: housekeeping.prune(clock=clock)},
        clock=clock,
        recurring=[housekeeping.HOURLY],
    )
    await scheduler.plan_recurring()
    async with store.transaction() as tx:
        [timer] = await pending(tx)
    assert timer.kind == housekeeping.KIND and NOW < timer.due <= NOW + 3600

    clock.now = timer.due
    assert await scheduler.fire_due() == 1
    async with store.transaction() as tx:
        keys = {r["key"] for r in await tx.fetchall("SELECT key FROM deliveries")}
        counts = await queue.outbox_counts(tx)
        [again] = await pending(tx)
    assert keys == {"new-delivery"}
    assert counts == {"sent": 1, "failed": 1}  # failed items stay, for inspection
    assert again.due == timer.due + 3600
