"""Retention: resolved and dismissed alerts older than ``retention_days`` go, with their Slack refs, a
bounded batch a run; with ``incident_retention_days`` old resolved incidents go with everything that
hangs off them, end to end over signed requests, and the remediation audit stays."""

from __future__ import annotations

import asyncio
import time

from bot.alerts.model import Alert, AlertStatus
from bot.incidents.model import Incident, Severity, Status, touch
from bot.jobs import housekeeping, scheduler
from bot.jobs.scheduler import Timer
from bot.runbook import escalate
from bot.runtime import job_handlers
from bot.slack import ids
from bot.store import Store, Tx, alerts, repo, retention
from tests.harness import FakeClock, Harness

DAY = 86400.0
NOW = 1_800_000_000.0


async def add_alert(tx: Tx, key: str, *, age_days: float, firing: bool, dismissed: bool = False) -> int:
    at = NOW - age_days * DAY
    status = AlertStatus.FIRING if firing else AlertStatus.RESOLVED
    await alerts.insert_new(
        tx, Alert("alertmanager", key, status, f"alert {key}"), scenario=None, event_at=at, now=at
    )
    record = await alerts.by_key(tx, "alertmanager", key)
    assert record is not None
    if dismissed:
        await alerts.dismiss(tx, record.id, by="U0ONCALL", reason="noise")
    await repo.save_ref(tx, f"alert:{record.id}", "C0ALERTS", f"{at:.6f}")
    return record.id


async def alert_keys(store: Store) -> set[str]:
    async with store.transaction() as tx:
        rows = await tx.fetchall("SELECT alert_key FROM alerts")
        refs = await tx.fetchall("SELECT ref FROM slack_refs WHERE ref LIKE ?", ("alert:%",))
    assert len(refs) == len(rows)  # each kept alert keeps its message ref, each gone one took it along
    return {r["alert_key"] for r in rows}


async def test_old_resolved_and_dismissed_alerts_go_with_their_refs(store: Store) -> None:
    async def seed(tx: Tx) -> None:
        await add_alert(tx, "old-resolved", age_days=10, firing=False)
        await add_alert(tx, "new-resolved", age_days=1, firing=False)
        await add_alert(tx, "old-dismissed", age_days=10, firing=True, dismissed=True)
        await add_alert(tx, "old-firing", age_days=10, firing=True)  # nobody acted on it yet: kept

    await store.run(seed)
    timer = Timer(id=1, kind=housekeeping.KIND, subject="", due=NOW, generation=1, payload={})
    await store.run(lambda tx: housekeeping.prune(clock=lambda: NOW, keep_for=7 * DAY)(tx, timer))
    assert await alert_keys(store) == {"new-resolved", "old-firing"}


async def test_alerts_go_a_bounded_batch_at_a_time(store: Store) -> None:
    async def seed(tx: Tx) -> None:
        for i in range(5):
            await add_alert(tx, f"old-{i}", age_days=10 + i, firing=False)

    await store.run(seed)
    counts = [
        await store.run(lambda tx: retention.forget_alerts(tx, before=NOW - 7 * DAY, limit=2))
        for _ in range(4)
    ]
    assert counts == [2, 2, 1, 0]
    assert await alert_keys(store) == set()


async def test_old_resolved_incidents_go_whole_and_the_audit_stays(store_url: str) -> None:
    clock = FakeClock()
    bot = await Harness.start(store_url, clock=clock, scheduler_poll=3600.0, incident_retention_days=30)
    try:
        for title in ("checkout broken", "database slow", "payments failing"):
            await bot.command(f"open P2 {title}")
        await bot.command("resolve INC-1 fixed")
        await bot.settle()
        async with bot.runtime.store.transaction() as tx:
            await tx.execute(
                "INSERT INTO action_audit (at, actor, event, action, params, incident) VALUES (?,?,?,?,?,?)",
                (clock(), "U0ONCALL", "done", "restart", "{}", 1),
            )
            # What else may hang off an incident: a tick, a timer, a status-page publication.
            await repo.set_check(tx, incident=1, item="i1", user="U0ONCALL", at=clock())
            await repo.set_value(tx, escalate.marker(1), str(clock()))  # a small value of INC-1's
            for ref in (ids.nudge_ref(1), ids.watch_ref(1)):  # the clock's messages in the thread
                await repo.save_ref(tx, ref, "C0INCIDENT", f"{clock():.6f}")
            await scheduler.schedule(tx, kind="incident.nudge", subject="INC-1", due=clock() + 60)
            await tx.execute(
                "INSERT INTO publications (incident, status, body, published_by, created_at)"
                " VALUES (?,?,?,?,?)",
                (1, "resolved", "Fixed.", "U0ONCALL", clock()),
            )
        clock.advance(31 * DAY)
        await bot.command("resolve INC-3 fixed")  # resolved just now: kept
        await bot.settle()

        assert all(await counted(bot, CHECKS))  # each kind of thing is there before
        prune = job_handlers(bot.runtime.deps)[housekeeping.KIND]
        async with bot.runtime.store.transaction() as tx:
            await prune(tx, Timer(0, housekeeping.KIND, "", time.time(), 1, {}))

        gone = await bot.command("show INC-1")
        assert "There is no INC-1" in gone["text"]
        assert "database slow" in str(await bot.command("show INC-2"))  # open: kept
        assert "payments failing" in str(await bot.command("show INC-3"))
        counts = await counted(bot, CHECKS)
    finally:
        await bot.close()
    assert counts[:9] == [0, 0, 0, 0, 0, 0, 0, 0, 1]  # all of INC-1 gone but its remediation audit
    assert counts[9] > 0  # INC-3, resolved just now, keeps its record


