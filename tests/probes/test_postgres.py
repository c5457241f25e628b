"""Database diagnostics against a real PostgreSQL with real long-running and blocked sessions."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import psycopg
import pytest

from bot.probes import State, gather
from bot.probes import postgres as pg
from bot.probes.catalog import Catalog
from bot.probes.specs import Check
from bot.settings import Settings, SqlCheck, Thresholds


@pytest.fixture
async def target(pg_url: str) -> pg.Target:
    async with await psycopg.AsyncConnection.connect(pg_url, autocommit=True) as conn:
        await conn.execute(
            "CREATE TABLE orders (id serial PRIMARY KEY, consumer_id int, status text,"
            " created_at timestamptz DEFAULT now())"
        )
        await conn.execute(
            "INSERT INTO orders (consumer_id, status) SELECT g % 100, CASE WHEN g % 50 = 0"
            " THEN 'failed' ELSE 'paid' END FROM generate_series(1, 5000) g"
        )
        await conn.execute("ANALYZE orders")
    return pg.Target(pg_url, timeout_s=3)


@pytest.fixture
async def sessions(pg_url: str) -> AsyncIterator[list[psycopg.AsyncConnection[object]]]:
    opened: list[psycopg.AsyncConnection[object]] = []
    yield opened
    for conn in opened:
        await conn.cancel_safe()
        await conn.close()


async def open_session(
    pg_url: str, sessions: list[psycopg.AsyncConnection[object]]
) -> psycopg.AsyncConnection[object]:
    conn = await psycopg.AsyncConnection.connect(pg_url, autocommit=True)
    sessions.append(conn)
    return conn


async def test_connections_against_max(target: pg.Target) -> None:
    result = await pg.connections(target, Thresholds())
    assert result.state is State.OK and result.figure is not None and "/200 (" in result.figure
    result = await pg.connections(target, Thresholds(db_connections_warn_pct=0.1, db_connections_fail_pct=90))
    assert result.state is State.WARN and result.threshold == "warn at 0.1%, fail at 90%"
    result = await pg.connections(
        target, Thresholds(db_connections_warn_pct=0.1, db_connections_fail_pct=0.2)
    )
    assert result.state is State.FAIL


async def test_long_running_query_is_found_with_literals_redacted(
    target: pg.Target, pg_url: str, sessions: list
) -> None:
    conn = await open_session(pg_url, sessions)
    sleeper = asyncio.create_task(
        conn.execute("SELECT pg_sleep(30), 'card 4242424242424242' AS secret, 12345")
    )
    await asyncio.sleep(1.2)
    result = await pg.long_queries(target, Thresholds(), minutes=0.01)
    assert result.state is State.WARN and result.figure == "1"
    detail = result.details[0]
    assert "pg_sleep(N)" in detail and "'…'" in detail
    assert "4242" not in detail and "12345" not in detail
    assert (await pg.long_queries(target, Thresholds())).state is State.OK  # nothing older than 5 minutes
    everything = await pg.long_queries(target, Thresholds(), minutes=0)
    assert everything.state is State.OK and everything.summary == "1 running"
    sleeper.cancel()


async def test_blocked_query_names_its_blocker(target: pg.Target, pg_url: str, sessions: list) -> None:
    holder = await open_session(pg_url, sessions)
    await holder.execute("BEGIN")
    await holder.execute("LOCK TABLE orders IN ACCESS EXCLUSIVE MODE")
    holder_pid = holder.info.backend_pid
    waiter = await open_session(pg_url, sessions)
    waiting = asyncio.create_task(waiter.execute("SELECT count(*) FROM orders"))
    await asyncio.sleep(0.5)
    result = await pg.blocked(target, Thresholds())
    assert result.state is State.WARN and result.summary == "1 waiting on locks"
    assert f"blocked by pid {holder_pid}" in result.details[0] and "LOCK TABLE orders" in result.details[0]
    result = await pg.blocked(target, Thresholds(long_query_minutes=0.001))
    assert result.state is State.FAIL
    await holder.execute("ROLLBACK")
    await waiting
    assert (await pg.blocked(target, Thresholds())).state is State.OK


async def test_slow_statements_need_pg_stat_statements(target: pg.Target, pg_url: str) -> None:
    result = await pg.slow_queries(target, Thresholds())
    assert result.state is State.NOT_CONFIGURED
    async with await psycopg.AsyncConnection.connect(pg_url, autocommit=True) as conn:
        try:
            await conn.execute("CREATE EXTENSION pg_stat_statements")
            await conn.execute("SELECT pg_sleep(0.05), count(*) FROM orders WHERE status = 'failed'")
        except psycopg.Error:
            pytest.fail("pg_stat_statements is not loaded in the test cluster")
    result = await pg.slow_queries(target, Thresholds(p95_latency_s=0.01))
    assert result.state is State.WARN
    assert any("pg_sleep" in d for d in result.details)
    assert all("failed" not in d for d in result.details)  # literals redacted


async def test_table_sizes_index_hints_cache(target: pg.Target, pg_url: str) -> None:
    sizes = await pg.table_sizes(target, Thresholds())
    assert sizes.state is State.OK and sizes.details[0].startswith("public.orders: ")
    async with await psycopg.AsyncConnection.connect(pg_url, autocommit=True) as conn:
        for _ in range(30):
            await conn.execute("SELECT count(*) FROM orders WHERE consumer_id = 7")
    hints = await pg.index_hints(target, Thresholds())
    assert hints.state is State.WARN and hints.details[0].startswith("public.orders: ")
    cache = await pg.cache_hit(target, Thresholds())
    assert cache.state in (State.OK, State.WARN) and cache.figure is not None and cache.figure.endswith("%")
    assert (await pg.cache_hit(target, Thresholds(cache_hit_warn_pct=100.1))).state is State.WARN


async def test_named_sql_check_runbook_failed_orders(target: pg.Target) -> None:
    check = SqlCheck(
        name="failed orders (1h)",
        warn=1,
        fail=200,
        sql="SELECT count(*) FROM orders WHERE created_at > NOW() - INTERVAL '1 hour' AND status = 'failed'",
    )
    result = await pg.sql_check(target, check)
    assert (
        result.state is State.WARN and result.figure == "100" and result.threshold == "warn at 1, fail at 200"
    )


async def test_sessions_are_read_only_and_time_limited(target: pg.Target) -> None:
    write = SqlCheck(name="sneaky write", sql="DELETE FROM orders RETURNING 1")
    slow = SqlCheck(name="too slow", sql="SELECT 1 FROM pg_sleep(10)")
    fast_target = pg.Target(target.url, timeout_s=0.5)
    results = {
        r.name: r
        for r in await gather(
            [
                _probe("sneaky write", pg.sql_check, target, write),
                _probe("too slow", pg.sql_check, fast_target, slow),
            ],
            within=5,
        )
    }
    assert (
        results["sneaky write"].state is State.UNKNOWN
        and "ReadOnlySqlTransaction" in results["sneaky write"].summary
    )
    assert results["too slow"].state is State.UNKNOWN and "QueryCanceled" in results["too slow"].summary
    rows = await target.rows("SELECT count(*) AS n FROM orders")
    assert rows[0]["n"] == 5000


async def test_unreachable_database_is_unknown() -> None:
    settings = Settings(ops_database_url="postgresql://monitor:s3cret@127.0.0.1:1/shop", probe_timeout_s=1)
    import httpx

    async with httpx.AsyncClient() as http:
        results = await gather(Catalog(settings, http).probes([Check.DB_CONNECTIONS]), within=3)
    assert results[0].state is State.UNKNOWN
    assert "s3cret" not in results[0].summary


def redact_cases() -> list[tuple[str, str]]:
    return [
        (
            "SELECT * FROM users WHERE email = 'a@b.c' AND id = 42",
            "SELECT * FROM users WHERE email = '…' AND id = N",
        ),
        ("UPDATE t SET note = 'it''s fine' WHERE x = $$secret$$", "UPDATE t SET note = '…' WHERE x = '…'"),
        ("SELECT $1, col2 FROM t3", "SELECT $1, col2 FROM t3"),
        # pg_stat_activity cuts at 1,024 bytes: what is left open is a literal to the end
        ("INSERT INTO cards VALUES ('4242 4242 4242 4242', 'jo", "INSERT INTO cards VALUES ('…', '…'"),
        ("SELECT E'it\\'s 4242 4242'", "SELECT '…'"),
        ("SELECT E'cut \\' 4242", "SELECT '…'"),
        ("SELECT $tag$ ssn 123-45-6789", "SELECT '…'"),
        ("SELECT $tag$ a $tag$, $$b$$", "SELECT '…', '…'"),
        ("SELECT 1 /* customer jo@x.io */ FROM t -- card 4242", "SELECT N '…' FROM t '…'"),
        ("SELECT 1 /* customer jo@x.io", "SELECT N '…'"),
        ("SELECT U&'d\\0061t' , B'1010', X'1F'", "SELECT '…' , '…', '…'"),
    ]


@pytest.mark.parametrize(("query", "expected"), redact_cases())
def test_redact_sql(query: str, expected: str) -> None:
    assert pg.redact_sql(query) == expected


def _probe(name: str, fn, *args):  # type: ignore[no-untyped-def]
    from functools import partial

    from bot.probes import Probe

    return Probe(name, name, partial(fn, *args))


async def test_database_errors_show_the_servers_diagnosis_without_secrets(pg_url: str) -> None:
    import httpx
    from psycopg.conninfo import conninfo_to_dict, make_conninfo

    params = conninfo_to_dict(pg_url)
    missing = make_conninfo(**{**params, "dbname": "no_such_shop", "password": "s3cret-pw"})
    settings = Settings(ops_database_url=missing, probe_timeout_s=3)
    async with httpx.AsyncClient() as http:
        (result,) = await gather(Catalog(settings, http).probes([Check.DB_CONNECTIONS]), within=5)
    assert result.state is State.UNKNOWN
    assert 'database "no_such_shop" does not exist' in result.summary, result.summary
    assert "s3cret-pw" not in result.summary
