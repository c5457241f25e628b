"""Soak: two `opsbot serve` on one PostgreSQL plus one `opsbot socket` (its own database on the same
server), driven by signed requests with tracked effects while processes are killed and frozen, the
store restarts and Slack turns slow (benchmarks/soak_faults.py). At the end it reconciles what each
ack promised against what the Slack stand-in recorded and the store holds, and prints the table of
issue 16. Loopback only; bounded by --duration and --max-requests; stops by itself.

    python -m benchmarks.soak [--duration 480] [--rate 35] [--no-faults] [--json out.json]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any

from benchmarks.soak_faults import Faults
from benchmarks.soak_load import Load, Side
from benchmarks.soak_procs import ROOT, Bot, Postgres, Sim, connect
from benchmarks.soak_report import Reckoning, gather, reckon, table

log = logging.getLogger("soak")
DRAIN_WITHIN = 180.0


def _args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="benchmarks.soak", description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=float, default=480.0, help="seconds of load (default 480)")
    parser.add_argument("--rate", type=float, default=35.0, help="requests a second (default 35)")
    parser.add_argument(
        "--max-requests",
        type=int,
        default=0,
        help="stop after this many requests, retries included (default: 3 x rate x duration)",
    )
    parser.add_argument("--socket-share", type=float, default=0.2, help="share of jobs sent over Socket Mode")
    parser.add_argument(
        "--no-faults", action="store_true", help="load only: no kills, no store or Slack faults"
    )
    parser.add_argument("--seed", type=int, default=16)
    parser.add_argument(
        "--card-grace",
        type=float,
        default=0.0,
        help="seconds people wait after a card appears before using its thread (default 0: at once)",
    )
    parser.add_argument("--json", type=Path, help="also write the figures here")
    return parser.parse_args(argv)


def _revision() -> str:
    found = subprocess.run(
        ["git", "describe", "--always", "--dirty"], cwd=ROOT, capture_output=True, text=True, check=False
    )
    return found.stdout.strip() or "unknown"


def _owed(database_url: str) -> int:
    """Outbox items not yet sent or given up (state names kept loose: the schema may grow)."""
    try:
        with connect(database_url) as conn:
            row = conn.execute(
                "SELECT count(*) FROM outbox WHERE state NOT IN ('sent', 'failed', 'superseded')"
            ).fetchone()
    except Exception as exc:  # the store may be restarting; ask again
        log.warning("soak: cannot count the outbox yet: %r", exc)
        return -1
    return int(row[0]) if row else 0


async def _drain(databases: list[str], within: float = DRAIN_WITHIN) -> float:
    """Wait until every outbox is empty for 3 s running; returns seconds waited."""
    started = time.monotonic()
    empty_since: float | None = None
    while time.monotonic() - started < within:
        owed = [await asyncio.to_thread(_owed, url) for url in databases]
        if all(n == 0 for n in owed):
            empty_since = empty_since or time.monotonic()
            if time.monotonic() - empty_since >= 3:
                break
        else:
            empty_since = None
        await asyncio.sleep(0.5)
    else:
        for url in databases:
            with connect(url) as conn:
                states = conn.execute("SELECT state, count(*) FROM outbox GROUP BY state").fetchall()
                rows = conn.execute(
                    "SELECT id, state, kind, lane, attempts, last_error,"
                    " round((next_attempt_at - extract(epoch from now()))::numeric, 1)"
                    " FROM outbox WHERE state NOT IN ('sent', 'failed', 'superseded') ORDER BY id LIMIT 5"
                ).fetchall()
                leases = conn.execute("SELECT * FROM leases").fetchall()
            log.warning(
                "soak: %s still owed after %.0fs: %s; first: %s; leases: %s",
                url.rsplit("/", 1)[1],
                within,
                states,
                rows,
                leases,
            )
    return time.monotonic() - started


async def _sample_load(into: list[float]) -> None:
    """The machine's 1-minute load average every 10 s: the figures mean little on a starved machine."""
    while True:
        into.append(round(os.getloadavg()[0], 1))
        await asyncio.sleep(10)


async def _setup(load: Load, sides: list[Side]) -> None:
    """Three incidents per side whose status changes, four that only get notes; wait for their cards."""
    for side in sides:
        for _ in range(3):
            await load.declare(side, pool="statuses")
        for _ in range(4):
            await load.declare(side)
    deadline = time.monotonic() + 30
    while any(s.awaiting for s in sides) and time.monotonic() < deadline:
        await asyncio.sleep(0.2)


