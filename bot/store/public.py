"""Every query about what was published: drafts awaiting Publish, publications, public incidents.

The page reads unresolved public incidents and the latest resolved ones by index, and the updates of
those few incidents: flat in history however many incidents there ever were.
"""

from __future__ import annotations

from collections.abc import Sequence

from bot.public.model import Impact, PublicIncident, PublicUpdate
from bot.store import Row, Tx

RECENT_RESOLVED = 10
UPDATES_PER_INCIDENT = 50


async def add_draft(tx: Tx, *, incident: int, body: str, by: str, at: float) -> int:
    row = await tx.fetchone(
        "INSERT INTO publication_drafts (incident, body, requested_by, created_at) VALUES (?, ?, ?, ?)"
        " RETURNING id",
        (incident, body, by, at),
    )
    assert row is not None
    return int(row["id"])


async def claim_draft(tx: Tx, *, draft_id: int, by: str, not_before: float, at: float) -> Row | None:
    """The draft, used up by this call; None if it was used, is someone else's, or has expired."""
    touched = await tx.execute(
        "UPDATE publication_drafts SET used_at = ? WHERE id = ? AND used_at IS NULL AND requested_by = ?"
        " AND created_at >= ?",
        (at, draft_id, by, not_before),
    )
    if not touched:
        return None
    return await tx.fetchone("SELECT * FROM publication_drafts WHERE id = ?", (draft_id,))


async def draft(tx: Tx, draft_id: int) -> Row | None:
    return await tx.fetchone("SELECT * FROM publication_drafts WHERE id = ?", (draft_id,))


async def public_incident(tx: Tx, number: int) -> Row | None:
    return await tx.fetchone("SELECT * FROM public_incidents WHERE incident = ?", (number,))


async def publish(
    tx: Tx,
    *,
    number: int,
    name: str,
    status: str,
    impact: Impact,
    scenario: str | None,
    body: str,
    by: str,
    at: float,
) -> int:
    """Add an update; the public incident is created by the first and follows each later one."""
    row = await tx.fetchone(
        "INSERT INTO publications (incident, status, body, published_by, created_at) VALUES (?, ?, ?, ?, ?)"
        " RETURNING id",
        (number, status, body, by, at),
    )
    assert row is not None
    monitoring = at if status == "monitoring" else None
    resolved = at if status == "resolved" else None
    await tx.execute(
        "INSERT INTO public_incidents (incident, name, status, impact, scenario, created_at, updated_at,"
        " monitoring_at, resolved_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"
        " ON CONFLICT (incident) DO UPDATE SET status = excluded.status, impact = excluded.impact,"
        " scenario = excluded.scenario, updated_at = excluded.updated_at,"
        " monitoring_at = COALESCE(public_incidents.monitoring_at, excluded.monitoring_at),"
        " resolved_at = excluded.resolved_at",
        (number, name, status, impact.value, scenario, at, at, monitoring, resolved),
    )
    return int(row["id"])


async def page_incidents(tx: Tx) -> list[PublicIncident]:
    """Unresolved public incidents and the latest resolved ones, each with its newest updates."""
    unresolved = await tx.fetchall(
        "SELECT * FROM public_incidents WHERE resolved_at IS NULL ORDER BY created_at DESC LIMIT 100"
    )
    resolved = await tx.fetchall(
        "SELECT * FROM public_incidents WHERE resolved_at IS NOT NULL ORDER BY resolved_at DESC LIMIT ?",
        (RECENT_RESOLVED,),
    )
    rows = unresolved + resolved
    return [_incident(row, await _updates(tx, int(row["incident"]))) for row in rows]


async def _updates(tx: Tx, number: int) -> Sequence[Row]:
    return await tx.fetchall(
        "SELECT * FROM publications WHERE incident = ? ORDER BY id DESC LIMIT ?",
        (number, UPDATES_PER_INCIDENT),
    )


def _incident(row: Row, updates: Sequence[Row]) -> PublicIncident:
    return PublicIncident(
        number=int(row["incident"]),
        name=row["name"],
        status=row["status"],
        impact=Impact(row["impact"]),
        scenario=row["scenario"],
        created_at=float(row["created_at"]),
        updated_at=float(row["updated_at"]),
        monitoring_at=row["monitoring_at"],
        resolved_at=row["resolved_at"],
        updates=tuple(
            PublicUpdate(int(u["id"]), u["status"], u["body"], float(u["created_at"])) for u in updates
        ),
    )
