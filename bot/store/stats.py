"""Read-only figures for /metrics: each query reads current state or a recent window, never history."""

from __future__ import annotations

from bot.store import Tx


async def open_incidents_by_severity(tx: Tx) -> dict[str, int]:
    rows = await tx.fetchall(
        "SELECT severity, count(*) AS n FROM incidents WHERE status <> 'resolved' GROUP BY severity"
    )
    return {str(r["severity"]): int(r["n"]) for r in rows}


async def deliveries_since(tx: Tx, *, after: float, limit: int = 1000) -> list[tuple[float, float]]:
    """(sent_at, seconds from owed to sent) of items delivered after ``after``, oldest first."""
    rows = await tx.fetchall(
        "SELECT sent_at, sent_at - created_at AS seconds FROM outbox"
        " WHERE state = 'sent' AND sent_at > ? ORDER BY sent_at LIMIT ?",
        (after, limit),
    )
    return [(float(r["sent_at"]), float(r["seconds"])) for r in rows]
