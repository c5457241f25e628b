"""SQLite runs short transactions on the event loop when the write lock is free, and on its own thread
when it is not: either way each commits whole or not at all."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Awaitable, Callable
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


def commits_of(store: SqliteStore) -> list[str]:
    """The COMMITs the inline connection makes from now on."""
    seen: list[str] = []
    store._inline.conn.set_trace_callback(  # type: ignore[union-attr]
        lambda sql: seen.append(sql) if sql == "COMMIT" else None
    )
    return seen


async def test_bodies_ready_together_commit_together(tmp_path: Path) -> None:
    store = await opened(tmp_path / "s.db")
    try:
        commits = commits_of(store)

        def setting(n: int) -> Callable[[Tx], Awaitable[int]]:
            async def body(tx: Tx) -> int:
                await repo.set_value(tx, f"group:{n}", str(n))
                return n

            return body

        assert await asyncio.gather(*(store.run(setting(n)) for n in range(10))) == list(range(10))
        assert commits == ["COMMIT"]  # one write to the log for all ten
        async with store.transaction() as tx:
            assert len(await repo.values_with_prefix(tx, "group:")) == 10
    finally:
        await store.close()


async def test_a_member_that_fails_is_undone_alone(tmp_path: Path) -> None:
    store = await opened(tmp_path / "s.db")
    try:
        await store.run(lambda tx: repo.claim(tx, "taken", 0.0))

        async def good(tx: Tx) -> None:
            await repo.set_value(tx, "good", "1")

        async def bad(tx: Tx) -> None:
            await repo.set_value(tx, "bad", "half")
            await repo.claim(tx, "taken", 1.0)  # a redelivery

        async def leader_fails(tx: Tx) -> None:
            await repo.set_value(tx, "leader", "half")
            raise RuntimeError("refused")

        results = await asyncio.gather(
            store.run(good), store.run(bad), store.run(good), return_exceptions=True
        )
        assert results[0] is None and isinstance(results[1], Conflict) and results[2] is None
        results = await asyncio.gather(store.run(leader_fails), store.run(good), return_exceptions=True)
        assert isinstance(results[0], RuntimeError) and results[1] is None
        async with store.transaction() as tx:
            assert await repo.get_value(tx, "good") == "1"
            assert await repo.get_value(tx, "bad") is None
            assert await repo.get_value(tx, "leader") is None
    finally:
        await store.close()


async def test_a_member_cancelled_before_the_commit_is_stored_all_the_same(tmp_path: Path) -> None:
    """Its body ran whole inside the group's transaction: like a body shielded on the thread, it is
    stored even though its caller stopped waiting (a redelivery then finds its delivery key)."""
    store = await opened(tmp_path / "s.db")
    try:

        async def first(tx: Tx) -> None:
            await repo.set_value(tx, "first", "1")

        async def second(tx: Tx) -> None:
            await repo.set_value(tx, "second", "1")

        leader = asyncio.create_task(store.run(first))
        member = asyncio.create_task(store.run(second))
        await asyncio.sleep(0)  # the leader ran its body and yields; the member joins and waits
        await asyncio.sleep(0)
        member.cancel()
        await leader
        with pytest.raises(asyncio.CancelledError):
            await member
        async with store.transaction() as tx:
            assert await repo.get_value(tx, "second") == "1"
    finally:
        await store.close()
