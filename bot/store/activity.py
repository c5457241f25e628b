"""Queries the clock runs on an incident's activity (checklist ticks are in ``bot.store.checklist``)."""

from __future__ import annotations

from collections.abc import Sequence

from bot.incidents.model import TimelineKind
from bot.store import Tx


async def last_update_at(tx: Tx, incident: int, *, kinds: Sequence[TimelineKind]) -> float | None:
    """When the incident last had an event of one of ``kinds`` (its own rows only, through its index)."""
    marks = ",".join("?" * len(kinds))
    row = await tx.fetchone(
        f"SELECT max(created_at) AS at FROM timeline WHERE incident = ? AND kind IN ({marks})"
        " AND deleted_at IS NULL",
        (incident, *kinds),
    )
    return None if row is None or row["at"] is None else float(row["at"])
