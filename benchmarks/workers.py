"""`opsbot serve --workers N`: the saturation load (CONNECTIONS clients sending `/incident note` back to
back for SECONDS) against one worker, then against N, on one store (a fresh SQLite file in WAL mode each,
or DATABASE_URL's PostgreSQL). A note counts once it is acked, stored and its thread reply delivered.
CPU is that of the whole pool (parent and workers), per note.

The load generator, the Slack stand-in and the workers share the machine's cores: on a machine with
fewer cores than workers + 1 the figures show how the pool shares them, not how it scales.

    python -m benchmarks.workers [workers=2] [connections=20] [seconds=10] [database_url]
"""

from __future__ import annotations

import asyncio
import os
import sys
import time

import httpx

from benchmarks.common import pool_cpu_seconds, signed_command, start_opsbot, start_sim, stop
from benchmarks.saturation import closed_loop, drained, sim_stats


def fresh_database(database_url: str | None) -> str | None:
    """A new empty database on DATABASE_URL's server for each run (None: a new SQLite file)."""
    if database_url is None:
        return None
    from tests.pgcluster import create_database

    return create_database(database_url, prefix="workers")


async def one_pool(
    workers: int, sim_url: str, connections: int, seconds: float, database_url: str | None
) -> tuple[float, float, float]:
    """Fully processed notes/s, acks/s and CPU ms per note for a pool of ``workers``."""
    proc, base, _ = start_opsbot(sim_url, fresh_database(database_url), args=("--workers", str(workers)))
    try:
        body, headers = signed_command("open P1 checkout broken", sim_url=sim_url, n=0)
        httpx.post(f"{base}/slack/events", content=body, headers=headers, timeout=10)
        drained(base)
        time.sleep(1)  # every worker up (the first answer may come before the others listen)
        before = sim_stats(sim_url)
        cpu = pool_cpu_seconds(proc.pid)
        started = time.perf_counter()
        acked, errors, took = await closed_loop(base, sim_url, connections, seconds)
        finished = drained(base)
        per = (pool_cpu_seconds(proc.pid) - cpu) / max(acked, 1) * 1000
        replies = sim_stats(sim_url)["thread_replies"] - before["thread_replies"]
        full = acked / (finished - started)
        print(
            f"  {workers} worker(s): acked {acked} ({errors} errors) {acked / took:7.1f} acks/s,"
            f" {full:7.1f} notes/s fully processed, {per:.3f} ms CPU per note (pool),"
            f" thread replies {replies} of {acked}"
        )
        return full, acked / took, per
    finally:
        stop(proc)


async def main(workers: int, connections: int, seconds: float, database_url: str | None) -> None:
    sim, sim_url = start_sim()
    try:
        store = "PostgreSQL" if database_url else "SQLite (WAL)"
        print(
            f"workers: {connections} connections for {seconds:g}s of /incident note, {store},"
            f" {os.cpu_count()} cores, load average {os.getloadavg()[0]:.2f}"
        )
        one, _, _ = await one_pool(1, sim_url, connections, seconds, database_url)
        many, _, _ = await one_pool(workers, sim_url, connections, seconds, database_url)
        print(f"  {workers} workers / 1 worker = {many / one:.2f}x fully processed notes/s")
    finally:
        stop(sim)


if __name__ == "__main__":
    args = sys.argv[1:]
    asyncio.run(
        main(
            int(args[0]) if args else 2,
            int(args[1]) if len(args) > 1 else 20,
            float(args[2]) if len(args) > 2 else 10.0,
            args[3] if len(args) > 3 else None,
        )
    )
