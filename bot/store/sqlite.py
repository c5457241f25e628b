"""The embedded store: stdlib sqlite3 in WAL mode, kept off the event loop on one worker thread."""

from __future__ import annotations

import asyncio
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


class SqliteTx:
    dialect = "sqlite"

    def __init__(self, store: SqliteStore) -> None:
        self._store = store

    async def execute(self, sql: str, params: tuple[Any, ...] = ()) -> int:
        return await self._store._call(lambda c: c.execute(sql, params).rowcount)

    async def fetchone(self, sql: str, params: tuple[Any, ...] = ()) -> Row | None:
        def run(c: sqlite3.Connection) -> Row | None:
            row = c.execute(sql, params).fetchone()
            return dict(row) if row is not None else None

        return await self._store._call(run)

    async def fetchall(self, sql: str, params: tuple[Any, ...] = ()) -> list[Row]:
        return await self._store._call(lambda c: [dict(r) for r in c.execute(sql, params).fetchall()])


class SqliteStore:
    """SQLite behind the Store interface. One writer at a time, as SQLite wants."""

    dialect = "sqlite"

    def __init__(self, path: str) -> None:
        self.path = path
        self._conn: sqlite3.Connection | None = None
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="opsbot-sqlite")
        self._lock = asyncio.Lock()

    @classmethod
    def from_url(cls, url: str) -> SqliteStore:
        """``sqlite:///relative.db``, ``sqlite:////absolute.db`` or ``sqlite://:memory:``."""
        rest = url.removeprefix("sqlite://")
        if rest in ("", "/", ":memory:", "/:memory:"):
            return cls(":memory:")
        return cls(rest[1:] if rest.startswith("/") else rest)

    async def _call(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        conn = self._conn
        if conn is None:
            raise StoreUnavailable("the SQLite store is not open")
        loop = asyncio.get_running_loop()
        try:
            return await loop.run_in_executor(self._executor, fn, conn)
        except sqlite3.OperationalError as exc:
            if "locked" in str(exc) or "unable to open" in str(exc) or "disk" in str(exc):
                raise StoreUnavailable(str(exc)) from exc
            raise

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
            return conn

        loop = asyncio.get_running_loop()
        try:
            self._conn = await loop.run_in_executor(self._executor, connect)
        except sqlite3.Error as exc:
            raise StoreUnavailable(f"cannot open SQLite file {self.path}: {exc}") from exc

    async def close(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            await asyncio.get_running_loop().run_in_executor(self._executor, conn.close)
        self._executor.shutdown(wait=False)

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[SqliteTx]:
        async with self._lock:
            # IMMEDIATE takes the write lock up front, so two processes never deadlock on upgrade.
            await self._call(lambda c: c.execute("BEGIN IMMEDIATE"))
            try:
                yield SqliteTx(self)
            except BaseException:
                await self._call(lambda c: c.execute("ROLLBACK"))
                raise
            await self._call(lambda c: c.execute("COMMIT"))

    async def migrate(self) -> list[int]:
        await self.open()
        async with self.transaction() as tx:
            return await apply_migrations(tx)

    async def ping(self) -> str:
        async with self.transaction() as tx:
            version = await schema_version(tx)
        state = "ok" if version == LATEST else f"schema v{version}, expected v{LATEST}"
        return f"sqlite {state}"
