"""Atlassian Statuspage v2 JSON from what was published (pure): same field names, same value domains,
so tools that read a Statuspage read opsbot's too."""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from bot.public.model import (
    DESCRIPTION,
    ComponentSpec,
    PageInfo,
    PublicIncident,
    component_status,
    indicator,
)


def iso(at: float | None) -> str | None:
    """Statuspage's times: ISO 8601 with milliseconds and an offset."""
    if at is None:
        return None
    return datetime.fromtimestamp(at, UTC).isoformat(timespec="milliseconds")


def slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-") or "page"


def page(info: PageInfo, updated_at: float) -> dict[str, Any]:
    return {
        "id": slug(info.name),
        "name": info.name,
        "url": info.url,
        "time_zone": "Etc/UTC",
        "updated_at": iso(updated_at),
    }


def components(
    specs: Sequence[ComponentSpec], incidents: Sequence[PublicIncident], info: PageInfo, now: float
) -> list[dict[str, Any]]:
    return [
        {
            "id": slug(spec.name),
            "name": spec.name,
            "status": component_status(spec, incidents).value,
            "created_at": iso(0.0),
            "updated_at": iso(_component_updated(spec, incidents) or now),
            "position": spec.position,
            "description": None,
            "showcase": True,
            "start_date": None,
            "group_id": None,
            "page_id": slug(info.name),
            "group": False,
            "only_show_if_degraded": False,
        }
        for spec in specs
    ]


def _component_updated(spec: ComponentSpec, incidents: Sequence[PublicIncident]) -> float | None:
    times = [i.updated_at for i in incidents if i.scenario in spec.scenarios]
    return max(times) if times else None


def incident(inc: PublicIncident, specs: Sequence[ComponentSpec], info: PageInfo) -> dict[str, Any]:
    affected = [s for s in specs if inc.scenario in s.scenarios]
    return {
        "id": f"inc{inc.number}",
        "name": inc.name,
        "status": inc.status,
        "created_at": iso(inc.created_at),
        "updated_at": iso(inc.updated_at),
        "monitoring_at": iso(inc.monitoring_at),
        "resolved_at": iso(inc.resolved_at),
        "impact": inc.impact.value,
        "shortlink": f"{info.url.rstrip('/')}/status#inc{inc.number}",
        "started_at": iso(inc.created_at),
        "page_id": slug(info.name),
        "incident_updates": [
            {
                "id": f"upd{u.id}",
                "status": u.status,
                "body": u.body,
                "incident_id": f"inc{inc.number}",
                "created_at": iso(u.created_at),
                "updated_at": iso(u.created_at),
                "display_at": iso(u.created_at),
                "affected_components": [
                    {"code": slug(s.name), "name": s.name, "old_status": None, "new_status": None}
                    for s in affected
                ],
                "deliver_notifications": True,
                "custom_tweet": None,
                "tweet_id": None,
            }
            for u in sorted(inc.updates, key=lambda u: u.created_at, reverse=True)
        ],
        "components": [{"id": slug(s.name), "name": s.name} for s in affected],
    }


def status(incidents: Sequence[PublicIncident]) -> dict[str, str]:
    level = indicator(incidents)
    return {"indicator": level.value, "description": DESCRIPTION[level]}


def summary(
    info: PageInfo, specs: Sequence[ComponentSpec], incidents: Sequence[PublicIncident], now: float
) -> dict[str, Any]:
    """``/api/v2/summary.json``: the page, its components, unresolved incidents and the indicator."""
    unresolved = [i for i in incidents if i.unresolved]
    return {
        "page": page(info, _updated(incidents, now)),
        "components": components(specs, incidents, info, now),
        "incidents": [incident(i, specs, info) for i in unresolved],
        "scheduled_maintenances": [],
        "status": status(incidents),
    }


def _updated(incidents: Sequence[PublicIncident], now: float) -> float:
    return max((i.updated_at for i in incidents), default=now)
