"""The shared store: PostgreSQL through psycopg 3's async connection pool."""

from __future__ import annotations

import functools
import select
import time
import weakref
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any, TypeVar

import psycopg
from psycopg.rows import dict_row
from psycopg_pool import AsyncConnectionPool, PoolTimeout

from bot.error_table import map_errors
from bot.errors import StoreUnavailable
from bot.store import Row, Tx
from bot.store.locks import AdvisoryLock
from bot.store.schema import LATEST, apply_migrations, probe_write, schema_version

T = TypeVar("T")

# Any constant works, as long as every opsbot instance uses the same one.
MIGRATION_LOCK = 0x0B5B07
# A pooled connection idle longer than this is checked with a round trip before it is handed out.
CHECK_AFTER_IDLE = 3.0


@dataclass(frozen=True)
class SessionLimits:
    """Limits on every pooled session, so one stuck process cannot stall the others: a frozen instance
    (SIGSTOP, a stalled VM) in the middle of a transaction holds its row locks until the server ends
    that transaction, and every other session needing those rows would queue behind it, filling the
    pools. Each limit surfaces as a store blip (retryable) through the error table."""

    lock_timeout: float = 3.0  # a row lock not granted by then: give up (a blip) rather than queue
    idle_in_transaction: float = 10.0  # a transaction left idle this long is ended by the server
    statement_timeout: float = 30.0  # no opsbot query should run this long

    def settings(self) -> tuple[tuple[str, str], ...]:
        """The (name, value) pairs, in milliseconds as PostgreSQL takes them."""
        return (
            ("lock_timeout", f"{int(self.lock_timeout * 1000)}"),
            ("idle_in_transaction_session_timeout", f"{int(self.idle_in_transaction * 1000)}"),
            ("statement_timeout", f"{int(self.statement_timeout * 1000)}"),
        )


@functools.lru_cache(maxsize=512)
def _pg(sql: str) -> str:
    return sql.replace("?", "%s")


class PostgresTx:
    """A transaction in pipeline mode: ``write`` only queues its statement; it goes to the server with
    the next statement whose result is needed (a read, a row count) or with the COMMIT, in one round
    trip. A write's error (a unique violation: ``Conflict``) therefore surfaces there, and fails the
    whole transaction just the same: callers catch ``Conflict`` around ``run()``, never inside a body."""

    dialect = "postgres"

    def __init__(
        self, conn: psycopg.AsyncConnection[Row], pipeline: psycopg.AsyncPipeline | None = None
    ) -> None:
        self._conn = conn
        self._pipeline = pipeline

    async def execute(self, sql: str, params: tuple[Any, ...] = ()) -> int:
        cur = await self._conn.execute(_pg(sql), params)
        if self._pipeline is not None:
            await self._pipeline.sync()  # the row count is known only once the server has answered
        return cur.rowcount

    async def write(self, sql: str, params: tuple[Any, ...] = ()) -> None:
        with map_errors(psycopg.Error):
            await self._conn.execute(_pg(sql), params)

    async def fetchone(self, sql: str, params: tuple[Any, ...] = ()) -> Row | None:
        cur = await self._conn.execute(_pg(sql), params)
        return await cur.fetchone()

    async def fetchall(self, sql: str, params: tuple[Any, ...] = ()) -> list[Row]:
        cur = await self._conn.execute(_pg(sql), params)
        return await cur.fetchall()