async def soak(args: argparse.Namespace) -> dict[str, Any]:
    folder = Path(tempfile.mkdtemp(prefix="opsbot-soak-"))
    print(f"soak: logs in {folder}", flush=True)
    pg = Postgres()
    sim: Sim | None = None
    bots: list[Bot] = []
    try:
        http_db, socket_db = pg.database("soak_http"), pg.database("soak_socket")
        sim = Sim(folder)
        sim.post("/_sim/channels", {"id": "C0SOCKET", "name": "socket-incidents"})
        bots = [
            Bot("serve-a", "serve", database_url=http_db, channel="C0INCIDENT", sim=sim, folder=folder),
            Bot("serve-b", "serve", database_url=http_db, channel="C0INCIDENT", sim=sim, folder=folder),
        ]
        sides = [Side("http", "C0INCIDENT", "H")]
        if args.socket_share > 0:
            bots.append(
                Bot("socket", "socket", database_url=socket_db, channel="C0SOCKET", sim=sim, folder=folder)
            )
            sides.append(Side("socket", "C0SOCKET", "S"))
        for bot in bots:  # one after the other: the first one migrates the store
            await asyncio.to_thread(bot.start)
        load = Load(sim_url=sim.url, serve=bots[:2], sides=sides, seed=args.seed, card_grace=args.card_grace)
        watcher = asyncio.create_task(load.watch_cards())
        await _setup(load, sides)
        databases = [http_db, socket_db][: len(sides)]
        faults = Faults(bots, sim, pg, databases, args.duration, seed=args.seed)
        fault_task = None if args.no_faults else asyncio.create_task(faults.run())
        loads: list[float] = []
        sampler = asyncio.create_task(_sample_load(loads))
        max_requests = args.max_requests or int(args.rate * args.duration * 3) + 100
        took = await load.run(
            seconds=args.duration, rate=args.rate, max_requests=max_requests, socket_share=args.socket_share
        )
        sampler.cancel()
        if fault_task is not None:
            fault_task.cancel()
            await asyncio.gather(fault_task, return_exceptions=True)
        await faults.calm()
        for bot in bots:
            if not bot.up:
                await faults.restart(bot)
        left = await load.finish()
        drained = await _drain(databases)
        watcher.cancel()
        await load.close()
        results = {
            s.name: reckon(s.name, load.promises, gather(sim, s.channel, db))
            for s, db in zip(sides, databases, strict=True)
        }
        state = sim.get("/_sim/state")
        report = {
            "revision": _revision(),
            "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
            "seconds": round(took, 1),
            "rate": args.rate,
            "faults": not args.no_faults,
            "requests": load.requests,
            "load_average": {
                "mean": round(sum(loads) / max(1, len(loads)), 1),
                "max": max(loads, default=0.0),
                "cores": os.cpu_count(),
            },
            "in_flight_at_end": left,
            "drain_seconds": round(drained, 1),
            "kills": {b.name: b.kills for b in bots},
            "happened": faults.happened,
            "counts": {s.name: s.counts for s in sides},
            "sim": state,
            "results": {k: asdict(v) for k, v in results.items()},
        }
        _print(report, results)
        return report
    finally:
        for bot in bots:
            bot.stop()
        if sim is not None:
            sim.stop()
        pg.stop(keep_log_in=folder)


def _print(report: dict[str, Any], results: dict[str, Reckoning]) -> None:
    print(
        f"\nsoak {report['revision']} {report['date']}: {report['seconds']}s at {report['rate']}/s,"
        f" {report['requests']} requests, faults {'on' if report['faults'] else 'off'};"
        f" drained {report['drain_seconds']}s after the load stopped;"
        f" load average {report['load_average']['mean']} (max {report['load_average']['max']})"
        f" on {report['load_average']['cores']} cores"
    )
    for at, what in report["happened"]:
        print(f"  {at:7.1f}s  {what}")
    print()
    print(table(results))
    for side, r in results.items():
        extra = ", ".join(f"{k}: {v}" for k, v in sorted(r.details.items()) if v)
        print(f"\n{side}: {extra or 'nothing else to note'}")
        for what, examples in sorted(r.examples.items()):
            print(f"  e.g. {what}: {', '.join(examples)}")
    print(f"\nsim: {json.dumps(report['sim'])}")


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(level=logging.WARNING, format="%(message)s", stream=sys.stderr)
    args = _args(argv)
    report = asyncio.run(soak(args))
    if args.json:
        args.json.write_text(json.dumps(report, indent=2, default=str))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
