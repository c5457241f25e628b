"""Queries the clock and the checklists run on an incident's activity (``bot.store.repo`` holds the rest)."""

from __future__ import annotations

from collections.abc import Sequence

from bot.store import Tx


async def last_update_at(tx: Tx, incident: int, *, kinds: Sequence[str]) -> float | None:
    """When the incident last had an event of one of ``kinds`` (its own rows only, through its index)."""
    marks = ",".join("?" * len(kinds))
    row = await tx.fetchone(
        f"SELECT max(created_at) AS at FROM timeline WHERE incident = ? AND kind IN ({marks})"
        " AND deleted_at IS NULL",
        (incident, *kinds),
    )
    return None if row is None or row["at"] is None else float(row["at"])


async def set_check(tx: Tx, *, incident: int, item: str, user: str | None, at: float) -> None:
    await tx.write(
        "INSERT INTO checklist (incident, item, checked_by, checked_at) VALUES (?,?,?,?)"
        " ON CONFLICT (incident, item) DO UPDATE SET checked_by = excluded.checked_by,"
        " checked_at = excluded.checked_at",
        (incident, item, user, at if user else None),
    )


async def checked_items(tx: Tx, incident: int) -> dict[str, str]:
    rows = await tx.fetchall(
        "SELECT item, checked_by FROM checklist WHERE incident = ? AND checked_by IS NOT NULL", (incident,)
    )
    return {r["item"]: r["checked_by"] for r in rows}
