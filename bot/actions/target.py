"""The production database, for changing it: OPS_DATABASE_ADMIN_URL, a dedicated role with
``pg_signal_backend`` and the listed table rights, never a superuser. Every statement runs under a
statement_timeout; previews count inside a transaction that is always rolled back."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import asynccontextmanager
from typing import Any

import psycopg
from psycopg.rows import dict_row

from bot.actions.model import Session, SignalKind
from bot.errors import Forbidden, UpstreamError
from bot.probes.postgres import redact_sql

Row = dict[str, Any]
APPLICATION_NAME = "opsbot-actions"
MAX_SESSIONS = 50
# A preview or a change never queues behind another session's lock: waiting would hold everyone who
# queues behind it in turn (the pile-up the runbook's stuck-locks scenario is about). Fail and say so.
LOCK_WAIT_MS = 2000
LOCKED = (
    "a row or table it needs is locked by another session, so nothing was changed;"
    " see who holds it with `/ops db blocked`, then try again"
)

# Never signalled, whatever was asked: opsbot's own sessions, server processes, replication, superusers.
# Any client may call itself "opsbot…": only opsbot's roles with that name are opsbot's own sessions.
_PROTECTED = """CASE
    WHEN a.pid = pg_backend_pid() OR (coalesce(a.application_name, '') LIKE 'opsbot%%'
        AND (a.usename = current_user OR a.usename::text = ANY(%(own_roles)s::text[])))
        THEN 'opsbot''s own session'
    WHEN a.backend_type = 'walsender' THEN 'replication'
    WHEN a.backend_type <> 'client backend' THEN 'a server process (' || a.backend_type || ')'
    WHEN r.rolsuper IS NULL OR r.rolsuper THEN 'superuser'
    WHEN r.rolreplication THEN 'replication'
END"""

_SESSIONS = f"""SELECT a.pid, coalesce(a.usename, '') AS usename, coalesce(a.application_name, '') AS app,
    coalesce(a.state, '') AS state, extract(epoch FROM clock_timestamp() - a.query_start) AS secs,
    coalesce(a.query, '') AS query, (extract(epoch FROM a.backend_start) * 1000000)::bigint AS started_us,
    pg_blocking_pids(a.pid) AS blocked_by,
    ARRAY(SELECT b.pid FROM pg_stat_activity b WHERE a.pid = ANY(pg_blocking_pids(b.pid))) AS blocking,
    {_PROTECTED} AS protected
