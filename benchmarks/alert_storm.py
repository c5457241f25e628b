"""An alert storm: 1,000 Alertmanager webhooks for 100 distinct alerts, acked fast, posted once each.

Open loop at RATE per second. The anchor, in the same run on the same machine: a stock Bolt app acking
signed slash commands at the same rate. Then it waits for opsbot's outbox to drain and counts the
messages the Slack stand-in received: 100 alerts should make 100 messages, however often each repeats.

    python benchmarks/alert_storm.py [webhooks] [distinct] [rate]
"""

from __future__ import annotations

import asyncio
import copy
import json
import sys
import time
from pathlib import Path
from typing import Any

import aiohttp
import httpx

from benchmarks.common import percentile, signed_command, start_opsbot, start_sim, start_stock_bolt, stop

TOKEN = "benchmark-alertmanager-token"
REFERENCE = Path(__file__).resolve().parents[2] / "shared" / "reference" / "alertmanager" / "firing.json"


def webhook(n: int, distinct: int) -> bytes:
    data: dict[str, Any] = json.loads(REFERENCE.read_text())
    data = copy.deepcopy(data)
    alert = data["alerts"][0]
    alert["fingerprint"] = f"storm{n % distinct:04d}"
    alert["labels"]["instance"] = f"edge-{n % distinct}"
    return json.dumps(data).encode()


async def storm(url: str, bodies: list[tuple[bytes, dict[str, str]]], rate: float) -> tuple[list[float], int]:
    latencies: list[float] = []
    errors = 0
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0)) as session:

        async def one(body: bytes, headers: dict[str, str]) -> None:
            nonlocal errors
            started = time.perf_counter()
            try:
                async with session.post(url, data=body, headers=headers) as response:
                    await response.read()
                    if response.status >= 300:
                        errors += 1
                        return
            except aiohttp.ClientError:
                errors += 1
                return
            latencies.append(time.perf_counter() - started)

        begin = time.perf_counter()
        tasks = []
        for n, (body, headers) in enumerate(bodies):
            delay = begin + n / rate - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            tasks.append(asyncio.create_task(one(body, headers)))
        await asyncio.gather(*tasks)
    return latencies, errors


def posts(sim_url: str) -> int:
    return int(httpx.get(f"{sim_url}/_sim/stats").json()["calls"].get("chat.postMessage", 0))


def drained(sim_url: str, expected: int, within: float = 60.0) -> float:
    started = time.perf_counter()
    while time.perf_counter() - started < within and posts(sim_url) < expected:
        time.sleep(0.1)
    time.sleep(1.0)  # anything more would be a duplicate: give it a moment to show up
    return time.perf_counter() - started


def line(name: str, latencies: list[float], errors: int) -> float:
    p50, p99 = percentile(latencies, 50) * 1000, percentile(latencies, 99) * 1000
    print(f"  {name:<22} n={len(latencies):<5} errors={errors:<3} p50={p50:6.2f} ms  p99={p99:6.2f} ms")
    return p99


async def main(total: int, distinct: int, rate: float) -> None:
    sim, sim_url = start_sim()
    stock, stock_url = start_stock_bolt(sim_url)
    opsbot, opsbot_url, _ = start_opsbot(sim_url, ALERTMANAGER_TOKEN=TOKEN)
    try:
        print(
            f"alert storm: {total} Alertmanager webhooks, {distinct} distinct alerts, open loop at {rate:g}/s"
        )
        commands = [signed_command(f"note INC-1 storm {n}", sim_url=sim_url, n=n) for n in range(total)]
        stock_lat, stock_err = await storm(f"{stock_url}/slack/events", commands, rate)
        line("stock Bolt (anchor)", stock_lat, stock_err)
        auth = {"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/json"}
        hooks = [(webhook(n, distinct), auth) for n in range(total)]
        ops_lat, ops_err = await storm(f"{opsbot_url}/hooks/alertmanager", hooks, rate)
        p99 = line("opsbot /hooks/alertmanager", ops_lat, ops_err)
        took = drained(sim_url, distinct)
        made = posts(sim_url)
        print(
            f"  p99 {p99:.2f} ms (target < 50 ms); messages posted: {made} for {distinct} alerts "
            f"(target {distinct}); outbox drained in {took:.1f} s"
        )
    finally:
        stop(opsbot, stock, sim)


if __name__ == "__main__":
    args = sys.argv[1:]
    asyncio.run(
        main(
            int(args[0]) if args else 1000,
            int(args[1]) if len(args) > 1 else 100,
            float(args[2]) if len(args) > 2 else 200.0,
        )
    )