class PostgresStore:
    """PostgreSQL behind the Store interface; several opsbot instances may share one."""

    dialect = "postgres"

    def __init__(
        self,
        url: str,
        *,
        max_size: int = 10,
        timeout: float = 2.0,
        limits: SessionLimits = SessionLimits(),
        check_after_idle: float = CHECK_AFTER_IDLE,
    ) -> None:
        if url.startswith("postgres://"):
            url = "postgresql://" + url.removeprefix("postgres://")
        self._url = url
        self._max_size = max_size
        self._timeout = timeout
        self._limits = limits
        self._pool: AsyncConnectionPool[psycopg.AsyncConnection[Row]] | None = None
        self._check_after_idle = check_after_idle
        self._idle_since: weakref.WeakKeyDictionary[psycopg.AsyncConnection[Row], float] = (
            weakref.WeakKeyDictionary()
        )

    async def _configure(self, conn: psycopg.AsyncConnection[Row]) -> None:
        """Set the session limits on a new pooled connection (set_config, not startup options, which
        transaction poolers such as PgBouncer refuse)."""
        pairs = self._limits.settings()
        calls = ", ".join("set_config(%s, %s, false)" for _ in pairs)
        await conn.execute(f"SELECT {calls}", [v for pair in pairs for v in pair])
        self._idle_since[conn] = time.monotonic()

    async def _check(self, conn: psycopg.AsyncConnection[Row]) -> None:
        """Before a connection is handed out: a round trip only when it was idle for a while or the
        server has sent something since (a terminated backend's last words, the socket's end). A check
        on every checkout cost one extra round trip per transaction (3.6 % of a note's CPU); a connection
        killed by the server while idle briefly is still caught, by what it left on the socket."""
        idle = time.monotonic() - self._idle_since.get(conn, 0.0)
        if idle >= self._check_after_idle or conn.closed or _has_input(conn):
            await AsyncConnectionPool.check_connection(conn)

    async def open(self) -> None:
        if self._pool is not None:
            return
        # prepare_threshold=None keeps it working behind transaction poolers such as Supabase's.
        self._pool = AsyncConnectionPool(
            self._url,
            min_size=1,
            max_size=self._max_size,
            timeout=self._timeout,
            open=False,
            kwargs={
                "autocommit": True,
                "row_factory": dict_row,
                "prepare_threshold": None,
                "connect_timeout": max(1, int(self._timeout)),
            },
            reconnect_timeout=0,
            # A pooled connection the server ended (a restart, pg_terminate_backend, an idle timeout)
            # is found and replaced before it is handed out, not by the command that gets it.
            check=self._check,
            configure=self._configure,
        )
        await self._pool.open(wait=False)

    async def close(self) -> None:
        pool, self._pool = self._pool, None
        if pool is not None:
            await pool.close()

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[PostgresTx]:
        if self._pool is None:
            raise StoreUnavailable("the PostgreSQL store is not open")
        with map_errors(psycopg.Error, PoolTimeout):
            async with self._pool.connection() as conn:
                try:
                    async with conn.pipeline() as pipeline, conn.transaction():
                        yield PostgresTx(conn, pipeline)
                finally:
                    # Noted here rather than in the pool's reset callback: with one, the pool returns
                    # every connection through its worker task, later (fewer notes/s in the benchmark).
                    self._idle_since[conn] = time.monotonic()

    async def run(self, body: Callable[[Tx], Awaitable[T]]) -> T:
        async with self.transaction() as tx:
            return await body(tx)

    async def migrate(self) -> list[int]:
        await self.open()
        async with self.transaction() as tx:
            # Migrations wait for each other and for the locks their DDL needs, however long: start-up
            # bounds the whole (bot.runtime), not each statement.
            await tx.execute(
                "SELECT set_config('lock_timeout', '0', true), set_config('statement_timeout', '0', true)"
            )
            # Serialises concurrent `opsbot migrate` runs; released when this transaction ends.
            await tx.execute("SELECT pg_advisory_xact_lock(?)", (MIGRATION_LOCK,))
            return await apply_migrations(tx)

    async def writable(self) -> None:
        await self.run(probe_write)

    async def ping(self) -> str:
        async with self.transaction() as tx:
            version = await schema_version(tx)
        state = "ok" if version == LATEST else f"schema v{version}, expected v{LATEST}"
        return f"postgresql {state}"

    def session_lock(self, name: str, *, idle_timeout: float | None = None) -> AdvisoryLock:
        return AdvisoryLock(self._url, name, timeout=self._timeout, idle_timeout=idle_timeout)


def _has_input(conn: psycopg.AsyncConnection[Row]) -> bool:
    """Whether an idle connection's socket has anything to read (no waiting, no round trip)."""
    try:
        readable, _, _ = select.select([conn.fileno()], [], [], 0)
    except (OSError, ValueError, psycopg.Error):
        return True
    return bool(readable)
