"""How long `/ops status` takes: about its slowest probe, not the sum; a hanging probe is cut.

Runs the real catalog of probes against an httpx MockTransport that answers each status page, the
shop and Sentry after an injected delay. Prints figures; asserts nothing.

    python benchmarks/ops_status.py
"""

from __future__ import annotations

import asyncio
import time

import httpx

from bot.probes import gather
from bot.probes.catalog import STATUS_KEYS, Catalog
from bot.settings import Settings, StatusPage

DELAYS = {  # seconds each fake service takes to answer
    "githubstatus.test": 0.40,
    "sentrystatus.test": 0.25,
    "supabasestatus.test": 0.30,
    "stripestatus.test": 0.35,
    "slackstatus.test": 0.20,
    "shop.test": 0.45,
    "sentry.test": 0.50,
}


async def handler(request: httpx.Request) -> httpx.Response:
    await asyncio.sleep(DELAYS.get(request.url.host, 0.0))
    path = request.url.path
    if path.endswith("summary.json"):
        return httpx.Response(
            200, json={"status": {"indicator": "none", "description": "ok"}, "components": []}
        )
    if path == "/current":
        return httpx.Response(200, json={"largestatus": "up", "message": "ok", "statuses": {}})
    if path.endswith("/current"):
        return httpx.Response(200, json={"status": "ok", "active_incidents": []})
    if path.endswith("/stats/"):
        return httpx.Response(200, json=[[i, 10] for i in range(25)])
    if path.endswith("/issues/"):
        return httpx.Response(200, json=[])
    return httpx.Response(200, text="ok")


def settings(timeout: float) -> Settings:
    pages = [
        StatusPage(name=n, url=f"https://{h}", kind=k)
        for n, h, k in [
            ("GitHub", "githubstatus.test", "statuspage"),
            ("Sentry", "sentrystatus.test", "statuspage"),
            ("Supabase", "supabasestatus.test", "statuspage"),
            ("Stripe", "stripestatus.test", "stripe"),
            ("Slack", "slackstatus.test", "slack"),
        ]
    ]
    return Settings(
        status_pages=pages,
        app_url="https://shop.test/",
        sentry_auth_token="x",
        sentry_org="o",
        sentry_project="p",
        sentry_api_url="https://sentry.test/api/0/",
        probe_timeout_s=timeout,
    )


async def run(timeout: float) -> tuple[float, int]:
    async with httpx.AsyncClient(transport=httpx.MockTransport(handler)) as http:
        catalog = Catalog(settings(timeout), http)
        probes = catalog.probes(STATUS_KEYS)
        started = time.perf_counter()
        results = await gather(probes, timeout)
        return time.perf_counter() - started, len(results)


async def main() -> None:
    slowest = max(DELAYS.values())
    total = sum(DELAYS.values()) + DELAYS["sentry.test"]  # two Sentry probes
    runs = [await run(5.0) for _ in range(5)]
    best = min(t for t, _ in runs)
    print(f"/ops status, {runs[0][1]} results, injected latencies {min(DELAYS.values()):.2f}-{slowest:.2f}s")
    print(f"  slowest probe: {slowest:.2f}s   sum of probes: {total:.2f}s")
    print(
        f"  measured: best {best:.3f}s, median {sorted(t for t, _ in runs)[2]:.3f}s "
        f"({best / slowest:.2f}x the slowest, {best / total:.2f}x the sum)"
    )
    DELAYS["shop.test"] = 60.0  # the app hangs
    hung, _ = await run(1.0)
    print(
        f"  with the app hanging and a 1.0s probe timeout: {hung:.3f}s (cut at the timeout, reported UNKNOWN)"
    )


if __name__ == "__main__":
    asyncio.run(main())
