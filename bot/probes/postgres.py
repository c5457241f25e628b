"""The production database, read-only: every query runs in a READ ONLY transaction with a statement_timeout.

OPS_DATABASE_URL is meant for a monitoring role (pg_monitor); nothing here writes or ends a session.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import psycopg
from pglast import parser
from pglast.parser import ParseError, Token
from psycopg.rows import dict_row

from bot.incidents.model import format_duration
from bot.probes import Result, State, grade, unknown
from bot.settings import SqlCheck, Thresholds

Row = dict[str, Any]

# Tokens that can carry customer data: string, bit-string and numeric constants, and comments.
_DATA_TOKENS = {"SCONST", "USCONST", "BCONST", "XCONST", "ICONST", "FCONST", "C_COMMENT", "SQL_COMMENT"}
_NUMERIC = {"ICONST", "FCONST"}


def redact_sql(query: str, limit: int = 160) -> str:
    """A query excerpt with literals, numbers and comments replaced, so no customer data leaks.

    PostgreSQL's own lexer (pglast) finds the tokens, so E'...', $tag$...$tag$, U&'...' and nested
    comments are what PostgreSQL says they are. pg_stat_activity cuts query text at 1,024 bytes, so
    whatever the lexer cannot finish (an unterminated literal, comment or anything it refuses) is
    treated as a literal that runs to the end.
    """
    out: list[str] = []
    pos = 0
    try:
        tokens = parser.scan(query)
        stop = len(query)
    except ParseError as exc:
        stop = exc.args[1] if len(exc.args) > 1 and isinstance(exc.args[1], int) else 0
        tokens = _scan_prefix(query[:stop])
    for token in tokens:
        if token.name not in _DATA_TOKENS:
            continue
        out.append(query[pos : token.start])
        out.append("N" if token.name in _NUMERIC else "'…'")
        pos = token.end + 1
    out.append(query[pos:stop])
    if stop < len(query):
        out.append("'…'")
    text = " ".join("".join(out).split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _scan_prefix(prefix: str) -> list[Token]:
    try:
        return list(parser.scan(prefix))
    except ParseError:  # the prefix alone fails too: show none of it rather than guess
        return (
            [Token(start=0, end=max(0, len(prefix) - 1), name="SCONST", kind="NO_KEYWORD")] if prefix else []
        )


class Target:
    """How to reach the production database for one check."""

    def __init__(self, url: str, *, timeout_s: float) -> None:
        self.url = url
        self.timeout_s = timeout_s

    @asynccontextmanager
    async def read_only(self) -> AsyncIterator[psycopg.AsyncConnection[Row]]:
        conn = await psycopg.AsyncConnection.connect(
            self.url,
            autocommit=False,
            row_factory=dict_row,
            prepare_threshold=None,
            connect_timeout=max(1, int(self.timeout_s)),
            application_name="opsbot-diagnostics",
        )
        try:
            async with conn.transaction():
                await conn.execute("SET TRANSACTION READ ONLY")
                ms = str(max(100, int(self.timeout_s * 1000)))
                await conn.execute("SELECT set_config('statement_timeout', %s, true)", (ms,))
                yield conn
        finally:
            await conn.close()

    async def rows(self, sql: str, params: tuple[Any, ...] | None = None) -> list[Row]:
        async with self.read_only() as conn:
            cur = await conn.execute(sql, params)
            return await cur.fetchall()


async def connections(target: Target, t: Thresholds) -> Result:
    name = "DB connections"
    rows = await target.rows(
        "SELECT count(*) AS used, current_setting('max_connections')::int AS max FROM pg_stat_activity"
    )
    used, limit = int(rows[0]["used"]), int(rows[0]["max"])
    pct = 100.0 * used / limit if limit else 0.0
    figure = f"{used}/{limit} ({pct:.0f}%)"
    threshold = f"warn at {t.db_connections_warn_pct:g}%, fail at {t.db_connections_fail_pct:g}%"
    state = grade(pct, warn=t.db_connections_warn_pct, fail=t.db_connections_fail_pct)
    summary = {
        State.OK: "within limits",
        State.WARN: "nearing the limit",
        State.FAIL: "pool nearly exhausted",
    }[state]
    return Result(name, state, summary, figure, threshold)


async def long_queries(target: Target, t: Thresholds, *, minutes: float | None = None) -> Result:
    """Queries running longer than the runbook's 5 minutes (``minutes=0``: every running query)."""
    limit = t.long_query_minutes if minutes is None else minutes
    name = "Long-running queries" if minutes != 0 else "Running queries"
    rows = await target.rows(
        "SELECT pid, usename, state, extract(epoch FROM clock_timestamp() - query_start) AS secs, query"
        " FROM pg_stat_activity WHERE state IS NOT NULL AND state <> 'idle' AND pid <> pg_backend_pid()"
        " AND backend_type = 'client backend'"
        " AND query_start <= clock_timestamp() - make_interval(secs => %s)"
        " ORDER BY query_start LIMIT 20",
        (limit * 60,),
    )
    details = tuple(
        f"pid {r['pid']} {r['usename']} {format_duration(float(r['secs'] or 0))} ({r['state']}): "
        f"{redact_sql(r['query'] or '')}"
        for r in rows
    )
    threshold = f"none older than {limit:g} min"
    if minutes == 0:
        return Result(name, State.OK, f"{len(rows)} running", str(len(rows)), None, details)
    state = State.WARN if rows else State.OK
    summary = f"{len(rows)} older than {limit:g} min" if rows else "none"
    return Result(name, state, summary, str(len(rows)), threshold, details)


