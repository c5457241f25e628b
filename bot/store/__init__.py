"""The state store: one small interface, two implementations (SQLite, PostgreSQL).

A store hands out transactions; every query lives in ``bot.store.repo`` and is written once, with
``?`` placeholders, for both dialects.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Iterable, Iterator
from contextlib import AbstractAsyncContextManager
from typing import Any, Protocol, TypeVar

# Defined with the other errors; the store's callers catch it from here.
from bot.errors import Conflict as Conflict
from bot.errors import StoreUnavailable

log = logging.getLogger("opsbot.store")

Row = dict[str, Any]
T = TypeVar("T")


class Tx(Protocol):
    """One open transaction."""

    dialect: str

    async def execute(self, sql: str, params: tuple[Any, ...] = ()) -> int:
        """Run a statement; returns the number of rows it touched."""

    async def write(self, sql: str, params: tuple[Any, ...] = ()) -> None:
        """Run a statement whose result is not needed; it may be queued, but runs before anything awaited
        later in this transaction, and the transaction fails if it fails."""

    async def fetchone(self, sql: str, params: tuple[Any, ...] = ()) -> Row | None: ...

    async def fetchall(self, sql: str, params: tuple[Any, ...] = ()) -> list[Row]: ...


class SessionLock(Protocol):
    """A lock that dies with the process holding it (see ``bot.store.locks``)."""

    async def try_acquire(self) -> bool:
        """Take the lock if it is free (never waits); True when held."""

    async def alive(self) -> bool:
        """True while the lock is still held."""

    async def release(self) -> None: ...


class Store(Protocol):
    """Where opsbot keeps incidents, their timelines, the outbox and handled deliveries."""

    dialect: str

    async def open(self) -> None:
        """Connect (and create the SQLite file if needed)."""

    async def close(self) -> None: ...

    async def migrate(self) -> list[int]:
        """Apply pending migrations; safe when several instances do it at once. Returns those applied."""

    def transaction(self) -> AbstractAsyncContextManager[Tx]:
        """A transaction: committed when the block ends, rolled back on an exception."""

    async def run(self, body: Callable[[Tx], Awaitable[T]]) -> T:
        """Run ``body`` as one transaction and return what it returns; the hot paths use this.

        ``body`` may only use the transaction it is given (SQLite runs it on the store's own thread)."""

    async def writable(self) -> None:
        """Raise StoreUnavailable (naming the cause) when the store cannot take a write now."""

    async def ping(self) -> str:
        """A one-line description of the store's state; raises StoreUnavailable."""

    def session_lock(self, name: str, *, idle_timeout: float | None = None) -> SessionLock:
        """A lock named ``name``, shared by every process using this store, released if its holder dies
        (and, where the store can tell, once its holder has not touched it for ``idle_timeout`` s)."""


def open_store(url: str) -> Store:
    """The store for a DATABASE_URL (not yet opened)."""
    if url.startswith("sqlite:"):
        from bot.store.sqlite import SqliteStore

        return SqliteStore.from_url(url)
    from bot.store.postgres import PostgresStore

    return PostgresStore(url)


async def migrate_when_reachable(store: Store, *, within: float = 60.0) -> None:
    """Migrate ``store``, trying again with backoff while it cannot be reached (a restart of the
    database, say), for at most ``within`` seconds in all, each attempt included (one that hangs is
    cut off); then raise StoreUnavailable, so the process exits and its supervisor starts it again."""
    started = time.monotonic()
    delay = 0.5
    while True:
        try:
            async with asyncio.timeout(max(0.1, within - (time.monotonic() - started))):
                await store.migrate()
            return
        except (StoreUnavailable, TimeoutError) as exc:
            why = str(exc) or "no answer in time"
            left = within - (time.monotonic() - started)
            if left <= 0:
                raise StoreUnavailable(f"not reachable within {within:g} s of starting: {why}") from exc
            wait = min(delay, left)
            log.warning(
                "opsbot: the state store is not reachable yet (%s); trying again in %.1f s, giving up"
                " %g s after start",
                why,
                wait,
                within,
            )
            await asyncio.sleep(wait)
            delay = min(delay * 2, 8.0)


def doubling(
    first: float, *, cap: float, count: int | None = None, total: float | None = None
) -> Iterator[float]:
    """Waits that double from ``first`` up to ``cap``: ``count`` of them, or as many as it takes for
    their sum to reach ``total`` (the one that reaches it included)."""
    wait, waited, given = first, 0.0, 0
    while (count is None or given < count) and (total is None or waited < total):
        yield wait
        waited, given, wait = waited + wait, given + 1, min(wait * 2, cap)


async def run_through_blips(
    store: Store,
    body: Callable[[Tx], Awaitable[T]],
    *,
    waits: Iterable[float],
    on_blip: Callable[[StoreUnavailable], object] | None = None,
) -> T:
    """``store.run(body)``, tried again after each of ``waits`` while the store is unreachable (a
    restart, killed sessions); the try after the last wait raises what it meets."""
    for wait in waits:
        try:
            return await store.run(body)
        except StoreUnavailable as exc:
            if on_blip is not None:
                on_blip(exc)
        await asyncio.sleep(wait)
    return await store.run(body)
