"""Saturation: CONNECTIONS clients send `/incident note` back to back for SECONDS, first to a stock Bolt
app that only acks, then to `opsbot serve`. For opsbot a note counts once it is fully processed: acked,
stored, and its thread reply delivered to the Slack stand-in (card edits coalesced).

    python benchmarks/saturation.py [connections] [seconds]
"""

from __future__ import annotations

import asyncio
import sys
import time

import aiohttp
import httpx

from benchmarks.common import signed_command, start_opsbot, start_sim, start_stock_bolt, stop


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


async def main(connections: int, seconds: float) -> None:
    sim, sim_url = start_sim()
    stock, stock_url = start_stock_bolt(sim_url)
    opsbot, opsbot_url, _ = start_opsbot(sim_url)
    try:
        body, headers = signed_command("open P1 checkout broken", sim_url=sim_url, n=0)
        httpx.post(f"{opsbot_url}/slack/events", content=body, headers=headers, timeout=10)
        drained(opsbot_url)
        print(f"saturation: {connections} connections for {seconds:g}s of /incident note")
        acked, errors, took = await closed_loop(stock_url, sim_url, connections, seconds)
        stock_rate = acked / took
        print(f"  stock Bolt  acked {acked} ({errors} errors) in {took:.1f}s: {stock_rate:7.1f} acks/s")
        before = sim_stats(sim_url)
        started = time.perf_counter()
        acked, errors, took = await closed_loop(opsbot_url, sim_url, connections, seconds)
        ack_rate = acked / took
        finished = drained(opsbot_url)
        after = sim_stats(sim_url)
        replies = after["thread_replies"] - before["thread_replies"]
        edits = after["calls"].get("chat.update", 0) - before["calls"].get("chat.update", 0)
        full_rate = acked / (finished - started)
        print(f"  opsbot      acked {acked} ({errors} errors) in {took:.1f}s: {ack_rate:7.1f} acks/s")
        print(
            f"              all delivered {finished - started - took:.1f}s after the load stopped: "
            f"{full_rate:7.1f} notes/s fully processed"
        )
        print(
            f"              thread replies delivered: {replies} of {acked} acked"
            f" ({'every one' if replies == acked else 'MISSING ' + str(acked - replies)}); "
            f"card edits: {edits} (coalesced)"
        )
        print(f"  fully processed rate / stock ack-only rate = {full_rate / stock_rate:.2f} (target >= 0.50)")
    finally:
        stop(opsbot, stock, sim)


if __name__ == "__main__":
    args = sys.argv[1:]
    asyncio.run(main(int(args[0]) if args else 20, float(args[1]) if len(args) > 1 else 10.0))
