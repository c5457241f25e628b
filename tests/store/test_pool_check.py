"""The PostgreSQL pool hands out a live connection without a round trip per checkout: a connection the
server ended is replaced before a transaction gets it, whether it was idle a moment or a long while."""

from __future__ import annotations

import asyncio

import psycopg
import pytest

from bot.store import Tx
from bot.store import postgres as pg
from bot.store.postgres import PostgresStore


async def backend(tx: Tx) -> int:
    row = await tx.fetchone("SELECT pg_backend_pid() AS pid")
    assert row is not None
    return int(row["pid"])


def terminate(pg_url: str, pid: int) -> None:
    with psycopg.connect(pg_url, autocommit=True) as admin:
        admin.execute("SELECT pg_terminate_backend(%s, 5000)", (pid,))


async def test_a_connection_killed_a_moment_after_use_is_replaced_unnoticed(pg_url: str) -> None:
    store = PostgresStore(pg_url, max_size=1)  # far below the idle time that asks for a round trip
    await store.open()
    try:
        first = await store.run(backend)
        terminate(pg_url, first)
        await asyncio.sleep(0.05)
        assert await store.run(backend) != first
    finally:
        await store.close()


async def test_a_silently_dead_connection_idle_for_a_while_is_checked_and_replaced(
    pg_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = PostgresStore(pg_url, max_size=1, check_after_idle=0.3)
    await store.open()
    try:
        first = await store.run(backend)
        # A dropped network says nothing on the socket: only the idle time leads to the round trip.
        monkeypatch.setattr(pg, "_has_input", lambda conn: False)
        terminate(pg_url, first)
        await asyncio.sleep(0.4)
        assert await store.run(backend) != first
    finally:
        await store.close()


async def test_a_busy_connection_is_handed_out_again_without_a_check(
    pg_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    checks = 0
    real = pg.AsyncConnectionPool.check_connection

    async def counted(conn: psycopg.AsyncConnection[pg.Row]) -> None:
        nonlocal checks
        checks += 1
        await real(conn)

    monkeypatch.setattr(pg.AsyncConnectionPool, "check_connection", staticmethod(counted))
    store = PostgresStore(pg_url, max_size=1)
    await store.open()
    try:
        pids = {await store.run(backend) for _ in range(20)}
        assert len(pids) == 1 and checks == 0
    finally:
        await store.close()
