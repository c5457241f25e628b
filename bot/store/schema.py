"""Applying migrations: shared by both stores, each bringing its own lock."""

from __future__ import annotations

import time

from bot.errors import SchemaTooNew
from bot.store import Tx
from bot.store.migrations import MIGRATIONS, statements

LATEST = max(version for version, _, _ in MIGRATIONS)
KNOWN = frozenset(version for version, _, _ in MIGRATIONS)


async def apply_migrations(tx: Tx) -> list[int]:
    """Apply what is missing inside ``tx``, which already holds the store's migration lock."""
    await tx.execute(
        "CREATE TABLE IF NOT EXISTS schema_migrations ("
        " version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at DOUBLE PRECISION NOT NULL)"
    )
    done = {int(r["version"]) for r in await tx.fetchall("SELECT version FROM schema_migrations")}
    unknown = sorted(done - KNOWN)
    if unknown:
        raise SchemaTooNew(unknown, LATEST)
    applied: list[int] = []
    for version, name, sql_list in MIGRATIONS:
        if version in done:
            continue
        for sql in statements(tx.dialect, sql_list):
            await tx.execute(sql)
        await tx.execute(
            "INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)",
            (version, name, time.time()),
        )
        applied.append(version)
    return applied


async def schema_version(tx: Tx) -> int:
    row = await tx.fetchone("SELECT max(version) AS v FROM schema_migrations")
    return int(row["v"]) if row and row["v"] is not None else 0


async def schema_problem(tx: Tx) -> str | None:
    """Why this code cannot use the store's schema (missing or unknown migrations), or None."""
    rows = await tx.fetchall("SELECT version FROM schema_migrations")
    done = {int(r["version"]) for r in rows}
    if unknown := sorted(done - KNOWN):
        return str(SchemaTooNew(unknown, LATEST))
    if missing := sorted(KNOWN - done):
        return f"migration(s) {', '.join(map(str, missing))} not applied yet; run opsbot migrate"
    return None
