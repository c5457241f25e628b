"""The remediation tables on both stores: one claim wins, the rate limit holds under concurrency."""

from __future__ import annotations

import asyncio

from bot.store import Store, Tx, remediation
from bot.store.remediation import AuditRow, Request


def request(token: str, *, actor: str = "U1", expires_at: float = 200.0) -> Request:
    return Request(
        token=token,
        actor=actor,
        action="db cancel 42",
        spec='{"kind":"signal","signal":"cancel","targets":[[42,1]]}',
        incident=None,
        state="pending",
        created_at=100.0,
        expires_at=expires_at,
    )


async def test_only_one_of_many_concurrent_claims_wins(store: Store) -> None:
    await store.run(lambda tx: remediation.add_request(tx, request("tok")))

    async def claim(tx: Tx) -> bool:
        return await remediation.claim_request(tx, token="tok", actor="U1", now=150.0)

    results = await asyncio.gather(*(store.run(claim) for _ in range(8)))
    assert results.count(True) == 1
    got = await store.run(lambda tx: remediation.get_request(tx, "tok"))
    assert got is not None and (got.state, got.claimed_at) == ("claimed", 150.0)


async def test_a_claim_needs_the_asker_and_time(store: Store) -> None:
    await store.run(lambda tx: remediation.add_request(tx, request("a")))
    assert not await store.run(lambda tx: remediation.claim_request(tx, token="a", actor="U2", now=150.0))
    assert not await store.run(lambda tx: remediation.claim_request(tx, token="a", actor="U1", now=201.0))
    assert not await store.run(lambda tx: remediation.claim_request(tx, token="zz", actor="U1", now=150.0))
    assert await store.run(lambda tx: remediation.claim_request(tx, token="a", actor="U1", now=200.0))


async def test_rate_limit_holds_across_concurrent_transactions(store: Store) -> None:
    async def take(tx: Tx) -> bool:
        return await remediation.take_rate(tx, actor="U1", window_start=7, limit=3)

    results = await asyncio.gather(*(store.run(take) for _ in range(10)))
    assert results.count(True) == 3
    assert await store.run(lambda tx: remediation.rate_used(tx, actor="U1", window_start=7)) == 3
    assert await store.run(lambda tx: remediation.take_rate(tx, actor="U1", window_start=8, limit=3))
    assert await store.run(lambda tx: remediation.take_rate(tx, actor="U2", window_start=7, limit=3))


async def test_audit_reads_latest_and_by_incident(store: Store) -> None:
    async def write(tx: Tx) -> None:
        for i in range(30):
            row = AuditRow(
                at=float(i), actor="U1", event="preview", action=f"a{i}", params="{}", incident=i % 3
            )
            await remediation.add_audit(tx, row)

    await store.run(write)
    latest = await store.run(lambda tx: remediation.latest_audit(tx, limit=5))
    assert [r.action for r in latest] == ["a29", "a28", "a27", "a26", "a25"]
    mine = await store.run(lambda tx: remediation.incident_audit(tx, 1))
    assert [r.action for r in mine][:3] == ["a1", "a4", "a7"] and len(mine) == 10
