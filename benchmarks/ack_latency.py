"""Ack latency at a steady rate: opsbot next to a stock Bolt app, in the same run on the same machine.

Signed `/incident note INC-1 ...` requests are sent open-loop (on a fixed schedule, whatever the answers)
at RATE per second for SECONDS, first to a stock Bolt AsyncApp whose /incident handler only acks, then
to `opsbot serve` (SQLite store, outbox delivering to the Slack stand-in in its own process).

    python benchmarks/ack_latency.py [rate] [seconds]
"""

from __future__ import annotations

import asyncio
import sys
import time

import aiohttp
import httpx

from benchmarks.common import percentile, signed_command, start_opsbot, start_sim, start_stock_bolt, stop


async def open_loop(
    base: str, sim_url: str, rate: float, seconds: float, *, text: str = "note INC-1 steady"
) -> tuple[list[float], int]:
    latencies: list[float] = []
    errors = 0
    interval = 1.0 / rate
    total = int(rate * seconds)
    connector = aiohttp.TCPConnector(limit=0)
    async with aiohttp.ClientSession(connector=connector) as session:

        async def one(n: int) -> None:
            nonlocal errors
            body, headers = signed_command(f"{text} {n}", sim_url=sim_url, n=n)
            started = time.perf_counter()
            try:
                async with session.post(f"{base}/slack/events", data=body, headers=headers) as response:
                    await response.read()
                    if response.status != 200:
                        errors += 1
                        return
            except aiohttp.ClientError:
                errors += 1
                return
            latencies.append(time.perf_counter() - started)

        tasks = []
        begin = time.perf_counter()
        for n in range(total):
            delay = begin + n * interval - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            tasks.append(asyncio.create_task(one(n)))
        await asyncio.gather(*tasks)
    return latencies, errors


def warm(base: str, sim_url: str) -> None:
    for n in range(50):
        body, headers = signed_command(f"note INC-1 warm {n}", sim_url=sim_url, n=n)
        httpx.post(f"{base}/slack/events", content=body, headers=headers, timeout=10)


def declare(base: str, sim_url: str) -> None:
    body, headers = signed_command("open P1 checkout broken", sim_url=sim_url, n=0)
    httpx.post(
        f"{base}/slack/events",
        content=body.replace(b"command=%2Fincident", b"command=%2Fincident"),
        headers=headers,
        timeout=10,
    )


def report(name: str, latencies: list[float], errors: int) -> tuple[float, float]:
    p50, p99 = percentile(latencies, 50) * 1000, percentile(latencies, 99) * 1000
    print(
        f"  {name:<12} n={len(latencies):<5} errors={errors:<3} p50={p50:6.2f} ms  p99={p99:6.2f} ms  "
        f"max={max(latencies) * 1000:6.2f} ms"
    )
    return p50, p99


async def main(rate: float, seconds: float) -> None:
    sim, sim_url = start_sim()
    stock, stock_url = start_stock_bolt(sim_url)
    opsbot, opsbot_url, _ = start_opsbot(sim_url)
    try:
        declare(opsbot_url, sim_url)
        warm(stock_url, sim_url)
        warm(opsbot_url, sim_url)
        print(f"ack latency, open loop at {rate:g}/s for {seconds:g}s (/incident note INC-1 ...)")
        stock_lat, stock_err = await open_loop(stock_url, sim_url, rate, seconds)
        _, stock_p99 = report("stock Bolt", stock_lat, stock_err)
        ops_lat, ops_err = await open_loop(opsbot_url, sim_url, rate, seconds)
        _, ops_p99 = report("opsbot", ops_lat, ops_err)
        print(f"  p99 ratio opsbot/stock = {ops_p99 / stock_p99:.2f} (target <= 0.50)")
    finally:
        stop(opsbot, stock, sim)


if __name__ == "__main__":
    args = sys.argv[1:]
    asyncio.run(main(float(args[0]) if args else 100.0, float(args[1]) if len(args) > 1 else 10.0))
