"""One contract, two stores: every test here runs on SQLite and on PostgreSQL."""

from __future__ import annotations

import asyncio
import contextlib
import subprocess
import sys
import time

import pytest

from bot.errors import StoreUnavailable
from bot.incidents.model import Incident, Severity, Status
from bot.store import Conflict, Store, Tx, open_store, queue, repo
from bot.store.migrations import MIGRATIONS


def incident(number: int, **kw: object) -> Incident:
    now = time.time()
    base = dict(
        number=number,
        title="checkout broken",
        severity=Severity.P1,
        status=Status.INVESTIGATING,
        commander="U1",
        declared_by="U1",
        created_at=now,
        updated_at=now,
        status_times={"investigating": now},
    )
    base.update(kw)
    return Incident(**base)  # type: ignore[arg-type]


async def test_migrate_is_idempotent_and_reports_state(store: Store) -> None:
    assert await store.migrate() == []
    assert (await store.ping()).endswith("ok")


async def test_incident_round_trip(store: Store) -> None:
    async with store.transaction() as tx:
        n = await repo.next_incident_number(tx)
        inc = incident(
            n,
            impact="all payments",
            eta="1h",
            scenario="checkout",
            status_times={"investigating": 1.0, "identified": 2.0},
        )
        await repo.insert_incident(tx, inc)
    async with store.transaction() as tx:
        got = await repo.get_incident(tx, n, for_update=True)
    assert got == inc


async def test_numbers_are_sequential(store: Store) -> None:
    numbers = []
    for _ in range(3):
        async with store.transaction() as tx:
            numbers.append(await repo.next_incident_number(tx))
    assert numbers == [1, 2, 3]


async def test_concurrent_numbering_never_duplicates(store: Store) -> None:
    async def one() -> int:
        async with store.transaction() as tx:
            n = await repo.next_incident_number(tx)
            await repo.insert_incident(tx, incident(n))
            return n

    numbers = await asyncio.gather(*(one() for _ in range(20)))
    assert sorted(numbers) == list(range(1, 21))


async def test_rollback_leaves_nothing(store: Store) -> None:
    with pytest.raises(RuntimeError):
        async with store.transaction() as tx:
            n = await repo.next_incident_number(tx)
            await repo.insert_incident(tx, incident(n))
            await queue.enqueue(tx, lane="inc:1", kind="post", payload={}, at=0)
            await repo.append_event(tx, incident=n, kind="note", actor="U1", text="x", at=0.0)
            raise RuntimeError("boom")
    async with store.transaction() as tx:
        assert await repo.list_incidents(tx, include_resolved=True) == []
        assert await queue.outbox_counts(tx) == {}
        assert await repo.next_incident_number(tx) == 1


async def test_list_open_and_all(store: Store) -> None:
    async with store.transaction() as tx:
        await repo.insert_incident(tx, incident(1))
        await repo.insert_incident(tx, incident(2, status=Status.RESOLVED))
        assert [i.number for i in await repo.list_incidents(tx, include_resolved=False)] == [1]
        assert [i.number for i in await repo.list_incidents(tx, include_resolved=True)] == [2, 1]


async def test_card_lookup(store: Store) -> None:
    async with store.transaction() as tx:
        await repo.insert_incident(tx, incident(1))
        await repo.set_card(tx, 1, "C1", "123.456")
        found = await repo.incident_by_card(tx, "C1", "123.456")
        assert found is not None and found.number == 1
        assert await repo.incident_by_card(tx, "C1", "999.0") is None


async def test_timeline_messages_once_edits_and_deletes(store: Store) -> None:
    async with store.transaction() as tx:
        await repo.insert_incident(tx, incident(1))
        assert await repo.add_event(tx, incident=1, kind="note", actor="U1", text="a", at=1.0)
        assert await repo.add_event(
            tx, incident=1, kind="message", actor="U2", text="b", at=2.0, slack_ts="2.0"
        )
        assert not await repo.add_event(
            tx, incident=1, kind="message", actor="U2", text="b", at=2.0, slack_ts="2.0"
        )
        assert await repo.edit_message_event(tx, incident=1, slack_ts="2.0", text="b2", at=3.0)
        assert await repo.delete_message_event(tx, incident=1, slack_ts="2.0", at=4.0)
        assert not await repo.delete_message_event(tx, incident=1, slack_ts="2.0", at=5.0)
        events = await repo.timeline(tx, 1)
    assert [(e.kind, e.text) for e in events] == [("note", "a"), ("message", "b2")]
    assert events[1].edited_at == 3.0 and events[1].deleted_at == 4.0


