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
