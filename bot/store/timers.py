"""Queries on the timers table (``bot.jobs.scheduler`` is the API; this is its SQL, for both dialects)."""

from __future__ import annotations

import json
from collections.abc import Collection
from typing import Any

from bot.store import Row, Tx

COLUMNS = "id, kind, subject, due, generation, payload, attempts"


async def upsert(tx: Tx, *, kind: str, subject: str, due: float, payload: dict[str, Any]) -> int:
    """Insert or move the timer for (kind, subject); returns its new generation."""
    row = await tx.fetchone(
        "INSERT INTO timers (kind, subject, due, generation, payload) VALUES (?, ?, ?, 1, ?)"
        " ON CONFLICT (kind, subject) DO UPDATE SET due = excluded.due, payload = excluded.payload,"
        " generation = timers.generation + 1, attempts = 0, last_error = NULL"
        " RETURNING generation",
        (kind, subject, due, json.dumps(payload, sort_keys=True)),
    )
    assert row is not None  # RETURNING always yields the row it wrote
    return int(row["generation"])


async def delete(tx: Tx, *, kind: str, subject: str) -> None:
    await tx.execute("DELETE FROM timers WHERE kind = ? AND subject = ?", (kind, subject))


async def delete_fired(tx: Tx, *, timer_id: int, generation: int) -> None:
    """Drop a timer that has fired, unless its handler scheduled it again (a new generation)."""
    await tx.execute("DELETE FROM timers WHERE id = ? AND generation = ?", (timer_id, generation))


async def get(tx: Tx, *, kind: str, subject: str) -> Row | None:
    return await tx.fetchone(f"SELECT {COLUMNS} FROM timers WHERE kind = ? AND subject = ?", (kind, subject))


async def soonest(tx: Tx, *, limit: int) -> list[Row]:
    return await tx.fetchall(f"SELECT {COLUMNS} FROM timers ORDER BY due, id LIMIT ?", (limit,))


async def claim_due(tx: Tx, *, kinds: Collection[str], now: float) -> Row | None:
    """Lock the soonest due timer of ``kinds`` for this transaction, or None.

    PostgreSQL: ``FOR UPDATE SKIP LOCKED``, so instances claim different timers side by side. SQLite:
    every transaction holds the write lock (BEGIN IMMEDIATE), and the conditional UPDATE below makes
    the claim explicit: it only succeeds if the row is still due at the generation just read."""
    if not kinds:
        return None
    marks = ", ".join("?" * len(kinds))
    sql = f"SELECT {COLUMNS} FROM timers WHERE due <= ? AND kind IN ({marks}) ORDER BY due, id LIMIT 1"
    if tx.dialect == "postgres":
        return await tx.fetchone(sql + " FOR UPDATE SKIP LOCKED", (now, *kinds))
    row = await tx.fetchone(sql, (now, *kinds))
    if row is None:
        return None
    claimed = await tx.execute(
        "UPDATE timers SET attempts = attempts WHERE id = ? AND generation = ? AND due <= ?",
        (row["id"], row["generation"], now),
    )
    return row if claimed == 1 else None


async def record_failure(tx: Tx, *, timer_id: int, generation: int, retry_at: float, error: str) -> None:
    """Count a failed firing and push the timer back, unless it was rescheduled meanwhile."""
    await tx.execute(
        "UPDATE timers SET attempts = attempts + 1, due = ?, last_error = ? WHERE id = ? AND generation = ?",
        (retry_at, error[:500], timer_id, generation),
    )


async def due_counts(tx: Tx, *, now: float, late_after: float) -> tuple[int, int]:
    """How many timers are due, and how many of those have been due longer than ``late_after`` seconds."""
    row = await tx.fetchone(
        "SELECT count(*) AS due, coalesce(sum(CASE WHEN due < ? THEN 1 ELSE 0 END), 0) AS late"
        " FROM timers WHERE due <= ?",
        (now - late_after, now),
    )
    assert row is not None
    return int(row["due"]), int(row["late"])


async def bring_forward(tx: Tx, *, kind: str, subject_prefix: str, due: float) -> int:
    """Make the timers of ``kind`` whose subject starts with ``subject_prefix`` due by ``due``."""
    escaped = subject_prefix.replace("!", "!!").replace("%", "!%").replace("_", "!_")
    return await tx.execute(
        "UPDATE timers SET due = ? WHERE kind = ? AND subject LIKE ? ESCAPE '!' AND due > ?",
        (due, kind, escaped + "%", due),
    )