async def claims(key: str, at: float, store: Store) -> bool:
    """True when this transaction claimed ``key``; False when an earlier one had (a redelivery)."""

    async def body(tx: Tx) -> None:
        await repo.claim(tx, key, at)
        await tx.fetchone("SELECT 1 AS one")  # a queued claim reports its conflict here at the latest

    try:
        await store.run(body)
    except Conflict:
        return False
    return True


async def test_delivery_claimed_once(store: Store) -> None:
    assert await claims("Ev1", 1.0, store)
    assert not await claims("Ev1", 2.0, store)
    async with store.transaction() as tx:
        assert await repo.forget_deliveries(tx, before=1.5) == 1
    assert await claims("Ev1", 3.0, store)


async def test_a_conflicting_claim_undoes_its_transaction(store: Store) -> None:
    assert await claims("Ev2", 1.0, store)

    async def body(tx: Tx) -> None:
        await repo.insert_incident(tx, incident(1))
        await repo.claim(tx, "Ev2", 2.0)
        await tx.fetchone("SELECT 1 AS one")

    with pytest.raises(Conflict):
        await store.run(body)
    async with store.transaction() as tx:
        assert await repo.get_incident(tx, 1) is None


async def test_a_conflict_met_only_at_commit_is_the_same_conflict(store: Store) -> None:
    """Nothing is read after the claim: in PostgreSQL's pipeline the duplicate meets the server with the
    COMMIT, and fails the transaction as the same Conflict, with nothing of it written."""
    assert await claims("Ev3", 1.0, store)

    async def body(tx: Tx) -> None:
        await repo.insert_incident(tx, incident(2))
        await repo.claim(tx, "Ev3", 2.0)

    with pytest.raises(Conflict):
        await store.run(body)
    async with store.transaction() as tx:
        assert await repo.get_incident(tx, 2) is None
    with pytest.raises(Conflict):
        async with store.transaction() as tx:
            await repo.claim(tx, "Ev3", 3.0)


async def test_concurrent_claims_one_winner(store: Store) -> None:
    results = await asyncio.gather(*(claims("EvSame", time.time(), store) for _ in range(10)))
    assert sorted(results) == [False] * 9 + [True]


async def test_outbox_lanes_order_and_coalescing(store: Store) -> None:
    async with store.transaction() as tx:
        await queue.enqueue(tx, lane="inc:1", kind="post", payload={"n": 1}, at=0)
        await queue.enqueue(tx, lane="inc:1", kind="update", payload={"v": 1}, at=0, coalesce_key="card:1")
        await queue.enqueue(tx, lane="inc:1", kind="update", payload={"v": 2}, at=0, coalesce_key="card:1")
        await queue.enqueue(tx, lane="inc:2", kind="post", payload={"n": 2}, at=0)
        items = await queue.undelivered(tx)
        assert [(i.lane, i.payload) for i in items] == [
            ("inc:1", {"n": 1}),
            ("inc:1", {"v": 2}),
            ("inc:2", {"n": 2}),
        ]
        await queue.mark_sending(tx, [items[0].id, items[2].id], term=1)
        await queue.mark_item(tx, items[0].id, state="sent", at=1.0, term=1)
        await queue.release_item(tx, items[2].id, term=1)
        items = await queue.undelivered(tx)
        assert [(i.lane, i.payload, i.state) for i in items] == [
            ("inc:1", {"v": 2}, "pending"),
            ("inc:2", {"n": 2}, "pending"),
        ]
        assert (await queue.outbox_counts(tx)) == {"sent": 1, "superseded": 1, "pending": 2}


