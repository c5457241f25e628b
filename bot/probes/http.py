"""The app itself: status code and latency of APP_URL and any configured endpoints."""

from __future__ import annotations

import time

import httpx

from bot.probes import Result, State


async def endpoint(http: httpx.AsyncClient, url: str, *, p95_s: float) -> Result:
    """One GET: 5xx is FAIL, 4xx WARN, slower than the runbook's P95 target WARN."""
    name = f"App {_short(url)}"
    started = time.monotonic()
    response = await http.get(url, follow_redirects=True)
    took = time.monotonic() - started
    figure = f"HTTP {response.status_code} in {took * 1000:.0f} ms"
    threshold = f"2xx/3xx within {p95_s:g}s (P95 target)"
    if response.status_code >= 500:
        return Result(name, State.FAIL, f"server error {response.status_code}", figure, threshold, link=url)
    if response.status_code >= 400:
        return Result(name, State.WARN, f"client error {response.status_code}", figure, threshold, link=url)
    if took > p95_s:
        return Result(name, State.WARN, "slower than the P95 target", figure, threshold, link=url)
    return Result(name, State.OK, "up", figure, threshold, link=url)


def _short(url: str) -> str:
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    return f"{parts.hostname or ''}{parts.path if parts.path not in ('', '/') else ''}"
