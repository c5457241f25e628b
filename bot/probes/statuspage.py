"""Dependencies' public status pages: Atlassian Statuspage v2, Stripe's own format, Slack's API."""

from __future__ import annotations

from typing import Any

import httpx

from bot.probes import Result, State, unknown

_INDICATOR = {
    "none": State.OK,
    "minor": State.WARN,
    "maintenance": State.WARN,
    "major": State.FAIL,
    "critical": State.FAIL,
}
_COMPONENT_BAD = {"degraded_performance", "partial_outage", "major_outage", "under_maintenance"}


async def _json(http: httpx.AsyncClient, url: str) -> Any:
    response = await http.get(url, headers={"Accept": "application/json"})
    if response.status_code != 200:
        raise _Unknown(f"HTTP {response.status_code} from the status page")
    if "json" not in response.headers.get("content-type", "") and not response.text.lstrip().startswith("{"):
        raise _Unknown("the status page answered with something other than JSON")
    try:
        return response.json()
    except ValueError:
        raise _Unknown("the status page answered with something other than JSON") from None


class _Unknown(Exception):
    pass


async def statuspage(http: httpx.AsyncClient, name: str, base_url: str) -> Result:
    """An Atlassian Statuspage (GitHub, Sentry, Supabase...): summary.json's indicator and components."""
    check = f"{name} status"
    link = base_url.rstrip("/")
    try:
        data = await _json(http, f"{link}/api/v2/summary.json")
        indicator = data["status"]["indicator"]
        description = str(data["status"].get("description") or indicator)
    except _Unknown as exc:
        return unknown(check, str(exc))
    except (KeyError, TypeError):
        return unknown(check, "summary.json has no status.indicator")
    state = _INDICATOR.get(str(indicator))
    if state is None:
        return unknown(check, f"unknown indicator {indicator!r}")
    details = [
        f"{c.get('name')}: {str(c.get('status')).replace('_', ' ')}"
        for c in data.get("components") or []
        if isinstance(c, dict) and c.get("status") in _COMPONENT_BAD
    ]
    details += [
        f"incident: {i.get('name')} ({i.get('status')})"
        for i in data.get("incidents") or []
        if isinstance(i, dict)
    ]
    return Result(
        check,
        state,
        description,
        figure=str(indicator),
        threshold="indicator none",
        details=tuple(details[:10]),
        link=link,
    )


_STRIPE = {"up": State.OK, "degraded": State.WARN, "down": State.FAIL}


async def stripe_status(http: httpx.AsyncClient, name: str, base_url: str) -> Result:
    """Stripe's own status format at /current (not a Statuspage: /api/v2/status.json is not trusted)."""
    check = f"{name} status"
    link = base_url.rstrip("/")
    try:
        data = await _json(http, f"{link}/current")
        overall = str(data["largestatus"])
        statuses = data.get("statuses") or {}
    except _Unknown as exc:
        return unknown(check, str(exc))
    except (KeyError, TypeError):
        return unknown(check, "no largestatus in Stripe's answer")
    state = _STRIPE.get(overall)
    if state is None:
        return unknown(check, f"unknown Stripe status {overall!r}")
    details = tuple(f"{k}: {v}" for k, v in statuses.items() if v != "up")
    return Result(
        check,
        state,
        str(data.get("message") or overall),
        figure=overall,
        threshold="up",
        details=details,
        link=link,
    )


_SLACK = {"ok": State.OK, "active": State.WARN, "broken": State.FAIL}


async def slack_status(http: httpx.AsyncClient, name: str, base_url: str) -> Result:
    """Slack's status API: api/v2.0.0/current."""
    check = f"{name} status"
    link = base_url.rstrip("/")
    try:
        data = await _json(http, f"{link}/api/v2.0.0/current")
        overall = str(data["status"])
    except _Unknown as exc:
        return unknown(check, str(exc))
    except (KeyError, TypeError):
        return unknown(check, "no status in Slack's answer")
    state = _SLACK.get(overall)
    if state is None:
        return unknown(check, f"unknown Slack status {overall!r}")
    incidents = [i for i in data.get("active_incidents") or [] if isinstance(i, dict)]
    summary = "all good" if not incidents else f"{len(incidents)} active incident(s)"
    details = tuple(f"{i.get('title')} ({', '.join(i.get('services') or [])})" for i in incidents)
    return Result(check, state, summary, figure=overall, threshold="ok", details=details, link=link)
