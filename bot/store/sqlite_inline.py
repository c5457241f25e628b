"""SQLite transactions run on the event loop itself, on a second connection, committed in groups.

A hop to the store's thread and back costs two thread wake-ups per transaction; they were the largest
part of the CPU a note costs. So when the write lock is free this instant (BEGIN IMMEDIATE with a busy
timeout of 0), ``run()`` runs its body right here. An ``SqliteTx``'s awaits never suspend, so a body
that only uses its tx runs from BEGIN to its end without letting anything else run.

Group commit: a leader whose body succeeded yields once to the loop before its COMMIT. Bodies of other
requests ready to run meanwhile join its transaction, each inside a SAVEPOINT (one that fails is rolled
back alone and raises to its own caller), and one COMMIT (one write to the WAL) ends them all. Every
caller hears back only after that COMMIT: nothing is acknowledged before it is stored. If the COMMIT
fails, it fails for every member, and none of them is stored.
"""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
from collections.abc import Awaitable, Callable
from typing import TypeVar

from bot.error_table import map_errors
from bot.store import Tx

T = TypeVar("T")

SAVEPOINT = "opsbot_member"


class Busy(Exception):
    """The write lock was not free at once: the caller runs the transaction elsewhere."""


class _Group:
    """An open transaction that other bodies may join until its leader commits."""

    def __init__(self) -> None:
        self.committed: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.running = 0  # member bodies in progress (only above 0 while one is suspended)
        self.idle = asyncio.Event()
        self.idle.set()
        self.broken: BaseException | None = None  # a member's failure the savepoint could not undo
        self.members = 0


class InlineWriter:
    """The second connection and its group commits; ``busy`` while a body is suspended mid-way."""

    def __init__(self, conn: sqlite3.Connection, make_tx: Callable[[sqlite3.Connection], Tx]) -> None:
        self.conn = conn
        self._make_tx = make_tx
        self.busy = False
        self._group: _Group | None = None

    @staticmethod
    def connect(path: str) -> sqlite3.Connection:
        """The inline connection: never waits for a lock (the store's thread waits instead)."""
        conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False, timeout=0)
        conn.row_factory = sqlite3.Row
        conn.execute("PRAGMA synchronous=NORMAL")
        conn.execute("PRAGMA foreign_keys=ON")
        conn.execute("PRAGMA busy_timeout=0")
        conn.execute("PRAGMA wal_autocheckpoint=0")
        return conn

    async def run(self, body: Callable[[Tx], Awaitable[T]]) -> T:
        """``body`` in the open group's transaction, or as the leader of a new one; raises Busy when the
        write lock is taken (by another process, or this process's thread)."""
        group = self._group
        if group is not None:
            return await self._join(group, body)
        return await self._lead(body)

    async def _lead(self, body: Callable[[Tx], Awaitable[T]]) -> T:
        conn = self.conn
        try:
            conn.execute("BEGIN IMMEDIATE")
        except sqlite3.OperationalError as exc:
            if "locked" in str(exc) or "busy" in str(exc):
                raise Busy from exc
            with map_errors(sqlite3.DatabaseError):
                raise
        with map_errors(sqlite3.DatabaseError):
            # The leader's own body runs first and alone: if it fails, nobody has joined yet.
            self.busy = True
            try:
                result = await body(self._make_tx(conn))
            except BaseException:
                with contextlib.suppress(sqlite3.Error):
                    conn.execute("ROLLBACK")
                raise
            finally:
                self.busy = False
            group = self._group = _Group()
            cancelled = False
            try:
                await asyncio.sleep(0)  # bodies ready to run now join this transaction
            except asyncio.CancelledError:
                cancelled = True  # the members' COMMIT happens all the same; the leader hears it after
            self._group = None  # closed: later bodies lead a transaction of their own
            while group.running:  # a member suspended mid-body finishes before the COMMIT
                try:
                    await group.idle.wait()
                except asyncio.CancelledError:
                    cancelled = True
            self._commit(conn, group)
        if cancelled:
            raise asyncio.CancelledError
        return result

    def _commit(self, conn: sqlite3.Connection, group: _Group) -> None:
        """COMMIT for every member (ROLLBACK if one broke the transaction), then tell them all."""
        try:
            if group.broken is not None:
                raise group.broken
            conn.execute("COMMIT")
        except BaseException as exc:
            with contextlib.suppress(sqlite3.Error):
                conn.execute("ROLLBACK")
            if group.members:
                group.committed.set_exception(exc)
                group.committed.exception()  # members read it; never 'never retrieved'
            raise
        group.committed.set_result(None)

    async def _join(self, group: _Group, body: Callable[[Tx], Awaitable[T]]) -> T:
        conn = self.conn
        group.members += 1
        with map_errors(sqlite3.DatabaseError):
            conn.execute(f"SAVEPOINT {SAVEPOINT}")
            group.running += 1
            group.idle.clear()
            self.busy = True
            try:
                result = await body(self._make_tx(conn))
            except BaseException as exc:
                try:
                    conn.execute(f"ROLLBACK TO {SAVEPOINT}")
                    conn.execute(f"RELEASE {SAVEPOINT}")
                except sqlite3.Error as undo:
                    group.broken = group.broken or undo
                if isinstance(exc, sqlite3.Error) and not conn.in_transaction:
                    group.broken = group.broken or exc  # SQLite ended the transaction itself
                raise
            finally:
                self.busy = False
                group.running -= 1
                if not group.running:
                    group.idle.set()
            try:
                conn.execute(f"RELEASE {SAVEPOINT}")
            except sqlite3.Error as exc:
                group.broken = group.broken or exc
                raise
            # Stored only once the group's COMMIT is: shielded, so a caller cancelled here still leaves
            # the outcome to be read (its body is already part of the transaction).
            await asyncio.shield(group.committed)
        return result
