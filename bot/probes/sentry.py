"""Sentry: new unresolved issues and the event rate against the hours before it (a spike)."""

from __future__ import annotations

import time
from typing import Any

import httpx

from bot.probes import Result, State, grade, unknown
from bot.settings import Thresholds


class SentryApi:
    def __init__(self, http: httpx.AsyncClient, *, api_url: str, token: str, org: str, project: str) -> None:
        self.http = http
        self.base = api_url.rstrip("/")
        self.headers = {"Authorization": f"Bearer {token}"}
        self.org = org
        self.project = project

    async def get(self, path: str, params: dict[str, Any]) -> Any:
        response = await self.http.get(f"{self.base}/{path}", params=params, headers=self.headers)
        if response.status_code in (401, 403):
            raise _Refused("Sentry refused the token (it needs event:read and project:read)")
        if response.status_code != 200:
            raise _Refused(f"Sentry answered HTTP {response.status_code}")
        return response.json()


class _Refused(Exception):
    pass


async def new_issues(api: SentryApi) -> Result:
    name = "Sentry new issues (24h)"
    try:
        issues = await api.get(
            f"projects/{api.org}/{api.project}/issues/",
            {"query": "is:unresolved firstSeen:-24h", "sort": "freq", "statsPeriod": "24h", "limit": 10},
        )
    except _Refused as exc:
        return unknown(name, str(exc))
    if not isinstance(issues, list):
        return unknown(name, "unexpected answer from Sentry")
    serious = [i for i in issues if i.get("level") in ("error", "fatal")]
    details = tuple(
        f"{i.get('shortId') or i.get('id')} {i.get('title')} ({i.get('count')} events, "
        f"{i.get('userCount', 0)} users) <{i.get('permalink')}|open>"
        for i in issues[:5]
    )
    state = State.WARN if serious else State.OK
    summary = f"{len(issues)} new unresolved ({len(serious)} error/fatal)" if issues else "none"
    link = f"{api.base.removesuffix('/api/0')}/organizations/{api.org}/issues/?query=is%3Aunresolved"
    return Result(name, state, summary, str(len(issues)), "no new error-level issues", details, link)


async def error_spike(api: SentryApi, t: Thresholds, *, now: float | None = None) -> Result:
    name = "Sentry error rate"
    now = time.time() if now is None else now
    try:
        stats = await api.get(
            f"projects/{api.org}/{api.project}/stats/",
            {"stat": "received", "resolution": "1h", "since": int(now - 25 * 3600), "until": int(now)},
        )
    except _Refused as exc:
        return unknown(name, str(exc))
    if not isinstance(stats, list) or len(stats) < 2:
        return unknown(name, "Sentry returned too little history to compare")
    counts = [float(point[1]) for point in stats]
    last, before = counts[-1], counts[:-1]
    baseline = sum(before) / len(before)
    threshold = f"under {t.error_spike_factor:g}× the hourly average"
    if baseline == 0:
        state = State.WARN if last > 0 else State.OK
        return Result(
            name, state, "events where there were none" if last else "quiet", f"{last:.0f}/h", threshold
        )
    ratio = last / baseline
    state = grade(ratio, warn=t.error_spike_factor, fail=2 * t.error_spike_factor)
    summary = f"{ratio:.1f}× the hourly average ({baseline:.0f}/h)"
    return Result(name, state, summary, f"{last:.0f}/h", threshold)
