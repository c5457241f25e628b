"""Flat at scale: every user-facing query against a store holding a long history, on both stores.

Fills an SQLite file and a throwaway PostgreSQL cluster (tests/pgcluster.py) with INCIDENTS incidents
(one in a thousand still open), EVENTS timeline events (one incident holds BIG of them), as many sent
outbox rows as events and a delivery key per event (both from the last week: older ones are pruned),
and a finished diagnostics record per incident, in bulk with set-based SQL through the store's own
transactions. Then it times, on each store, what a person or the runtime reads: the open list, the
full list paged (keyset), /incident show of the big incident, /healthz's counts, the start-up reads
and the housekeeping deletes, and finally start-to-ready and idle RSS of `opsbot serve` on the big
SQLite file (and on PostgreSQL).

    python -m benchmarks.store_scale [--incidents 100000] [--events 1000000] [--big 10000] [--reps 200]
"""

from __future__ import annotations

import argparse
import asyncio
import random
import shutil
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from benchmarks.common import percentile, rss_mb, start_opsbot, start_sim, stop
from bot.incidents import render
from bot.incidents.service import SHOW_PAGE
from bot.store import Store, Tx, open_store, queue, repo

OPEN_EVERY = 1000  # one incident in a thousand is still open
SERIES = "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ?) "


async def fill(store: Store, *, incidents: int, events: int, big: int) -> float:
    """Bulk history through the store's transactions; returns the seconds it took."""
    started = time.perf_counter()
    now = time.time()
    span = 365 * 86400.0  # a year of history
    # Delivered outbox rows and delivery keys older than a week are pruned (the outbox's housekeeping),
    # so what a running bot holds of them is the last week's.
    recent = 6 * 86400.0
    mod = "%%" if store.dialect == "postgres" else "%"  # psycopg reads a lone % as a placeholder
    async with store.transaction() as tx:
        await tx.execute(
            SERIES + "INSERT INTO incidents (number, title, severity, status, commander, declared_by,"
            " version, created_at, updated_at, investigating_at, resolved_at)"
            f" SELECT i, 'incident ' || i, 'P' || (1 + i {mod} 3),"
            f" CASE WHEN i {mod} {OPEN_EVERY} = 0 THEN 'investigating' ELSE 'resolved' END,"
            " 'U0COMMAND', 'U0DECLARE', 1, ? + i * ?, ? + i * ?, ? + i * ?,"
            f" CASE WHEN i {mod} {OPEN_EVERY} = 0 THEN NULL ELSE ? + i * ? + 3600 END FROM n",
            (incidents, *([now - span, span / incidents] * 4)),
        )
        await tx.execute("UPDATE counters SET value = ? WHERE name = 'incident'", (incidents,))
        await tx.execute(
            SERIES + "INSERT INTO diagnostic_runs (key, done, record) SELECT 'diag:' || i, 1,"
            ' \'{"scenario": "general", "done": true, "beat": 0, "run": ""}\' FROM n',
            (incidents,),
        )
    big_number = incidents // 2
    step = 200_000
    for first in range(0, events, step):
        count = min(step, events - first)
        async with store.transaction() as tx:
            # Event k belongs to the big incident for k < big, else to incident k % incidents + 1.
            await tx.execute(
                SERIES + "INSERT INTO timeline (incident, kind, actor, text, created_at)"
                f" SELECT CASE WHEN i + ? <= ? THEN ? ELSE (i + ?) {mod} ? + 1 END,"
                " 'note', 'U0NOTE', 'note number ' || (i + ?), ? + (i + ?) * ? FROM n",
                (count, first, big, big_number, first, incidents, first, now - span, first, span / events),
            )
            await tx.execute(
                SERIES + "INSERT INTO outbox (lane, kind, payload, state, attempts, next_attempt_at,"
                f" created_at, sent_at) SELECT 'inc:' || ((i + ?) {mod} ? + 1), 'post',"
                " '{\"text\": \"sent\"}', 'sent', 1,"
                " ? + (i + ?) * ?, ? + (i + ?) * ?, ? + (i + ?) * ? FROM n",
                (count, first, incidents, *([now - recent, first, recent / events] * 3)),
            )
            await tx.execute(
                SERIES
                + "INSERT INTO deliveries (key, received_at) SELECT 'bench:' || (i + ?), ? + (i + ?) * ?"
                " FROM n",
                (count, first, now - recent, first, recent / events),
            )
    return time.perf_counter() - started


