"""The lease: one holder at a time, gone with its holder, and a term that fences whoever lost it."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import time

import psycopg
import pytest

from bot.jobs.lease import Lease, LeaseLost
from bot.store import Store, open_store
from bot.store.postgres import PostgresStore
from tests.harness import Harness


async def test_one_holder_and_a_newer_term_after_a_handover(store: Store) -> None:
    # Same host, same pid: nothing but the lock decides.
    a, b = Lease(store, "t", holder="box:1:a"), Lease(store, "t", holder="box:1:a")
    first = await a.acquire()
    assert first is not None and a.held
    assert await b.acquire() is None and not b.held
    await a.release()
    second = await b.acquire()
    assert second is not None and second.number > first.number and second.previous_holder == "box:1:a"


async def test_a_holder_that_lost_its_term_is_fenced_out(store: Store, store_url: str) -> None:
    a, b = Lease(store, "t"), Lease(store, "t")
    await a.acquire()
    await kill_lock(a, store_url)  # the lock dies under a holder that has not noticed yet
    assert await b.acquire() is not None
    async with store.transaction() as tx:
        with pytest.raises(LeaseLost):
            await a.check(tx)  # its writes are refused ...
        assert await b.check(tx) == b.term
    assert not await a.renew() and not a.held  # ... and it stops at its next renewal
    await b.release()


async def kill_lock(lease: Lease, store_url: str) -> None:
    """Make the lease's lock vanish the way a dead holder's does."""
    lock = lease._lock
    if store_url.startswith("sqlite"):
        await lock.release()  # what the kernel does when the holding process dies
        return
    with psycopg.connect(store_url, autocommit=True) as admin:
        admin.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'opsbot-lease'"
            " AND datname = current_database()"
        )


def test_the_lock_is_free_once_its_holder_is_killed(store_url: str) -> None:
    """A holder in another process, SIGKILLed: the lock is free at once (no pid checks, no expiry)."""
    script = (
        "import asyncio, sys, time\n"
        "from bot.store import open_store\n"
        "async def main():\n"
        "    lock = open_store(sys.argv[1]).session_lock('t')\n"
        "    assert await lock.try_acquire()\n"
        "    print('held', flush=True)\n"
        "    time.sleep(60)\n"
        "asyncio.run(main())\n"
    )
    holder = subprocess.Popen([sys.executable, "-c", script, store_url], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"

        async def try_take() -> bool:
            lock = open_store(store_url).session_lock("t")
            got = await lock.try_acquire()
            await lock.release()
            return got

        assert not asyncio.run(try_take())
        holder.kill()
        holder.wait()
        for _ in range(50):
            if asyncio.run(try_take()):
                return
            time.sleep(0.1)
        raise AssertionError("the lock outlived its holder")
    finally:
        holder.kill()


async def test_a_frozen_holder_loses_the_lock_to_another_instance(pg_url: str) -> None:
    """A holder that sends nothing on its lock's connection for ``ttl`` (SIGSTOP, a stalled VM) keeps
    its socket open; the server ends that idle session, so another instance takes over."""
    store = open_store(pg_url)
    await store.migrate()
    a, b = Lease(store, "t", ttl=1.0), Lease(store, "t", ttl=1.0)
    try:
        first = await a.acquire()
        assert first is not None
        assert await b.acquire() is None
        await asyncio.sleep(1.6)  # frozen: no renewal
        assert not a.held  # on waking it knows before sending anything that it may have been replaced
        second = await b.acquire()
        assert second is not None and second.number > first.number
        async with store.transaction() as tx:
            with pytest.raises(LeaseLost):
                await a.check(tx)
        assert not await a.renew() and a.term is None
    finally:
        await b.release()
        await store.close()


async def test_a_holder_keeps_its_lease_while_the_pool_is_exhausted(pg_url: str) -> None:
    """Confirming the lease uses the lock's own connection: a pool starved by load must not make a live
    holder doubt itself (it would keep the lock and deliver nothing), nor free it for another."""
    store = PostgresStore(pg_url, max_size=1, timeout=0.2)
    await store.migrate()
    a, b = Lease(store, "t", ttl=0.9), Lease(open_store(pg_url), "t", ttl=0.9)
    try:
        assert await a.acquire() is not None
        term = a.term
        async with store.transaction():  # the only pooled connection is busy for 2 ttl
            for _ in range(6):
                await asyncio.sleep(0.3)
                assert await a.renew()
                assert a.held and a.term == term
        assert await b.acquire() is None
        async with store.transaction() as tx:
            assert await a.check(tx) == term
    finally:
        await a.release()
        await b.store.close()
        await store.close()


async def test_a_killed_lock_connection_is_noticed_and_delivery_goes_on_in_a_new_term(pg_url: str) -> None:
    bot = await Harness.start(pg_url, outbox_options={"lease_ttl": 1.5})
    try:
        await bot.command("open P1 checkout broken")
        await bot.settle()
        lease = bot.runtime.outbox.lease
        first = lease.term
        assert first is not None and lease.held
        await kill_lock(lease, pg_url)
        for _ in range(40):  # the holder notices within a renewal (ttl / 3), not when asked to send
            await asyncio.sleep(0.1)
            if lease.term != first:
                break
        assert lease.term != first
        await bot.command("note INC-1 after the lock was lost")
        await bot.settle()
        assert lease.held and (lease.term or 0) > first
        assert [t for t in bot.said(1) if "lock was lost" in t] == [
            ":memo: <@U0ONCALL>: after the lock was lost"
        ]
    finally:
        await bot.close()
