"""The embedded store: stdlib sqlite3 in WAL mode, kept off the event loop on one worker thread."""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
from collections.abc import AsyncIterator, Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, TypeVar

from bot.errors import StoreUnavailable
from bot.store import Row
from bot.store.schema import LATEST, apply_migrations, schema_version

T = TypeVar("T")


def _mapped(exc: BaseException) -> BaseException:
    """An SQLite error that means the store cannot be used right now, as StoreUnavailable."""
    text = str(exc)
    if isinstance(exc, sqlite3.OperationalError) and any(
        word in text for word in ("locked", "unable to open", "disk")
    ):
        return StoreUnavailable(text)
    return exc


class SqliteTx:
    """A transaction on the worker thread. Each hop to that thread costs a GIL hand-off, so BEGIN rides
    with the first statement, and writes whose result nobody needs are queued, not awaited: the thread
    runs them in order before anything awaited later, and COMMIT waits for them all."""

    dialect = "sqlite"

    def __init__(self, store: SqliteStore) -> None:
        self._store = store
        self._begun = False
        self._writes: list[asyncio.Future[Any]] = []

    def _first(self, fn: Callable[[sqlite3.Connection], T]) -> Callable[[sqlite3.Connection], T]:
        if self._begun:
            return fn
        self._begun = True

        def begin_then(c: sqlite3.Connection) -> T:
            # IMMEDIATE takes the write lock up front, so two processes never deadlock on upgrade.
            c.execute("BEGIN IMMEDIATE")
            return fn(c)

        return begin_then

    async def execute(self, sql: str, params: tuple[Any, ...] = ()) -> int:
        return await self._store._call(self._first(lambda c: c.execute(sql, params).rowcount))

    async def write(self, sql: str, params: tuple[Any, ...] = ()) -> None:
        self._writes.append(self._store._submit(self._first(lambda c: c.execute(sql, params))))

    async def fetchone(self, sql: str, params: tuple[Any, ...] = ()) -> Row | None:
        def run(c: sqlite3.Connection) -> Row | None:
            row = c.execute(sql, params).fetchone()
            return dict(row) if row is not None else None

        return await self._store._call(self._first(run))

    async def fetchall(self, sql: str, params: tuple[Any, ...] = ()) -> list[Row]:
        return await self._store._call(
            self._first(lambda c: [dict(r) for r in c.execute(sql, params).fetchall()])
        )

    async def finish(self, *, commit: bool) -> None:
        """Wait for queued writes, then COMMIT (or ROLLBACK if asked to, or if a queued write failed)."""
        results = await asyncio.gather(*self._writes, return_exceptions=True)
        failed = next((r for r in results if isinstance(r, BaseException)), None)
        if not self._begun:
            return
        if commit and failed is None:
            await self._store._call(lambda c: c.execute("COMMIT"))
            return
        with contextlib.suppress(sqlite3.Error, StoreUnavailable):
            await self._store._call(lambda c: c.execute("ROLLBACK"))
        if commit and failed is not None:
            raise _mapped(failed)


class SqliteStore:
    """SQLite behind the Store interface. One writer at a time, as SQLite wants."""

    dialect = "sqlite"

    def __init__(self, path: str) -> None:
        self.path = path
        self._conn: sqlite3.Connection | None = None
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="opsbot-sqlite")
        self._lock = asyncio.Lock()
        self._checkpointer: asyncio.Task[None] | None = None

    @classmethod
    def from_url(cls, url: str) -> SqliteStore:
        """``sqlite:///relative.db``, ``sqlite:////absolute.db`` or ``sqlite://:memory:``."""
        rest = url.removeprefix("sqlite://")
        if rest in ("", "/", ":memory:", "/:memory:"):
            return cls(":memory:")
        return cls(rest[1:] if rest.startswith("/") else rest)

    def _submit(self, fn: Callable[[sqlite3.Connection], T]) -> asyncio.Future[T]:
        conn = self._conn
        if conn is None:
            raise StoreUnavailable("the SQLite store is not open")
        return asyncio.get_running_loop().run_in_executor(self._executor, fn, conn)

    async def _call(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        try:
            return await self._submit(fn)
        except sqlite3.OperationalError as exc:
            raise _mapped(exc) from exc

    async def open(self) -> None:
        if self._conn is not None:
            return

        def connect() -> sqlite3.Connection:
            if self.path != ":memory:":
                Path(self.path).parent.mkdir(parents=True, exist_ok=True)
            conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False, timeout=5)
            conn.row_factory = sqlite3.Row
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")
            conn.execute("PRAGMA foreign_keys=ON")
            conn.execute("PRAGMA busy_timeout=5000")
            if self.path != ":memory:":
                # Checkpoints fsync the database file; the checkpointer below does them on its own
                # thread, so no commit (and no ack waiting on one) ever pays for one.
                conn.execute("PRAGMA wal_autocheckpoint=0")
            return conn

        loop = asyncio.get_running_loop()
        try:
            self._conn = await loop.run_in_executor(self._executor, connect)
        except sqlite3.Error as exc:
            raise StoreUnavailable(f"cannot open SQLite file {self.path}: {exc}") from exc
        if self.path != ":memory:":
            self._checkpointer = asyncio.create_task(self._checkpoints(), name="opsbot-sqlite-checkpoint")

    async def _checkpoints(self, every: float = 1.0) -> None:
        """Fold the write-ahead log back into the database file, off the serving connection."""
        executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="opsbot-sqlite-checkpoint")
        loop = asyncio.get_running_loop()
        conn = await loop.run_in_executor(
            executor,
            lambda: sqlite3.connect(self.path, isolation_level=None, check_same_thread=False, timeout=5),
        )
        try:
            while True:
                await asyncio.sleep(every)
                with contextlib.suppress(sqlite3.Error):
                    await loop.run_in_executor(executor, conn.execute, "PRAGMA wal_checkpoint(PASSIVE)")
        finally:
            with contextlib.suppress(sqlite3.Error):
                await asyncio.shield(
                    loop.run_in_executor(executor, conn.execute, "PRAGMA wal_checkpoint(TRUNCATE)")
                )
            conn.close()
            executor.shutdown(wait=False)

    async def close(self) -> None:
        task, self._checkpointer = self._checkpointer, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        conn, self._conn = self._conn, None
        if conn is not None:
            await asyncio.get_running_loop().run_in_executor(self._executor, conn.close)
        self._executor.shutdown(wait=False)

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[SqliteTx]:
        async with self._lock:
            tx = SqliteTx(self)
            try:
                yield tx
            except BaseException:
                await tx.finish(commit=False)
                raise
            await tx.finish(commit=True)

    async def migrate(self) -> list[int]:
        await self.open()
        async with self.transaction() as tx:
            return await apply_migrations(tx)

    async def ping(self) -> str:
        async with self.transaction() as tx:
            version = await schema_version(tx)
        state = "ok" if version == LATEST else f"schema v{version}, expected v{LATEST}"
        return f"sqlite {state}"
