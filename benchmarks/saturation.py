"""Saturation: CONNECTIONS clients send `/incident note` back to back for SECONDS, first to a stock Bolt
app that only acks, then to the same app with process_before_response=True, then to `opsbot serve`. For
opsbot a note counts once it is fully processed: acked, stored, and its thread reply delivered to the
Slack stand-in (card edits coalesced). CPU is the server process's own user+system time (all threads)
over the run, divided by the requests it handled.

    python -m benchmarks.saturation [connections] [seconds] [database_url]
"""

from __future__ import annotations

import asyncio
import sys
import time

import aiohttp
import httpx

from benchmarks.common import cpu_seconds, signed_command, start_opsbot, start_sim, start_stock_bolt, stop


async def closed_loop(base: str, sim_url: str, connections: int, seconds: float) -> tuple[int, int, float]:
    acked = errors = 0
    deadline = time.perf_counter() + seconds
    counter = 0
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=connections)) as session:

        async def worker() -> None:
            nonlocal acked, errors, counter
            while time.perf_counter() < deadline:
                counter += 1
                body, headers = signed_command(f"note INC-1 load {counter}", sim_url=sim_url, n=counter)
                try:
                    async with session.post(f"{base}/slack/events", data=body, headers=headers) as response:
                        await response.read()
                        if response.status == 200:
                            acked += 1
                        else:
                            errors += 1
                except aiohttp.ClientError:
                    errors += 1

        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(connections)))
        return acked, errors, time.perf_counter() - started


def sim_stats(sim_url: str) -> dict:
    return dict(httpx.get(f"{sim_url}/_sim/stats", timeout=10).json())


def drained(base: str, within: float = 300) -> float:
    started = time.perf_counter()
    while time.perf_counter() - started < within:
        if httpx.get(f"{base}/healthz", timeout=10).json().get("outbox_pending") == 0:
            return time.perf_counter()
        time.sleep(0.02)
    raise RuntimeError("outbox did not drain")


async def anchor(
    name: str, sim_url: str, connections: int, seconds: float, **kw: bool
) -> tuple[float, float]:
    """Acks per second and CPU ms per ack of a stock Bolt app."""
    proc, url = start_stock_bolt(sim_url, **kw)
    try:
        cpu = cpu_seconds(proc.pid)
        acked, errors, took = await closed_loop(url, sim_url, connections, seconds)
        per = (cpu_seconds(proc.pid) - cpu) / max(acked, 1) * 1000
    finally:
        stop(proc)
    print(
        f"  {name:<22} acked {acked} ({errors} errors) in {took:.1f}s: {acked / took:7.1f} acks/s,"
        f" {per:.3f} ms CPU per ack"
    )
    return acked / took, per


async def main(connections: int, seconds: float, database_url: str | None) -> None:
    sim, sim_url = start_sim()
    opsbot = None
    try:
        print(f"saturation: {connections} connections for {seconds:g}s of /incident note")
        stock_rate, _ = await anchor("stock Bolt", sim_url, connections, seconds)
        pbr_rate, _ = await anchor(
            "Bolt, process_before", sim_url, connections, seconds, before_response=True
        )
        opsbot, opsbot_url, _ = start_opsbot(sim_url, database_url)
        body, headers = signed_command("open P1 checkout broken", sim_url=sim_url, n=0)
        httpx.post(f"{opsbot_url}/slack/events", content=body, headers=headers, timeout=10)
        drained(opsbot_url)
        before = sim_stats(sim_url)
        cpu = cpu_seconds(opsbot.pid)
        started = time.perf_counter()
        acked, errors, took = await closed_loop(opsbot_url, sim_url, connections, seconds)
        ack_rate = acked / took
        finished = drained(opsbot_url)
        per = (cpu_seconds(opsbot.pid) - cpu) / max(acked, 1) * 1000
        after = sim_stats(sim_url)
        replies = after["thread_replies"] - before["thread_replies"]
        edits = after["calls"].get("chat.update", 0) - before["calls"].get("chat.update", 0)
        full_rate = acked / (finished - started)
        print(
            f"  opsbot                 acked {acked} ({errors} errors) in {took:.1f}s: {ack_rate:7.1f} acks/s"
        )
        print(
            f"              all delivered {finished - started - took:.1f}s after the load stopped: "
            f"{full_rate:7.1f} notes/s fully processed, {per:.3f} ms CPU per note (target <= 0.28)"
        )
        print(
            f"              thread replies delivered: {replies} of {acked} acked"
            f" ({'every one' if replies == acked else 'MISSING ' + str(acked - replies)}); "
            f"card edits: {edits} (coalesced)"
        )
        print(f"  fully processed / stock ack-only = {full_rate / stock_rate:.2f} (target >= 1.4)")
        print(f"  fully processed / process_before ack-only = {full_rate / pbr_rate:.2f} (target >= 0.45)")
    finally:
        stop(*(p for p in (opsbot, sim) if p is not None))


if __name__ == "__main__":
    args = sys.argv[1:]
    asyncio.run(
        main(
            int(args[0]) if args else 20,
            float(args[1]) if len(args) > 1 else 10.0,
            args[2] if len(args) > 2 else None,
        )
    )
