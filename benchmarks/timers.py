"""Timer overhead: 10,000 pending timers cost nothing measurable on the ack path, and due timers fire
within a second of their due time.

1. Ack path. `opsbot serve` (SQLite) beside a stock Bolt app (the anchor, as in ack_latency.py): signed
   `/incident note INC-1 ...` and `/incident open P2 ...` (which schedules three timers) sent open-loop,
   first with no pending timers, then with 10,000 more pending timers written into its store.
2. Firing. The real Scheduler on a fresh SQLite store with 10,000 timers pending far ahead and 500 coming
   due over the next 10 s, polling as often as `opsbot serve` does: how late each fired.

    python -m benchmarks.timers [rate=50] [seconds=5] [rounds=3]
"""

from __future__ import annotations

import asyncio
import json
import sqlite3
import sys
import tempfile
import time
from pathlib import Path

from benchmarks.ack_latency import declare, open_loop, warm
from benchmarks.common import percentile, start_opsbot, start_sim, start_stock_bolt, stop
from bot.jobs.scheduler import Scheduler, Timer
from bot.runtime import TIMER_POLL
from bot.store import Tx
from bot.store.sqlite import SqliteStore

PENDING = 10_000


def add_pending(db: Path, count: int, *, offset: int = 0) -> None:
    """Write ``count`` timers due in ten days straight into the store, as a long-lived deployment has."""
    conn = sqlite3.connect(db, timeout=30)
    due = time.time() + 10 * 86400
    with conn:
        conn.executemany(
            "INSERT INTO timers (kind, subject, due, generation, payload) VALUES (?, ?, ?, 1, '{}')",
            [("incident.nudge", f"INC-{offset + 100_000 + n}", due + n) for n in range(count)],
        )
    conn.close()


def line(name: str, latencies: list[float], errors: int) -> tuple[float, float]:
    p50, p99 = percentile(latencies, 50) * 1000, percentile(latencies, 99) * 1000
    print(f"  {name:<46} n={len(latencies):<4} errors={errors:<2} p50={p50:6.2f} ms  p99={p99:6.2f} ms")
    return p50, p99


def drop_pending(db: Path) -> None:
    conn = sqlite3.connect(db, timeout=30)
    with conn:
        conn.execute("DELETE FROM timers WHERE subject >= 'INC-100000' AND kind = 'incident.nudge'")
    conn.close()


async def ack_path(rate: float, seconds: float, rounds: int) -> None:
    sim, sim_url = start_sim()
    stock, stock_url = start_stock_bolt(sim_url)
    folder = Path(tempfile.mkdtemp(prefix="opsbot-timers-"))
    db = folder / "bench.db"
    opsbot, opsbot_url, _ = start_opsbot(sim_url, f"sqlite:///{db}")
    opens = "open P2 benchmark incident"
    try:
        declare(opsbot_url, sim_url)
        warm(stock_url, sim_url)
        warm(opsbot_url, sim_url)
        await open_loop(opsbot_url, sim_url, rate / 5, 2, text=opens)  # warm the declare path too
        print(
            f"ack path, open loop at {rate:g}/s (notes) and {rate / 5:g}/s (declares), {seconds:g}s a round"
        )
        line("stock Bolt (ack only)", *await open_loop(stock_url, sim_url, rate, seconds))
        found: dict[str, list[float]] = {}
        # Rounds alternate between 0 and 10,000 pending timers, so a busy moment on the machine
        # lands on both sides rather than on one.
        for n in range(rounds):
            for pending in (0, PENDING):
                if pending:
                    add_pending(db, pending, offset=n * PENDING)
                notes = await open_loop(opsbot_url, sim_url, rate, seconds)
                declares = await open_loop(opsbot_url, sim_url, rate / 5, seconds, text=opens)
                if pending:
                    drop_pending(db)
                found.setdefault(f"note {pending}", []).extend(notes[0])
                found.setdefault(f"open {pending}", []).extend(declares[0])
        for key, latencies in found.items():
            what, pending = key.split()
            label = "note" if what == "note" else "open P2 (schedules 3 timers)"
            line(f"opsbot {label}, {int(pending):,} pending", latencies, 0)
    finally:
        stop(opsbot, stock, sim)


async def firing(due_count: int = 500, spread: float = 10.0) -> None:
    folder = Path(tempfile.mkdtemp(prefix="opsbot-fire-"))
    store = SqliteStore(str(folder / "fire.db"))
    await store.open()
    await store.migrate()
    add_pending(folder / "fire.db", PENDING)
    lateness: list[float] = []
    done = asyncio.Event()

    async def record(tx: Tx, timer: Timer) -> None:
        lateness.append(time.time() - timer.due)
        if len(lateness) == due_count:
            done.set()

    start = time.time() + 1.0
    async with store.transaction() as tx:
        for n in range(due_count):
            await tx.execute(
                "INSERT INTO timers (kind, subject, due, generation, payload) VALUES (?, ?, ?, 1, ?)",
                ("bench.fire", str(n), start + spread * n / due_count, json.dumps({})),
            )
    scheduler = Scheduler(store, handlers={"bench.fire": record}, clock=time.time, poll_interval=TIMER_POLL)
    scheduler.start()
    try:
        await asyncio.wait_for(done.wait(), timeout=spread + 30)
    finally:
        await scheduler.stop()
        await store.close()
    print(f"firing: {due_count} due over {spread:g}s among {PENDING:,} pending, poll every {TIMER_POLL:g}s")
    p50, p99, top = (percentile(lateness, q) * 1000 for q in (50, 99, 100))
    print(f"  lateness p50={p50:.0f} ms  p99={p99:.0f} ms  max={top:.0f} ms (target: under 1 s)")


async def main(rate: float, seconds: float, rounds: int) -> None:
    await ack_path(rate, seconds, rounds)
    await firing()


if __name__ == "__main__":
    args = sys.argv[1:]
    asyncio.run(
        main(
            float(args[0]) if args else 50.0,
            float(args[1]) if len(args) > 1 else 5.0,
            int(args[2]) if len(args) > 2 else 3,
        )
    )
