"""The incident core's unit of work: one transaction that claims a delivery key, does the change, and
lets subscribers act on what it emitted; after the commit the outbox wakes and after-commit work runs."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TypeVar

from bot.deps import Deps
from bot.incidents.events import UnitOfWork, publish, run_committed
from bot.outbox import Respond, owe
from bot.store import Tx, repo

T = TypeVar("T")


async def unit_of_work(deps: Deps, *, key: str, work: Callable[[UnitOfWork], Awaitable[T]]) -> T:
    """One transaction: claim the delivery ``key``, do ``work``, let subscribers act on what it emitted.

    All of it commits together; then the outbox is woken and after-commit work (probes) starts.
    Raises Conflict for a redelivery.
    """
    done: list[UnitOfWork] = []

    async def body(tx: Tx) -> T:
        uow = UnitOfWork(tx, deps.clock())
        await repo.claim(tx, key, uow.now)  # a redelivery fails the next statement with Conflict
        result = await work(uow)
        await publish(uow, deps.subscribers)
        done[:] = [uow]
        return result

    result = await deps.store.run(body)
    deps.outbox.notify()
    run_committed(done[0])
    return result


async def replied(
    deps: Deps, body: Callable[[Tx], Awaitable[str]], *, response_url: str | None, at: float
) -> str:
    """Run ``body`` in one transaction and owe its reply through ``response_url`` in that same
    transaction (so the person hears once, after the commit); then wake the outbox."""

    async def replying(tx: Tx) -> str:
        reply = await body(tx)
        if response_url:
            await owe(tx, Respond(response_url, reply), at=at)
        return reply

    reply = await deps.store.run(replying)
    deps.outbox.notify()
    return reply
