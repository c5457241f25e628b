"""Timeline pages read backwards from the end (the later half) match the pages read forwards."""

from __future__ import annotations

from bot.store import Store, Tx, repo
from tests.store.test_contract import incident


async def test_every_page_is_the_same_slice_of_the_time_ordered_timeline(store: Store) -> None:
    async def seed(tx: Tx) -> None:
        await repo.insert_incident(tx, incident(1))
        for n in range(97):  # recorded out of order: an event can be added for an earlier time
            at = 1_800_000_000.0 + (n * 37) % 97
            await repo.append_event(tx, incident=1, kind="note", actor="U0ALEX", text=f"n{n}", at=at)

    await store.run(seed)
    async with store.transaction() as tx:
        everything = await repo.timeline(tx, 1)
        total = await repo.timeline_count(tx, 1)
        pages = [await repo.timeline(tx, 1, offset=o, limit=10, total=total) for o in range(0, total, 10)]
    assert total == len(everything) == 97
    assert [e.created_at for e in everything] == sorted(e.created_at for e in everything)
    assert [e.id for page in pages for e in page] == [e.id for e in everything]
    assert [len(page) for page in pages] == [10] * 9 + [7]
