"""The embedded store: stdlib sqlite3 in WAL mode, on a thread of its own, never on the event loop.

Every use of the connection happens on that thread, which runs an event loop of its own. A
transaction body given to ``run()`` executes there whole: its statements run back to back, with
no hop between threads until it commits. That keeps SQLite's single write lock held for
microseconds, not for as long as the main loop takes to get round to the next statement.
``transaction()`` still offers statement-by-statement transactions for code that is not hot.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import sqlite3
import threading
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, TypeVar

from bot.error_table import map_errors
from bot.errors import StoreUnavailable
from bot.store import Row, Tx
from bot.store.locks import FileLock
from bot.store.schema import LATEST, apply_migrations, probe_write, schema_version

T = TypeVar("T")


class _Busy(Exception):
    """The write lock was not free at once: run the transaction on the SQLite thread instead."""


def _consume(future: asyncio.Future[Any]) -> None:
    """Retrieve the outcome of shielded work nobody waits for any more (no 'never retrieved' noise)."""
    if not future.cancelled():
        future.exception()


class SqliteTx:
    """A transaction as seen from the SQLite thread: each call runs at once, without suspending."""

    dialect = "sqlite"

    def __init__(self, conn: sqlite3.Connection) -> None:
        self._conn = conn

    async def execute(self, sql: str, params: tuple[Any, ...] = ()) -> int:
        return self._conn.execute(sql, params).rowcount

    async def write(self, sql: str, params: tuple[Any, ...] = ()) -> None:
        with map_errors(sqlite3.IntegrityError):
            self._conn.execute(sql, params)

    async def fetchone(self, sql: str, params: tuple[Any, ...] = ()) -> Row | None:
        row = self._conn.execute(sql, params).fetchone()
        return dict(row) if row is not None else None

    async def fetchall(self, sql: str, params: tuple[Any, ...] = ()) -> list[Row]:
        return [dict(r) for r in self._conn.execute(sql, params).fetchall()]


class _RemoteTx:
    """A transaction used from the main loop: every statement is one trip to the SQLite thread."""

    dialect = "sqlite"

    def __init__(self, store: SqliteStore, inner: SqliteTx) -> None:
        self._store = store
        self._inner = inner

    async def execute(self, sql: str, params: tuple[Any, ...] = ()) -> int:
        return await self._store._there(self._inner.execute(sql, params))

    async def write(self, sql: str, params: tuple[Any, ...] = ()) -> None:
        await self._store._there(self._inner.write(sql, params))

    async def fetchone(self, sql: str, params: tuple[Any, ...] = ()) -> Row | None:
        return await self._store._there(self._inner.fetchone(sql, params))

    async def fetchall(self, sql: str, params: tuple[Any, ...] = ()) -> list[Row]:
        return await self._store._there(self._inner.fetchall(sql, params))


class SqliteStore:
    """SQLite behind the Store interface. One writer at a time, as SQLite wants."""

    dialect = "sqlite"

    def __init__(self, path: str, *, inline: bool = True) -> None:
        self.path = path
        self._conn: sqlite3.Connection | None = None
        # A second connection, used on the event loop itself for run() bodies when the write lock is
        # free at once (see _run_inline); None for ":memory:", whose connections do not share data.
        self._inline_wanted = inline and path != ":memory:"
        self._inline: sqlite3.Connection | None = None
        self._inline_busy = False  # an inline body is suspended mid-transaction
        # Transactions queued or open on the SQLite thread: while there are any, run() queues behind
        # them there too (in order, without the two connections meeting in SQLite's busy handler,
        # whose sleeps would stall both).
        self._on_thread = 0
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._lock = asyncio.Lock()  # used on the SQLite thread's loop only
        self._checkpointer: asyncio.Task[None] | None = None

    @classmethod
    def from_url(cls, url: str) -> SqliteStore:
        """``sqlite:///relative.db``, ``sqlite:////absolute.db`` or ``sqlite://:memory:``."""
        rest = url.removeprefix("sqlite://")
        if rest in ("", "/", ":memory:", "/:memory:"):
            return cls(":memory:")
        return cls(rest[1:] if rest.startswith("/") else rest)

    # --- the SQLite thread ---------------------------------------------------------------------

    def _submit(self, work: Coroutine[Any, Any, T]) -> asyncio.Future[T]:
        if self._loop is None:
            work.close()
            raise StoreUnavailable("the SQLite store is not open")
        future = asyncio.wrap_future(asyncio.run_coroutine_threadsafe(work, self._loop))
        future.add_done_callback(_consume)
        return future

    async def _there(self, work: Coroutine[Any, Any, T]) -> T:
        """Run ``work`` on the SQLite thread's loop and wait for it here.

        Shielded: a caller cancelled mid-way (a shutdown, a dropped request) never cuts work on the
        SQLite thread in half, so a transaction's lock is always released by its COMMIT or ROLLBACK."""
        with map_errors(sqlite3.DatabaseError):
            return await asyncio.shield(self._submit(work))

    def _abandon(self, begun: asyncio.Future[sqlite3.Connection]) -> None:
        """A BEGIN whose caller was cancelled before it heard back: roll it back once it lands."""
        if begun.cancelled() or begun.exception() is not None or self._loop is None:
            return
        asyncio.run_coroutine_threadsafe(self._end(begun.result(), commit=False), self._loop)

    def _connection(self) -> sqlite3.Connection:
        if self._conn is None:
            raise StoreUnavailable("the SQLite store is not open")
        return self._conn

    async def _begin(self) -> sqlite3.Connection:
        await self._lock.acquire()
        try:
            conn = self._connection()
            # IMMEDIATE takes the write lock up front, so two processes never deadlock on upgrade.
            conn.execute("BEGIN IMMEDIATE")
        except BaseException:
            self._lock.release()
            raise
        return conn

    async def _end(self, conn: sqlite3.Connection, *, commit: bool) -> None:
        try:
            if commit:
                try:
                    conn.execute("COMMIT")
                    return
                except BaseException:
                    with contextlib.suppress(sqlite3.Error):
                        conn.execute("ROLLBACK")
                    raise
            with contextlib.suppress(sqlite3.Error):
                conn.execute("ROLLBACK")
        finally:
            self._lock.release()

    async def _run_here(self, body: Callable[[Tx], Awaitable[T]]) -> T:
        conn = await self._begin()
        try:
            result = await body(SqliteTx(conn))
        except BaseException:
            await self._end(conn, commit=False)
            raise
        await self._end(conn, commit=True)
        return result

    # --- the Store interface -------------------------------------------------------------------

    async def run(self, body: Callable[[Tx], Awaitable[T]]) -> T:
        """Run ``body`` as one transaction, whole (it may only use the tx): right here on the event loop
        when the write lock is free this instant, else on the SQLite thread."""
        if self._inline is not None and not self._inline_busy and not self._on_thread:
            try:
                return await self._run_inline(self._inline, body)
            except _Busy:
                pass
        self._on_thread += 1
        try:
            return await self._there(self._run_here(body))
        finally:
            self._on_thread -= 1

    async def _run_inline(self, conn: sqlite3.Connection, body: Callable[[Tx], Awaitable[T]]) -> T:
        """``body`` on the loop, without a hop to the SQLite thread and back (two thread wake-ups per
        transaction were the largest cost of a note). Only when BEGIN IMMEDIATE gets the write lock at
        once (busy timeout 0); raises _Busy otherwise, and the caller queues it on the thread.

        An SqliteTx's awaits never suspend, so a body that only uses its tx runs start to COMMIT without
        letting anything else run; one that does suspend keeps the lock until it is done, as on the
        thread, and meanwhile other transactions of this process go to the thread."""
        try:
            conn.execute("BEGIN IMMEDIATE")
        except sqlite3.OperationalError as exc:
            if "locked" in str(exc) or "busy" in str(exc):
                raise _Busy from exc
            with map_errors(sqlite3.DatabaseError):
                raise
        self._inline_busy = True
        try:
            with map_errors(sqlite3.DatabaseError):
                try:
                    result = await body(SqliteTx(conn))
                except BaseException:
                    with contextlib.suppress(sqlite3.Error):
                        conn.execute("ROLLBACK")
                    raise
                try:
                    conn.execute("COMMIT")
                except sqlite3.Error:
                    with contextlib.suppress(sqlite3.Error):
                        conn.execute("ROLLBACK")
                    raise
        finally:
            self._inline_busy = False
        return result

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[_RemoteTx]:
        self._on_thread += 1
        try:
            async with self._remote_transaction() as tx:
                yield tx
        finally:
            self._on_thread -= 1

    @asynccontextmanager
    async def _remote_transaction(self) -> AsyncIterator[_RemoteTx]:
        begun = self._submit(self._begin())
        try:
            with map_errors(sqlite3.DatabaseError):
                conn = await asyncio.shield(begun)
        except asyncio.CancelledError:
            begun.add_done_callback(self._abandon)
            raise
        tx = _RemoteTx(self, SqliteTx(conn))
        try:
            yield tx
        except BaseException:
            await self._there(self._end(conn, commit=False))
            raise
        await self._there(self._end(conn, commit=True))

    async def open(self) -> None:
        if self._conn is not None:
            return
        loop = asyncio.new_event_loop()
        thread = threading.Thread(target=loop.run_forever, name="opsbot-sqlite", daemon=True)
        thread.start()
        self._loop, self._thread = loop, thread

        async def connect() -> sqlite3.Connection:
            if self.path != ":memory:":
                Path(self.path).parent.mkdir(parents=True, exist_ok=True)
                # It holds response URLs and incident text: readable by its owner only. SQLite gives
                # the -wal and -shm files the same mode as the database file.
                os.close(os.open(self.path, os.O_CREAT | os.O_WRONLY, 0o600))
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

        try:
            self._conn = await self._there(connect())
        except (sqlite3.Error, StoreUnavailable) as exc:
            self._stop_thread()
            cause = exc.cause if isinstance(exc, StoreUnavailable) else None
            raise StoreUnavailable(f"cannot open SQLite file {self.path}: {exc}", cause=cause) from exc
        if self.path != ":memory:":
            self._checkpointer = asyncio.create_task(self._checkpoints(), name="opsbot-sqlite-checkpoint")
        if self._inline_wanted:
            self._inline = self._connect_inline()

    def _connect_inline(self) -> sqlite3.Connection:
        conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False, timeout=0)
        conn.row_factory = sqlite3.Row
        conn.execute("PRAGMA synchronous=NORMAL")
        conn.execute("PRAGMA foreign_keys=ON")
        conn.execute("PRAGMA busy_timeout=0")  # never wait on the loop: the thread waits instead
        conn.execute("PRAGMA wal_autocheckpoint=0")
        return conn

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

    def _stop_thread(self) -> None:
        loop, thread = self._loop, self._thread
        self._loop = self._thread = None
        if loop is not None:
            loop.call_soon_threadsafe(loop.stop)
            if thread is not None:
                thread.join(timeout=5)
            loop.close()

    async def close(self) -> None:
        task, self._checkpointer = self._checkpointer, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        inline, self._inline = self._inline, None
        if inline is not None:
            inline.close()
        conn, self._conn = self._conn, None
        if conn is not None and self._loop is not None:

            async def shut() -> None:
                # Let a transaction in progress finish first, but never wait for ever.
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._lock.acquire(), timeout=5)
                conn.close()

            with contextlib.suppress(Exception):
                await self._there(shut())
        self._stop_thread()

    async def migrate(self) -> list[int]:
        await self.open()
        return await self.run(apply_migrations)

    async def writable(self) -> None:
        await self.run(probe_write)

    async def ping(self) -> str:
        version = await self.run(schema_version)
        state = "ok" if version == LATEST else f"schema v{version}, expected v{LATEST}"
        return f"sqlite {state}"

    def session_lock(self, name: str, *, idle_timeout: float | None = None) -> FileLock:
        # flock cannot tell a frozen holder from a live one; one host's processes share this file.
        return FileLock.beside(self.path, name)
