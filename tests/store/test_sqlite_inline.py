"""SQLite runs short transactions on the event loop when the write lock is free, and on its own thread
when it is not: either way each commits whole or not at all."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

import pytest

from bot.store import Conflict, Tx, repo
from bot.store.sqlite import SqliteStore


async def opened(path: Path) -> SqliteStore:
    store = SqliteStore(str(path))
    await store.migrate()
    return store


async def test_a_run_waits_for_another_process_holding_the_write_lock(tmp_path: Path) -> None:
    store = await opened(tmp_path / "s.db")
    other = sqlite3.connect(tmp_path / "s.db", isolation_level=None)
    try:
        other.execute("BEGIN IMMEDIATE")  # another process writing
        other.execute("INSERT INTO kv (key, value) VALUES ('other', '1')")

        async def body(tx: Tx) -> str | None:
            await repo.set_value(tx, "mine", "2")
            return await repo.get_value(tx, "other")

        pending = asyncio.create_task(store.run(body))
        await asyncio.sleep(0.2)
        assert not pending.done()  # queued on the SQLite thread, the loop free meanwhile
        other.execute("COMMIT")
        assert await asyncio.wait_for(pending, 5) == "1"
    finally:
        other.close()
        await store.close()


async def test_a_conflict_inline_rolls_back_everything(tmp_path: Path) -> None:
    store = await opened(tmp_path / "s.db")
    try:
        await store.run(lambda tx: repo.claim(tx, "key-1", 0.0))

        async def again(tx: Tx) -> None:
            await repo.set_value(tx, "half", "written")
            await repo.claim(tx, "key-1", 1.0)

        with pytest.raises(Conflict):
            await store.run(again)
        async with store.transaction() as tx:
            assert await repo.get_value(tx, "half") is None
    finally:
        await store.close()


async def test_a_body_that_suspends_keeps_its_lock_and_others_still_commit(tmp_path: Path) -> None:
    store = await opened(tmp_path / "s.db")
    try:

        async def slow(tx: Tx) -> None:
            await repo.set_value(tx, "slow", "1")
            await asyncio.sleep(0.05)  # suspends mid-transaction
            await repo.set_value(tx, "slow-2", "1")

        async def quick(tx: Tx) -> None:
            await repo.set_value(tx, "quick", "1")

        await asyncio.gather(store.run(slow), store.run(quick), store.run(quick))
        async with store.transaction() as tx:
            written = [k for k, _ in await repo.values_with_prefix(tx, "")]
        assert [k for k in written if k.startswith(("quick", "slow"))] == ["quick", "slow", "slow-2"]
    finally:
        await store.close()
