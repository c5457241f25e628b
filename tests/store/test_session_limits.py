"""Limits on the bot's PostgreSQL sessions: a frozen instance's open transaction cannot stall the others,
and what the limits end surfaces as a store blip (retryable), never a hang."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator

import psycopg
import pytest

from bot.errors import StoreUnavailable
from bot.store.postgres import PostgresStore, SessionLimits

SHORT = SessionLimits(lock_timeout=0.3, idle_in_transaction=1.0, statement_timeout=0.5)


@pytest.fixture
async def stores(pg_url: str) -> AsyncIterator[tuple[PostgresStore, PostgresStore]]:
    a, b = PostgresStore(pg_url, limits=SHORT), PostgresStore(pg_url, limits=SHORT)
    await a.migrate()
    await b.open()
    async with a.transaction() as tx:
        await tx.execute("INSERT INTO kv (key, value) VALUES ('limits', '0') ON CONFLICT DO NOTHING")
    try:
        yield a, b
    finally:
        await a.close()
        await b.close()


async def test_a_frozen_transaction_blocks_others_briefly_then_is_ended(
    stores: tuple[PostgresStore, PostgresStore],
) -> None:
    frozen, other = stores
    with pytest.raises(StoreUnavailable):  # the frozen one finds its transaction was ended
        async with frozen.transaction() as tx:
            await tx.execute("UPDATE kv SET value = 'frozen' WHERE key = 'limits'")
            started = time.monotonic()
            with pytest.raises(StoreUnavailable, match="lock_timeout"):  # a blip, not a queue
                async with other.transaction() as tx2:
                    await tx2.execute("UPDATE kv SET value = 'other' WHERE key = 'limits'")
            assert time.monotonic() - started < 0.9
            await asyncio.sleep(1.5)  # frozen past idle_in_transaction: the server ends it
            await tx.execute("SELECT 1")
    async with other.transaction() as tx2:  # its row locks went with it
        await tx2.execute("UPDATE kv SET value = 'other' WHERE key = 'limits'")
        row = await tx2.fetchone("SELECT value FROM kv WHERE key = 'limits'")
    assert row is not None and row["value"] == "other"


async def test_a_runaway_query_is_cancelled_as_a_blip(stores: tuple[PostgresStore, PostgresStore]) -> None:
    store, _ = stores
    with pytest.raises(StoreUnavailable, match="statement_timeout"):
        async with store.transaction() as tx:
            await tx.execute("SELECT pg_sleep(2)")


async def test_the_limits_apply_to_pooled_sessions_only(pg_url: str) -> None:
    store = PostgresStore(pg_url)
    await store.migrate()  # migrations wait for each other however long (start-up bounds the whole)
    try:
        async with store.transaction() as tx:
            row = await tx.fetchone(
                "SELECT current_setting('lock_timeout') AS l, current_setting('statement_timeout') AS s,"
                " current_setting('idle_in_transaction_session_timeout') AS i"
            )
        assert row == {"l": "3s", "s": "30s", "i": "10s"}
    finally:
        await store.close()
    with psycopg.connect(pg_url) as other:  # a session of anyone else keeps the server's defaults
        assert other.execute("SHOW lock_timeout").fetchone() == ("0",)