async def timed(store: Store, body: Callable[[Tx], Awaitable[Any]], reps: int) -> tuple[float, float]:
    """p50 and p95 in ms of ``body`` run as one transaction, ``reps`` times."""
    took: list[float] = []
    for _ in range(reps):
        started = time.perf_counter()
        async with store.transaction() as tx:
            await body(tx)
        took.append((time.perf_counter() - started) * 1000)
    return percentile(took, 50), percentile(took, 95)


def queries(*, incidents: int, big: int) -> dict[str, Callable[[Tx], Awaitable[Any]]]:
    """What people and the runtime read, each as the bot's own code reads it."""
    big_number = incidents // 2
    rng = random.Random(14)

    async def list_open(tx: Tx) -> None:
        page = await repo.list_incidents(tx, include_resolved=False, limit=50)
        if len(page) == 50:
            await repo.count_incidents(tx, include_resolved=False, before=page[-1].number, at_most=1000)

    async def list_all_paged(tx: Tx) -> None:
        before = rng.randrange(51, incidents + 1)
        page = await repo.list_incidents(tx, include_resolved=True, before=before, limit=50)
        if len(page) == 50:
            await repo.count_incidents(tx, include_resolved=True, before=page[-1].number, at_most=1000)

    async def show(tx: Tx) -> None:
        inc = await repo.get_incident(tx, big_number)
        assert inc is not None
        # The latest page, as /incident show pages it (main's paging: page 1 is the earliest).
        total = await repo.timeline_count(tx, big_number)
        pages = max(1, -(-total // SHOW_PAGE))
        offset = (pages - 1) * SHOW_PAGE
        page = await repo.timeline(tx, big_number, offset=offset, limit=SHOW_PAGE, total=total)
        render.incident_detail(inc, page, page=pages, pages=pages, total=total)

    async def healthz(tx: Tx) -> None:
        await queue.undelivered_count(tx)

    async def start_up(tx: Tx) -> None:
        await repo.unfinished_diagnostics(tx)

    async def housekeeping(tx: Tx) -> None:
        # Nothing is old enough to go: what is timed is finding that out.
        await repo.forget_deliveries(tx, 0.0)
        await queue.forget_sent(tx, 0.0)

    return {
        "list open": list_open,
        "list all, a page": list_all_paged,
        f"show ({big:,} events)": show,
        "healthz counts": healthz,
        "start-up reads": start_up,
        "housekeeping": housekeeping,
    }


async def measure(name: str, url: str, args: argparse.Namespace) -> None:
    store = open_store(url)
    await store.migrate()
    try:
        took = await fill(store, incidents=args.incidents, events=args.events, big=args.big)
        print(f"{name}: filled {args.incidents:,} incidents, {args.events:,} events in {took:.1f}s")
        if store.dialect == "postgres":
            async with store.transaction() as tx:
                await tx.execute("ANALYZE")
        for label, body in queries(incidents=args.incidents, big=args.big).items():
            p50, p95 = await timed(store, body, args.reps)
            print(f"  {label:<22} p50 {p50:7.2f} ms   p95 {p95:7.2f} ms")
    finally:
        await store.close()


def serve_figures(name: str, url: str) -> None:
    """Start-to-ready and idle RSS of `opsbot serve` on ``url``, and on an empty SQLite file beside it."""
    sim, sim_url = start_sim()
    try:
        for label, database in (("an empty SQLite file", None), (name, url)):
            proc, _, ready = start_opsbot(sim_url, database)
            try:
                time.sleep(3)
                rss = rss_mb(proc.pid)
            finally:
                stop(proc)
            print(f"  opsbot serve on {label}: start-to-ready {ready:.2f}s, idle RSS {rss:.1f} MB")
    finally:
        stop(sim)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--incidents", type=int, default=100_000)
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--big", type=int, default=10_000, help="events of the one incident /incident show")
    parser.add_argument("--reps", type=int, default=200)
    parser.add_argument("--no-postgres", action="store_true")
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="opsbot-scale-"))
    sqlite_url = f"sqlite:///{folder}/scale.db"
    try:
        asyncio.run(measure("SQLite", sqlite_url, args))
        serve_figures("the SQLite file", sqlite_url)
        if not args.no_postgres:
            from tests.pgcluster import Cluster

            cluster = Cluster()
            admin = cluster.start()
            try:
                asyncio.run(measure("PostgreSQL", admin, args))
                serve_figures("PostgreSQL", admin)
            finally:
                cluster.stop()
    finally:
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
