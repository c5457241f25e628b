"""Housekeeping runs as a recurring job and forgets only what is older than a week."""

from __future__ import annotations

import json

from bot import runtime
from bot.incidents.model import Status
from bot.jobs import housekeeping
from bot.jobs.scheduler import Scheduler, Timer, pending
from bot.settings import Settings
from bot.store import Store, Tx, queue, repo
from tests.jobs.test_scheduler import Clock

DAY = 86400.0
NOW = 1_800_000_000.0  # 2027-01-15 08:00 UTC


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


async def test_housekeeping_forgets_finished_diagnostics_resolved_a_week_ago(store: Store) -> None:
    from tests.store.test_contract import incident

    cases = {  # number: (resolved how long ago, diagnostics done)
        1: (8 * DAY, True),
        2: (8 * DAY, False),  # still running: kept
        3: (1 * DAY, True),  # resolved recently: kept
        4: (None, True),  # open: kept
    }

    async def seed(tx: Tx) -> None:
        for number, (ago, done) in cases.items():
            when = {} if ago is None else {"status": Status.RESOLVED, "status_times": {"resolved": NOW - ago}}
            await repo.insert_incident(tx, incident(number, **when))
            # The runbook keeps one record per scenario (a re-routed incident has two); older ones had none.
            for key in (f"diag:{number}", f"diag:{number}:database", f"diag:{number}:checkout"):
                record = json.dumps({"scenario": "general", "done": done})
                await repo.save_diagnostics(tx, key, record, done=done)

    await store.run(seed)
    timer = Timer(id=1, kind=housekeeping.KIND, subject="", due=NOW, generation=1, payload={})
    record = runtime.incident_record(Settings())  # the keys as the runbook writes them
    await store.run(lambda tx: housekeeping.prune(clock=Clock(NOW), incidents=record)(tx, timer))
    async with store.transaction() as tx:
        kept = [str(r["key"]) for r in await tx.fetchall("SELECT key FROM diagnostic_runs")]
        unfinished = [k for k, _ in await repo.unfinished_diagnostics(tx)]
    assert not [k for k in kept if k.startswith("diag:1")]
    assert {k.split(":")[1] for k in kept} == {"2", "3", "4"} and len(kept) == 9
    assert sorted(unfinished) == ["diag:2", "diag:2:checkout", "diag:2:database"]
