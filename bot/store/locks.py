"""Locks that die with the process holding them: the ground a lease stands on.

No process ids: a pid says nothing across PID namespaces (two containers on one host name). PostgreSQL:
a session-level advisory lock on a connection of its own, released by the server when that connection
drops (a killed process's socket is closed by its kernel). SQLite: ``flock`` on a file beside the
database, released by the kernel when the holding process's descriptor closes; flock locks belong to an
open file, so two holders in one process exclude each other too.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import os
import tempfile
import zlib
from pathlib import Path

import psycopg


def advisory_key(name: str) -> int:
    """A stable 63-bit key for the advisory lock named ``name`` (every instance computes the same)."""
    return (0x0B5B << 32) | zlib.crc32(f"opsbot:{name}".encode())


class FileLock:
    """An exclusive ``flock`` on ``path``; never blocks."""

    def __init__(self, path: str) -> None:
        self.path = path
        self._fd: int | None = None

    @classmethod
    def beside(cls, database: str, name: str) -> FileLock:
        """The lock file for lease ``name`` of the SQLite database at ``database``."""
        if database == ":memory:":  # only this process can see an in-memory database
            return cls(os.path.join(tempfile.gettempdir(), f"opsbot-{os.getpid()}-{name}.lock"))
        return cls(f"{database}.{name}.lock")

    async def try_acquire(self) -> bool:
        if self._fd is not None:
            return True
        Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_CREAT | os.O_RDWR, 0o600)  # held open as long as the lock is
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(fd)
            return False
        self._fd = fd
        return True

    async def alive(self) -> bool:
        return self._fd is not None

    async def release(self) -> None:
        fd, self._fd = self._fd, None
        if fd is not None:
            with contextlib.suppress(OSError):
                fcntl.flock(fd, fcntl.LOCK_UN)
            os.close(fd)


class AdvisoryLock:
    """A session-level PostgreSQL advisory lock held on a dedicated connection.

    With ``idle_timeout`` the server ends the lock's session (and so frees the lock) once its holder has
    sent nothing on it for that long: a frozen holder (SIGSTOP, a stalled VM) keeps its socket open, and
    without this the lock would stay held as long as the freeze lasts. The holder must call ``alive``
    more often than that."""

    def __init__(
        self, url: str, name: str, *, timeout: float = 2.0, idle_timeout: float | None = None
    ) -> None:
        self.url = url
        self.key = advisory_key(name)
        self.timeout = timeout
        self.idle_timeout = idle_timeout
        self._conn: psycopg.AsyncConnection[tuple[object, ...]] | None = None

    async def try_acquire(self) -> bool:
        if self._conn is not None:
            return await self.alive()
        try:
            conn = await psycopg.AsyncConnection.connect(
                self.url,
                autocommit=True,
                connect_timeout=max(1, int(self.timeout)),
                prepare_threshold=None,
                # Notice a silently vanished peer within seconds, not hours.
                keepalives_idle=5,
                keepalives_interval=2,
                keepalives_count=3,
                application_name="opsbot-lease",
            )
        except psycopg.Error:
            return False
        try:
            if self.idle_timeout is not None:
                ms = str(max(1000, int(self.idle_timeout * 1000)))
                await conn.execute("SELECT set_config('idle_session_timeout', %s, false)", (ms,))
            cur = await conn.execute("SELECT pg_try_advisory_lock(%s)", (self.key,))
            row = await cur.fetchone()
        except psycopg.Error:
            await conn.close()
            return False
        if not row or not row[0]:
            await conn.close()
            return False
        self._conn = conn
        return True

    async def alive(self) -> bool:
        """True while the lock's connection answers within ``timeout`` (the server holds the lock as
        long as the session lives). A connection that does not answer in time is closed: the lock is
        then given up rather than trusted."""
        conn = self._conn
        if conn is None:
            return False
        try:
            async with asyncio.timeout(self.timeout):
                await conn.execute("SELECT 1")
            return True
        except (psycopg.Error, TimeoutError):
            self._conn = None
            with contextlib.suppress(Exception):
                await conn.close()  # closing the socket ends the session: the server drops the lock
            return False

    async def release(self) -> None:
        """Unlock and close, never waiting more than ``timeout`` on a connection that stopped answering."""
        conn, self._conn = self._conn, None
        if conn is not None:
            with contextlib.suppress(Exception):
                async with asyncio.timeout(self.timeout):
                    await conn.execute("SELECT pg_advisory_unlock(%s)", (self.key,))
            with contextlib.suppress(Exception):
                await conn.close()
