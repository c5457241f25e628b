"""Applying migrations: shared by both stores, each bringing its own lock.

The upgrade policy (docs/deployment.md, "Upgrades"): a migration expands the schema, so the release
before it keeps working on the result during a rolling deploy. One that contracts it (drops or renames
what an older release uses) raises ``COMPATIBLE_FROM`` to the oldest ``LATEST`` that still works with
it. Every migrating release records its ``COMPATIBLE_FROM`` in the store; an older release reads it to
decide whether it may run on a schema newer than it knows.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass

from bot.errors import SchemaTooNew
from bot.store import Tx
from bot.store.migrations import MIGRATIONS, statements

log = logging.getLogger("opsbot.store")

LATEST = max(version for version, _, _ in MIGRATIONS)
KNOWN = frozenset(version for version, _, _ in MIGRATIONS)
COMPATIBLE_FROM = 1
COMPATIBLE_KEY = "schema:compatible_from"


@dataclass(frozen=True)
class SchemaState:
    """The store's migrations as this code sees them."""

    missing: list[int]  # known here, not applied there
    unknown: list[int]  # applied there by a newer opsbot
    compatible_from: int | None  # what that newer opsbot declared (None: nothing declared)

    @property
    def newer_but_compatible(self) -> bool:
        return bool(self.unknown) and self.compatible_from is not None and self.compatible_from <= LATEST

    def problem(self) -> str | None:
        """Why this code cannot run on the schema, or None."""
        if self.unknown and not self.newer_but_compatible:
            return str(SchemaTooNew(self.unknown, LATEST))
        if self.missing:
            return f"migration(s) {', '.join(map(str, self.missing))} not applied yet; run opsbot migrate"
        return None


async def schema_state(tx: Tx) -> SchemaState:
    """Compare the store's applied migrations with the ones this code knows."""
    done = {int(r["version"]) for r in await tx.fetchall("SELECT version FROM schema_migrations")}
    unknown = sorted(done - KNOWN)
    floor = None
    if unknown:
        row = await tx.fetchone("SELECT value FROM kv WHERE key = ?", (COMPATIBLE_KEY,))
        floor = int(row["value"]) if row else None
    return SchemaState(missing=sorted(KNOWN - done), unknown=unknown, compatible_from=floor)


async def apply_migrations(tx: Tx) -> list[int]:
    """Apply what is missing inside ``tx``, which already holds the store's migration lock.

    Raises SchemaTooNew when a newer opsbot migrated the store and did not declare it compatible."""
    await tx.execute(
        "CREATE TABLE IF NOT EXISTS schema_migrations ("
        " version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at DOUBLE PRECISION NOT NULL)"
    )
    state = await schema_state(tx)
    if state.unknown:
        if not state.newer_but_compatible:
            raise SchemaTooNew(state.unknown, LATEST)
        log.warning(
            "store: migration(s) %s come from a newer opsbot that declared this one compatible",
            ", ".join(map(str, state.unknown)),
        )
        return []
    applied: list[int] = []
    for version, name, sql_list in MIGRATIONS:
        if version in state.missing:
            for sql in statements(tx.dialect, sql_list):
                await tx.execute(sql)
            await tx.execute(
                "INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)",
                (version, name, time.time()),
            )
            applied.append(version)
    await tx.execute(
        "INSERT INTO kv (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        (COMPATIBLE_KEY, str(COMPATIBLE_FROM)),
    )
    return applied


async def schema_version(tx: Tx) -> int:
    row = await tx.fetchone("SELECT max(version) AS v FROM schema_migrations")
    return int(row["v"]) if row and row["v"] is not None else 0


async def schema_problem(tx: Tx) -> str | None:
    """Why this code cannot use the store's schema (missing or incompatible newer migrations), or None."""
    return (await schema_state(tx)).problem()


async def probe_write(tx: Tx) -> None:
    """A real write (one row, overwritten each time): a store that answers reads may still refuse writes."""
    await tx.execute(
        "INSERT INTO kv (key, value) VALUES ('store:writable', ?)"
        " ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        (str(time.time()),),
    )