async def test_outbox_retry_and_in_doubt(store: Store) -> None:
    async with store.transaction() as tx:
        await queue.enqueue(tx, lane="x", kind="post", payload={}, at=0)
        item = (await queue.undelivered(tx))[0].id
        assert not (await queue.undelivered(tx))[0].in_doubt
        await queue.mark_sending(tx, [item], term=1)
        assert await queue.mark_item(
            tx, item, state="pending", at=1.0, error="HTTP 500", retry_at=9.0, term=1
        )
        head = (await queue.undelivered(tx))[0]
        assert head.attempts == 1 and head.next_attempt_at == 9.0 and head.in_doubt
        await queue.mark_sending(tx, [item], term=1)
        assert await queue.reset_in_doubt(tx, below_term=1, at=5.0) == 0  # this term's own: left alone
        assert await queue.reset_in_doubt(tx, below_term=2, at=5.0) == 1
        assert (await queue.undelivered(tx))[0].state == "pending"


async def test_outcomes_are_fenced_by_state_and_term(store: Store) -> None:
    async with store.transaction() as tx:
        await queue.enqueue(tx, lane="x", kind="post", payload={}, at=0)
        item = (await queue.undelivered(tx))[0].id
        await queue.mark_sending(tx, [item], term=3)
        # A deliverer of an older term cannot settle what term 3 claimed ...
        assert not await queue.mark_item(tx, item, state="pending", at=1.0, retry_at=2.0, term=2)
        assert await queue.mark_item(tx, item, state="sent", at=1.0, term=3)
        # ... and a late outcome never turns a sent item back to pending.
        assert not await queue.mark_item(tx, item, state="pending", at=2.0, retry_at=3.0, term=3)
        assert not await queue.release_item(tx, item, term=3)
        assert (await queue.outbox_counts(tx)) == {"sent": 1}


async def test_lease_terms_only_grow(store: Store) -> None:
    async with store.transaction() as tx:
        assert await queue.current_term(tx, "outbox") is None
        assert await queue.next_term(tx, "outbox", "A", at=1.0) == 1
        assert await queue.next_term(tx, "outbox", "B", at=2.0) == 2
        assert await queue.current_term(tx, "outbox") == (2, "B")
        assert not await queue.beat(tx, "outbox", 1, at=3.0)
        assert await queue.beat(tx, "outbox", 2, at=3.0)


async def test_owed_once_by_key(store: Store) -> None:
    async with store.transaction() as tx:
        assert await queue.enqueue(tx, lane="r", kind="respond", payload={"n": 1}, at=0, dedupe_key="k")
        assert not await queue.enqueue(tx, lane="r", kind="respond", payload={"n": 2}, at=0, dedupe_key="k")
        assert [i.payload for i in await queue.undelivered(tx)] == [{"n": 1}]


async def test_a_failed_queued_write_fails_the_transaction(store: Store) -> None:
    async with store.transaction() as tx:
        await repo.insert_incident(tx, incident(1))
    with pytest.raises(Exception, match=r"(?i)unique|constraint"):
        async with store.transaction() as tx:
            await repo.append_event(tx, incident=1, kind="note", actor="U1", text="kept?", at=1.0)
            await tx.write("INSERT INTO counters (name, value) VALUES ('incident', 5)")  # duplicate key
    async with store.transaction() as tx:
        assert await repo.timeline(tx, 1) == []
        assert await repo.next_incident_number(tx) == 1


async def test_housekeeping_forgets_old_deliveries_and_sent_items(store: Store) -> None:
    async with store.transaction() as tx:
        await queue.enqueue(tx, lane="x", kind="post", payload={}, at=1.0)
        await queue.enqueue(tx, lane="x", kind="post", payload={}, at=1.0)
        await queue.enqueue(tx, lane="y", kind="post", payload={}, at=50.0)
        old, failed, recent = await queue.undelivered(tx)
        await queue.mark_sending(tx, [old.id, failed.id, recent.id])
        await queue.mark_item(tx, old.id, state="sent", at=2.0)
        await queue.mark_item(tx, failed.id, state="failed", at=2.0)
        await queue.mark_item(tx, recent.id, state="sent", at=51.0)
        assert await queue.forget_sent(tx, before=10.0) == 1
        assert await queue.outbox_counts(tx) == {"failed": 1, "sent": 1}