async def blocked(target: Target, t: Thresholds) -> Result:
    name = "Blocked queries"
    rows = await target.rows(
        "SELECT blocked.pid, blocked.usename, blocked.query,"
        " extract(epoch FROM clock_timestamp() - blocked.query_start) AS secs,"
        " blocker.pid AS blocker_pid, blocker.usename AS blocker_user, blocker.state AS blocker_state,"
        " blocker.query AS blocker_query"
        " FROM pg_stat_activity blocked"
        " CROSS JOIN LATERAL unnest(pg_blocking_pids(blocked.pid)) AS b(pid)"
        " JOIN pg_stat_activity blocker ON blocker.pid = b.pid"
        " ORDER BY blocked.query_start LIMIT 20"
    )
    details = tuple(
        f"pid {r['pid']} ({r['usename']}, waiting {format_duration(float(r['secs'] or 0))}) "
        f"blocked by pid {r['blocker_pid']} ({r['blocker_user']}, {r['blocker_state']}): "
        f"{redact_sql(r['blocker_query'] or '', 100)}"
        for r in rows
    )
    longest = max((float(r["secs"] or 0) for r in rows), default=0.0)
    if not rows:
        return Result(name, State.OK, "none", "0", "none waiting on a lock")
    state = State.FAIL if longest >= t.long_query_minutes * 60 else State.WARN
    return Result(
        name, state, f"{len(rows)} waiting on locks", str(len(rows)), "none waiting on a lock", details
    )


async def slow_queries(target: Target, t: Thresholds) -> Result:
    name = "Slowest statements"
    ext = await target.rows("SELECT 1 FROM pg_extension WHERE extname = 'pg_stat_statements'")
    if not ext:
        return Result(name, State.NOT_CONFIGURED, "pg_stat_statements is not installed in this database")
    rows = await target.rows(
        "SELECT calls, mean_exec_time AS mean_ms, total_exec_time AS total_ms, query FROM pg_stat_statements"
        " WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database())"
        " AND query NOT ILIKE '%%pg_stat_statements%%' ORDER BY mean_exec_time DESC LIMIT 5"
    )
    limit_ms = t.p95_latency_s * 1000
    details = tuple(
        f"{float(r['mean_ms']):.0f} ms mean × {r['calls']} calls: {redact_sql(r['query'] or '', 120)}"
        for r in rows
    )
    top = float(rows[0]["mean_ms"]) if rows else 0.0
    state = State.WARN if top > limit_ms else State.OK
    return Result(
        name, state, f"slowest mean {top:.0f} ms", f"{top:.0f} ms", f"mean under {limit_ms:.0f} ms", details
    )


async def table_sizes(target: Target, t: Thresholds) -> Result:
    rows = await target.rows(
        "SELECT schemaname, relname, pg_total_relation_size(relid) AS bytes,"
        " pg_size_pretty(pg_total_relation_size(relid)) AS size FROM pg_statio_user_tables"
        " ORDER BY pg_total_relation_size(relid) DESC LIMIT 10"
    )
    details = tuple(f"{r['schemaname']}.{r['relname']}: {r['size']}" for r in rows)
    total = sum(int(r["bytes"]) for r in rows)
    return Result(
        "Largest tables",
        State.OK,
        f"top {len(rows)} tables",
        f"{total / 1e6:.1f} MB in the top {len(rows)}",
        None,
        details,
    )


async def index_hints(target: Target, t: Thresholds) -> Result:
    name = "Missing-index hints"
    rows = await target.rows(
        "SELECT schemaname, relname, seq_scan, coalesce(idx_scan, 0) AS idx_scan, n_live_tup"
        " FROM pg_stat_user_tables"
        " WHERE n_live_tup >= 1000 AND seq_scan > %s * greatest(coalesce(idx_scan, 0), 1)"
        " ORDER BY seq_tup_read DESC LIMIT 10",
        (t.seq_scan_ratio,),
    )
    details = tuple(
        f"{r['schemaname']}.{r['relname']}: {r['seq_scan']} seq scans vs {r['idx_scan']} index scans, "
        f"{r['n_live_tup']} rows"
        for r in rows
    )
    state = State.WARN if rows else State.OK
    summary = f"{len(rows)} table(s) read mostly by sequential scans" if rows else "none"
    return Result(
        name, state, summary, str(len(rows)), f"seq scans under {t.seq_scan_ratio:g}× index scans", details
    )


async def cache_hit(target: Target, t: Thresholds) -> Result:
    name = "Cache hit ratio"
    rows = await target.rows(
        "SELECT sum(heap_blks_hit) AS hit, sum(heap_blks_read) AS read FROM pg_statio_user_tables"
    )
    hit, read = rows[0]["hit"], rows[0]["read"]
    if hit is None or read is None or (hit + read) == 0:
        return unknown(name, "no table reads recorded yet")
    pct = 100.0 * float(hit) / float(hit + read)
    state = State.WARN if pct < t.cache_hit_warn_pct else State.OK
    return Result(name, state, "buffer cache", f"{pct:.2f}%", f"at least {t.cache_hit_warn_pct:g}%")


async def sql_check(target: Target, check: SqlCheck) -> Result:
    """A named check from config, such as the runbook's failed orders in the last hour."""
    rows = await target.rows(check.sql)
    if not rows:
        return unknown(check.name, "the query returned no row")
    value = next(iter(rows[0].values()))
    if value is None:
        return unknown(check.name, "the query returned NULL")
    figure = float(value)
    threshold = f"warn at {check.warn:g}" + (f", fail at {check.fail:g}" if check.fail is not None else "")
    return Result(
        check.name, grade(figure, warn=check.warn, fail=check.fail), "custom check", f"{figure:g}", threshold
    )