CHECKS = (
    ("timeline", "incident = ?", (1,)),
    ("checklist", "incident = ?", (1,)),
    ("timers", "subject = ?", ("INC-1",)),
    ("slack_refs", "ref LIKE ?", ("%:1",)),
    ("slack_refs", "ref LIKE ?", ("%:1:%",)),
    ("kv", "key LIKE ?", ("%:1%",)),
    ("diagnostic_runs", "key LIKE ?", ("diag:1%",)),
    ("publications", "incident = ?", (1,)),
    ("action_audit", "incident = ?", (1,)),
    ("timeline", "incident = ?", (3,)),
)


async def counted(bot: Harness, checks: tuple[tuple[str, str, tuple[object, ...]], ...]) -> list[int]:
    """How many rows each check finds."""
    counts = []
    async with bot.runtime.store.transaction() as tx:
        for table, where, args in checks:
            row = await tx.fetchone(f"SELECT count(*) AS n FROM {table} WHERE {where}", args)
            counts.append(int(row["n"]) if row else -1)
    return counts


async def test_an_incident_reopened_while_retention_runs_is_kept(store: Store) -> None:
    """Retention chose INC-1 (resolved long ago) while someone reopens it: the reopen wins, nothing of
    it is deleted (PostgreSQL: the batch skips rows locked by a change; SQLite: writers take turns)."""
    old = NOW - 40 * DAY
    resolved = Incident(
        1,
        "checkout broken",
        Severity.P2,
        Status.RESOLVED,
        "U0A",
        "U0A",
        old,
        old,
        status_times={Status.INVESTIGATING.value: old, Status.RESOLVED.value: old},
    )
    async with store.transaction() as tx:
        await repo.insert_incident(tx, resolved)
        await repo.append_event(tx, incident=1, kind="declared", actor="U0A", text="declared", at=old)
    reopening = store.transaction()
    tx = await reopening.__aenter__()
    inc = await repo.get_incident(tx, 1, for_update=True)
    assert inc is not None
    reopened = touch(inc, now=NOW, status=Status.INVESTIGATING, status_times={"investigating": NOW})
    await repo.update_incident(tx, reopened)
    record = housekeeping.IncidentRecord(keep_days=30)

    async def prune() -> int:
        async with store.transaction() as other:
            return await housekeeping.forget_incidents(other, record, now=NOW)

    pruning = asyncio.create_task(prune())
    await asyncio.sleep(0.3)  # retention has read the resolved row and waits, or skipped it
    await reopening.__aexit__(None, None, None)
    assert await pruning == 0
    async with store.transaction() as tx:
        kept = await repo.get_incident(tx, 1)
        events = await repo.timeline(tx, 1)
    assert kept is not None and kept.status is Status.INVESTIGATING and events


async def test_a_firing_alert_outlives_the_incident_it_was_attached_to(store_url: str) -> None:
    clock = FakeClock()
    bot = await Harness.start(store_url, clock=clock, scheduler_poll=3600.0, incident_retention_days=30)
    try:
        await bot.command("open P2 checkout broken")
        await bot.command("resolve INC-1 fixed")
        await bot.settle()
        async with bot.runtime.store.transaction() as tx:
            for key, firing in (("still-firing", True), ("finished", False)):
                alert_id = await add_alert(tx, key, age_days=0, firing=firing)
                await alerts.link_incident(tx, alert_id, 1)
        clock.advance(31 * DAY)
        prune = job_handlers(bot.runtime.deps)[housekeeping.KIND]
        async with bot.runtime.store.transaction() as tx:
            await prune(tx, Timer(0, housekeeping.KIND, "", time.time(), 1, {}))
            left = await tx.fetchall("SELECT alert_key, incident FROM alerts")
            refs = await tx.fetchall("SELECT ref FROM slack_refs WHERE ref LIKE ?", ("alert:%",))
        assert "There is no INC-1" in (await bot.command("show INC-1"))["text"]
    finally:
        await bot.close()
    assert [(r["alert_key"], r["incident"]) for r in left] == [("still-firing", None)]
    assert len(refs) == 1, "the firing alert keeps its message, so its next repeat edits it"