async def test_refs_and_values(store: Store) -> None:
    async with store.transaction() as tx:
        await repo.save_ref(tx, "card:1", "C1", "1.0")
        await repo.save_ref(tx, "card:1", "C1", "2.0")
        assert await repo.get_ref(tx, "card:1") == ("C1", "2.0")
        assert await repo.get_ref(tx, "card:2") is None
        await repo.set_value(tx, "k", "a")
        await repo.set_value(tx, "k", "b")
        assert await repo.get_value(tx, "k") == "b"


async def test_checklist_state(store: Store) -> None:
    async with store.transaction() as tx:
        await repo.insert_incident(tx, incident(1))
        await repo.set_check(tx, incident=1, item="stripe-status", user="U1", at=1.0)
        await repo.set_check(tx, incident=1, item="deploys", user="U2", at=1.0)
        await repo.set_check(tx, incident=1, item="deploys", user=None, at=2.0)
        assert await repo.checked_items(tx, 1) == {"stripe-status": "U1"}


async def test_unreachable_store_raises_store_unavailable() -> None:
    store = open_store("postgresql://nobody@127.0.0.1:1/none")
    await store.open()
    with pytest.raises(StoreUnavailable):
        async with store.transaction() as tx:
            await tx.execute("SELECT 1")
    await store.close()


def test_migrations_are_numbered_in_order() -> None:
    versions = [v for v, _, _ in MIGRATIONS]
    # Gaps are allowed (each feature area numbers in its own block); order and uniqueness are not optional.
    assert versions == sorted(set(versions)) and versions[0] == 1


def test_two_migrates_at_once_on_postgres_leave_one_schema(pg_url: str) -> None:
    env = {"DATABASE_URL": pg_url, "PATH": "/usr/bin:/bin"}
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "bot", "migrate"],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(2)
    ]
    outputs = [p.communicate(timeout=60) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], outputs
    said = sorted(out for out, _ in outputs)
    every = [v for v, _, _ in MIGRATIONS]
    assert said[0].startswith(f"opsbot: applied migrations {every}") and "up to date" in said[1], said

    import psycopg

    with psycopg.connect(pg_url) as conn:
        versions = [r[0] for r in conn.execute("SELECT version FROM schema_migrations ORDER BY version")]
        tables = {r[0] for r in conn.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")}
    assert versions == every
    assert {
        "incidents",
        "timeline",
        "outbox",
        "deliveries",
        "slack_refs",
        "leases",
        "kv",
        "checklist",
        "timers",
        "counters",
        "schema_migrations",
    } <= tables


async def test_cancelled_transactions_never_wedge_the_store(store: Store) -> None:
    """A shutdown or a dropped request can cancel a transaction at any await; the store stays usable."""

    async def many_statements() -> None:
        async with store.transaction() as tx:
            for _ in range(30):
                await tx.fetchone("SELECT 1 AS one")

    async def whole(tx: object) -> None:
        for _ in range(30):
            await tx.fetchone("SELECT 1 AS one")  # type: ignore[attr-defined]

    for delay in (0, 0, 0.0001, 0.0003, 0.0005, 0.001, 0.002, 0.003, 0.005, 0.01):
        for work in (many_statements(), store.run(whole)):
            task = asyncio.ensure_future(work)
            await asyncio.sleep(delay)
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
    async with asyncio.timeout(10):
        async with store.transaction() as tx:
            assert (await tx.fetchone("SELECT 1 AS one")) == {"one": 1}
        assert await store.run(whole) is None


def test_doubling_waits_stop_at_a_count_or_once_their_sum_reaches_a_total() -> None:
    from bot.store import doubling

    assert list(doubling(0.1, cap=4.0, count=6)) == [0.1, 0.2, 0.4, 0.8, 1.6, 3.2]
    assert list(doubling(1.0, cap=2.0, count=4)) == [1.0, 2.0, 2.0, 2.0]
    waits = list(doubling(0.25, cap=5.0, total=60.0))
    assert waits[:6] == [0.25, 0.5, 1.0, 2.0, 4.0, 5.0] and set(waits[6:]) == {5.0}
    assert sum(waits[:-1]) < 60.0 <= sum(waits), "the wait that reaches the total is the last"
