"""Checklist ticks: who ticked which runbook step of an incident (``repo`` re-exports these)."""

from __future__ import annotations

from bot.store import Tx


async def set_check(tx: Tx, *, incident: int, item: str, user: str | None, at: float) -> None:
    await tx.write(
        "INSERT INTO checklist (incident, item, checked_by, checked_at) VALUES (?,?,?,?)"
        " ON CONFLICT (incident, item) DO UPDATE SET checked_by = excluded.checked_by,"
        " checked_at = excluded.checked_at",
        (incident, item, user, at if user else None),
    )


async def clear_checks(tx: Tx, incident: int) -> None:
    """Forget an incident's ticks (the timeline keeps who ticked what, and when)."""
    await tx.write("DELETE FROM checklist WHERE incident = ?", (incident,))


async def checked_items(tx: Tx, incident: int) -> dict[str, str]:
    rows = await tx.fetchall(
        "SELECT item, checked_by FROM checklist WHERE incident = ? AND checked_by IS NOT NULL", (incident,)
    )
    return {r["item"]: r["checked_by"] for r in rows}
