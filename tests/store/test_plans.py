"""The hot queries read through an index, on both stores: these fail if one goes back to a full scan.

Each query is the repo's own SQL, recorded while the repo function runs on a store holding some history
(mostly resolved incidents, one incident with many events, delivered outbox rows), then EXPLAINed.
On PostgreSQL sequential scans are priced out (``enable_seqscan = off``), so a plan that still has one
had no index to use.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest

from benchmarks.store_scale import fill
from bot.incidents.service import SHOW_PAGE
from bot.server.metrics import OUTBOX_STATES
from bot.store import Row, Store, Tx, open_store, queue, repo, retention, stats

INCIDENTS, EVENTS, BIG = 3000, 12_000, 2000


class Recording:
    """A transaction that runs everything on ``inner`` and remembers each statement it ran."""

    def __init__(self, inner: Tx) -> None:
        self.inner = inner
        self.dialect = inner.dialect
        self.statements: list[tuple[str, tuple[Any, ...]]] = []

    async def execute(self, sql: str, params: tuple[Any, ...] = ()) -> int:
        self.statements.append((sql, params))
        return await self.inner.execute(sql, params)

    async def write(self, sql: str, params: tuple[Any, ...] = ()) -> None:
        self.statements.append((sql, params))
        await self.inner.write(sql, params)

    async def fetchone(self, sql: str, params: tuple[Any, ...] = ()) -> Row | None:
        self.statements.append((sql, params))
        return await self.inner.fetchone(sql, params)

    async def fetchall(self, sql: str, params: tuple[Any, ...] = ()) -> list[Row]:
        self.statements.append((sql, params))
        return await self.inner.fetchall(sql, params)


@pytest.fixture(scope="module")
def filled_urls(tmp_path_factory: pytest.TempPathFactory, pg_admin: str) -> dict[str, str]:
    """One filled database per store for the whole module (filling takes a few seconds)."""
    import asyncio

    from tests.pgcluster import create_database

    urls = {
        "sqlite": f"sqlite:///{tmp_path_factory.mktemp('plans')}/plans.db",
        "postgres": create_database(pg_admin),
    }

    async def build(url: str) -> None:
        store = open_store(url)
        await store.migrate()
        try:
            await fill(store, incidents=INCIDENTS, events=EVENTS, big=BIG)
            async with store.transaction() as tx:
                record = '{"scenario": "general", "done": false}'
                await repo.save_diagnostics(tx, "diag:7", record, done=False)
                await tx.execute("ANALYZE")
        finally:
            await store.close()

    for url in urls.values():
        asyncio.run(build(url))
    return urls


@pytest.fixture(params=["sqlite", "postgres"])
async def store(request: pytest.FixtureRequest, filled_urls: dict[str, str]) -> AsyncIterator[Store]:
    s = open_store(filled_urls[request.param])
    await s.open()
    try:
        yield s
    finally:
        await s.close()


async def plans(store: Store, work: Callable[[Tx], Awaitable[object]]) -> list[tuple[str, str]]:
    """Each statement ``work`` runs, with the plan the store chose for it (rolled back afterwards)."""
    found: list[tuple[str, str]] = []

    class Rollback(Exception):
        pass

    try:
        async with store.transaction() as tx:
            recording = Recording(tx)
            await work(recording)
            if store.dialect == "postgres":
                await tx.execute("SET LOCAL enable_seqscan = off")
            for sql, params in recording.statements:
                if store.dialect == "sqlite":
                    rows = await tx.fetchall("EXPLAIN QUERY PLAN " + sql, params)
                    plan = "\n".join(str(r["detail"]) for r in rows)
                else:
                    rows = await tx.fetchall("EXPLAIN " + sql, params)
                    plan = "\n".join(str(r["QUERY PLAN"]) for r in rows)
                found.append((sql, plan))
            raise Rollback
    except Rollback:
        pass
    return found


def full_scans(plan: str, table: str) -> list[str]:
    """Lines of ``plan`` reading every row of ``table``."""
    return [
        line
        for line in plan.splitlines()
        if f"Seq Scan on {table}" in line
        or line.strip() == f"SCAN {table}"
        or line.strip().startswith(f"SCAN {table} ")
    ]


async def assert_indexed(
    store: Store,
    work: Callable[[Tx], Awaitable[object]],
    table: str,
    *indexes: str,
    partial: bool = False,
) -> None:
    """Every statement of ``work`` reads ``table`` through one of ``indexes``; with ``partial`` (a
    partial index holding only the rows wanted) a walk over the whole index is fine."""
    found = await plans(store, work)
    assert found, "the work ran no statement"
    for sql, plan in found:
        scans = full_scans(plan, table)
        if partial:
            scans = [line for line in scans if not any(index in line for index in indexes)]
        assert not scans, f"full scan of {table} in:\n{sql}\n{plan}"
        assert any(index in plan for index in indexes), f"none of {indexes} used by:\n{sql}\n{plan}"


async def test_open_list_reads_only_open_incidents(store: Store) -> None:
    async def work(tx: Tx) -> None:
        page = await repo.list_incidents(tx, include_resolved=False, limit=50)
        assert page and all(inc.is_open for inc in page)
        await repo.count_incidents(tx, include_resolved=False, before=page[-1].number, at_most=1000)

    await assert_indexed(store, work, "incidents", "incidents_open")


async def test_show_reads_the_latest_page_and_counts_in_the_index(store: Store) -> None:
    big = INCIDENTS // 2

    async def work(tx: Tx) -> None:
        total = await repo.timeline_count(tx, big)
        last = (total - 1) // SHOW_PAGE * SHOW_PAGE  # the latest page, as /incident show pages it
        events = await repo.timeline(tx, big, offset=last, limit=SHOW_PAGE, total=total)
        assert len(events) == total - last
        first = await repo.timeline(tx, big, offset=0, limit=SHOW_PAGE, total=total)
        assert len(first) == SHOW_PAGE
        assert [e.created_at for e in events] == sorted(e.created_at for e in events)

    await assert_indexed(store, work, "timeline", "timeline_incident")  # the count may use (incident, id)

    async def count(tx: Tx) -> None:
        assert await repo.timeline_count(tx, big) >= BIG

    for sql, plan in await plans(store, count):
        assert not full_scans(plan, "timeline"), f"{sql}\n{plan}"
        assert "timeline_incident" in plan, plan


async def test_a_waiting_mention_looks_for_a_cardless_incident_by_index(store: Store) -> None:
    async def work(tx: Tx) -> None:
        await repo.card_unrecorded(tx, declared_from=0.0, declared_until=1.0)

    await assert_indexed(store, work, "incidents", "incidents_cardless")


async def test_healthz_counts_only_undelivered_items(store: Store) -> None:
    async def work(tx: Tx) -> None:
        assert await queue.undelivered_count(tx) == 0

    # Either index leads with state: only the undelivered items' entries are read.
    await assert_indexed(store, work, "outbox", "outbox_pending", "outbox_age", "outbox_sent")


async def test_start_up_reads_only_unfinished_diagnostics(store: Store) -> None:
    async def work(tx: Tx) -> None:
        assert await repo.unfinished_diagnostics(tx) == [("diag:7", '{"scenario": "general", "done": false}')]

    await assert_indexed(store, work, "diagnostic_runs", "diagnostic_runs_unfinished", partial=True)


async def test_housekeeping_finds_what_is_old_by_index(store: Store) -> None:
    async def deliveries(tx: Tx) -> None:
        await repo.forget_deliveries(tx, 0.0)

    async def sent(tx: Tx) -> None:
        await queue.forget_sent(tx, 0.0)

    await assert_indexed(store, deliveries, "deliveries", "deliveries_age")
    await assert_indexed(store, sent, "outbox", "outbox_age")

    async def resolved(tx: Tx) -> None:
        await repo.resolved_between(tx, start=0.0, end=1.0)

    async def diagnostics(tx: Tx) -> None:
        await repo.forget_finished_diagnostics(tx, ["diag:1", "diag:1:general"])

    await assert_indexed(store, resolved, "incidents", "incidents_resolved")
    for sql, plan in await plans(store, diagnostics):
        assert not full_scans(plan, "diagnostic_runs"), f"{sql}\n{plan}"


async def test_retention_finds_old_alerts_and_incidents_by_index(store: Store) -> None:
    async def old_alerts(tx: Tx) -> None:
        await retention.forget_alerts(tx, before=1.0)

    for sql, plan in await plans(store, old_alerts):
        if "FROM alerts" in sql and "SELECT" in sql:
            assert not full_scans(plan, "alerts"), f"{sql}\n{plan}"
            assert "alerts_resolved_age" in plan or "alerts_dismissed_age" in plan, f"{sql}\n{plan}"

    async def old_incidents(tx: Tx) -> None:
        await retention.old_resolved_incidents(tx, before=4e9)

    await assert_indexed(store, old_incidents, "incidents", "incidents_resolved")

    async def forget(tx: Tx) -> None:
        numbers = await retention.old_resolved_incidents(tx, before=4e9, limit=3)
        assert len(numbers) == 3
        await retention.forget_incidents(
            tx, numbers, refs=["card:1", "diag:1:general"], keys=["esc:1"], diagnostics=["diag:1"]
        )

    tables = ("timeline", "checklist", "alerts", "timers", "publications", "publication_drafts")
    for sql, plan in await plans(store, forget):
        for table in (*tables, "public_incidents", "slack_refs", "kv", "diagnostic_runs", "incidents"):
            assert not full_scans(plan, table), f"full scan of {table} in:\n{sql}\n{plan}"


async def test_metrics_read_only_undelivered_items_and_new_deliveries(store: Store) -> None:
    async def counts(tx: Tx) -> None:
        assert await queue.outbox_counts(tx, states=OUTBOX_STATES) == {}

    async def delivered(tx: Tx) -> None:
        await stats.deliveries_since(tx, after=4e9)

    await assert_indexed(store, counts, "outbox", "outbox_pending", "outbox_age", "outbox_sent")
    await assert_indexed(store, delivered, "outbox", "outbox_sent")


def test_full_scan_detector_sees_full_scans() -> None:
    """The check above can fail: these are the shapes a full scan has in each store's plan."""
    assert full_scans("SCAN incidents", "incidents")
    assert full_scans("SCAN incidents USING INDEX sqlite_autoindex_incidents_1", "incidents")
    assert full_scans("  ->  Seq Scan on incidents  (cost=10000000000.00..)", "incidents")
    assert not full_scans("SEARCH incidents USING INDEX incidents_open (number<?)", "incidents")
    assert full_scans("SCAN outbox USING COVERING INDEX outbox_pending", "outbox")
    assert not full_scans("Index Only Scan using outbox_pending on outbox", "outbox")