FROM pg_stat_activity a LEFT JOIN pg_roles r ON r.oid = a.usesysid"""

_SIGNAL = {"cancel": "pg_cancel_backend", "terminate": "pg_terminate_backend"}


class AdminDb:
    """One connection per use, as the admin role; refuses to work through a superuser."""

    def __init__(self, url: str, *, timeout_s: float, own_roles: Sequence[str] = ()) -> None:
        self._url = url
        self._timeout_s = timeout_s
        self._own_roles = list(own_roles)  # opsbot's other roles (store, diagnostics), besides this one
        self.role_name = "the admin role"  # the actual role, once connected

    @asynccontextmanager
    async def _connect(self) -> AsyncIterator[psycopg.AsyncConnection[Row]]:
        try:
            conn = await psycopg.AsyncConnection.connect(
                self._url,
                autocommit=True,
                row_factory=dict_row,
                prepare_threshold=None,
                connect_timeout=max(1, int(self._timeout_s)),
                application_name=APPLICATION_NAME,
                options=f"-c statement_timeout={int(self._timeout_s * 1000)} -c lock_timeout={LOCK_WAIT_MS}",
            )
        except psycopg.Error as exc:
            raise UpstreamError(f"cannot reach the database as the admin role ({_describe(exc)})") from exc
        try:
            cur = await conn.execute(
                "SELECT current_user AS role, rolsuper FROM pg_roles WHERE rolname = current_user"
            )
            me = await cur.fetchone()
            if me is None or me["rolsuper"]:
                raise Forbidden(
                    "OPS_DATABASE_ADMIN_URL connects as a superuser; opsbot acts only through a dedicated"
                    " role with pg_signal_backend and the listed table rights (docs/operations.md)."
                )
            self.role_name = str(me["role"])
            yield conn
        except psycopg.errors.LockNotAvailable as exc:
            raise UpstreamError(LOCKED) from exc
        except psycopg.Error as exc:
            raise UpstreamError(f"the database refused ({_describe(exc)})") from exc
        finally:
            await conn.close()

    async def session(self, pid: int) -> list[Session]:
        """The backend ``pid`` (none when it is gone)."""
        return await self._sessions("a.pid = %(pid)s", {"pid": pid})

    async def long_running(self, minutes: float, *, active_only: bool) -> list[Session]:
        """Backends whose current query (or open transaction's last one) started ``minutes`` ago or more.

        ``active_only`` leaves out sessions idle in a transaction: a cancel would not touch them."""
        state = "a.state = 'active'" if active_only else "a.state IS NOT NULL AND a.state <> 'idle'"
        where = (
            f"{state} AND a.backend_type IN ('client backend', 'walsender')"
            " AND a.query_start <= clock_timestamp() - make_interval(secs => %(secs)s)"
        )
        return await self._sessions(where, {"secs": minutes * 60})

    async def _sessions(self, where: str, params: Mapping[str, Any]) -> list[Session]:
        sql = f"{_SESSIONS} WHERE {where} ORDER BY a.query_start NULLS LAST LIMIT {MAX_SESSIONS}"
        async with self._connect() as conn:
            cur = await conn.execute(sql, {**params, "own_roles": self._own_roles})
            return [_session(r) for r in await cur.fetchall()]

    async def signal(self, signal: SignalKind, targets: Sequence[tuple[int, int]]) -> list[tuple[int, bool]]:
        """Signal the listed backends that are still the same sessions and still not protected."""
        if not targets:
            return []
        sql = (
            f"SELECT a.pid, {_SIGNAL[signal]}(a.pid) AS ok FROM pg_stat_activity a"
            " LEFT JOIN pg_roles r ON r.oid = a.usesysid"
            " JOIN unnest(%(pids)s::int[], %(starts)s::bigint[]) AS t(pid, started) ON t.pid = a.pid"
            " AND t.started = (extract(epoch FROM a.backend_start) * 1000000)::bigint"
            f" WHERE ({_PROTECTED}) IS NULL ORDER BY a.pid"
        )
        params = {
            "pids": [p for p, _ in targets],
            "starts": [s for _, s in targets],
            "own_roles": self._own_roles,
        }
        async with self._connect() as conn:
            cur = await conn.execute(sql, params)
            return [(int(r["pid"]), bool(r["ok"])) for r in await cur.fetchall()]

    async def run(self, statements: Sequence[str], params: Mapping[str, str], *, commit: bool) -> list[int]:
        """Run the statements in one transaction; rows each touched. ``commit=False`` always rolls back."""
        counts: list[int] = []
        async with self._connect() as conn, conn.transaction(force_rollback=not commit):
            for statement in statements:
                cur = await conn.execute(statement.encode(), params)
                counts.append(max(cur.rowcount, 0))
        return counts


def _session(r: Row) -> Session:
    return Session(
        pid=int(r["pid"]),
        user=str(r["usename"]),
        application=str(r["app"]),
        state=str(r["state"]),
        age_s=float(r["secs"] or 0),
        query=redact_sql(str(r["query"]), 120),
        started_us=int(r["started_us"] or 0),
        blocked_by=tuple(int(p) for p in r["blocked_by"] or ()),
        blocking=tuple(int(p) for p in r["blocking"] or ()),
        protected=r["protected"],
    )


def _describe(exc: psycopg.Error) -> str:
    """The server's own words, never the connection string."""
    diag = getattr(exc, "diag", None)
    primary = diag.message_primary if diag is not None else None
    return f"{exc.__class__.__name__}: {primary}" if primary else exc.__class__.__name__
