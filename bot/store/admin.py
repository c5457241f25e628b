"""Operator commands on the state store: the outbox's failed items, JSON Lines export, SQLite backup.

Used by ``opsbot outbox``, ``opsbot export`` and ``opsbot backup``; never by the bot while it serves.
"""

from __future__ import annotations

import json
import os
import sqlite3
from collections.abc import AsyncIterator, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Literal

from bot.logs import iso
from bot.store import Row, Store, Tx, repo

OutboxState = Literal["pending", "sending", "sent", "failed", "withheld", "superseded"]
PAGE = 200


@dataclass(frozen=True)
class OutboxRow:
    """One outbox item as an operator sees it."""

    id: int
    state: str
    kind: str
    lane: str
    attempts: int
    created_at: float
    last_error: str | None

    def line(self) -> str:
        error = f"  {self.last_error}" if self.last_error else ""
        return (
            f"{self.id:>8}  {self.state:<10} {self.kind:<8} {self.lane:<14} "
            f"{self.attempts:>3}  {iso(self.created_at)}{error}"
        )


HEADER = f"{'id':>8}  {'state':<10} {'kind':<8} {'lane':<14} {'try':>3}  created (UTC)  last error"


async def list_outbox(store: Store, *, state: OutboxState, limit: int = 100) -> list[OutboxRow]:
    """Items in ``state``, newest first."""
    async with store.transaction() as tx:
        rows = await tx.fetchall(
            "SELECT id, state, kind, lane, attempts, created_at, last_error FROM outbox"
            " WHERE state = ? ORDER BY id DESC LIMIT ?",
            (state, limit),
        )
    return [
        OutboxRow(
            id=int(r["id"]),
            state=r["state"],
            kind=r["kind"],
            lane=r["lane"],
            attempts=int(r["attempts"]),
            created_at=float(r["created_at"]),
            last_error=r["last_error"],
        )
        for r in rows
    ]


def _ids_clause(ids: Sequence[int]) -> tuple[str, tuple[Any, ...]]:
    if not ids:
        return "", ()
    return f" AND id IN ({','.join('?' * len(ids))})", tuple(ids)


async def retry_failed(store: Store, *, ids: Sequence[int], now: float) -> int:
    """Failed items (``ids``, or all when empty) back to pending, due now; they keep their in-doubt
    mark, so one that may have reached Slack is looked for before it is posted again."""
    where, params = _ids_clause(ids)
    async with store.transaction() as tx:
        return await tx.execute(
            "UPDATE outbox SET state = 'pending', next_attempt_at = ?,"
            " last_error = coalesce(last_error, 'retried by an operator')"
            f" WHERE state = 'failed'{where}",
            (now, *params),
        )


async def purge_failed(store: Store, *, ids: Sequence[int]) -> int:
    """Delete failed items (``ids``, or all when empty); other states are never touched."""
    where, params = _ids_clause(ids)
    async with store.transaction() as tx:
        return await tx.execute(f"DELETE FROM outbox WHERE state = 'failed'{where}", params)


def _isoize(row: Row) -> dict[str, Any]:
    return {k: iso(v) if k.endswith("_at") and isinstance(v, int | float) else v for k, v in row.items()}


async def export_incidents(store: Store, *, since: float | None) -> AsyncIterator[str]:
    """Incidents changed since ``since`` (all when None), oldest first, each with its timeline: one
    JSON object per line. Reads in pages, so a long history never sits in memory at once."""
    after = 0
    while True:

        async def page(tx: Tx, after: int = after) -> list[dict[str, Any]]:
            rows = await tx.fetchall(
                "SELECT * FROM incidents WHERE number > ? AND updated_at >= ? ORDER BY number LIMIT ?",
                (after, since if since is not None else 0.0, PAGE),
            )
            out = []
            for row in rows:
                events = await repo.timeline(tx, int(row["number"]))
                record = _isoize(row)
                record["timeline"] = [_isoize(asdict(event)) for event in events]
                out.append(record)
            return out

        records = await store.run(page)
        for record in records:
            yield json.dumps(record, ensure_ascii=False, default=str)
        if len(records) < PAGE:
            return
        after = int(records[-1]["number"])


def backup_sqlite(source: str, target: Path) -> int:
    """Copy a live SQLite database with its online backup API (consistent even mid-write, unlike
    ``cp`` of a WAL database); the copy is created readable by its owner only. Returns its pages."""
    if target.exists():
        raise FileExistsError(f"{target} exists; choose a new file")
    os.close(os.open(target, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600))
    src = sqlite3.connect(f"file:{source}?mode=ro", uri=True)
    dst = sqlite3.connect(target)
    try:
        src.backup(dst)
        row = dst.execute("PRAGMA page_count").fetchone()
        return int(row[0])
    finally:
        dst.close()
        src.close()
