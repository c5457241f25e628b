"""A confirmed action's outcome is owed: recorded through a store blip, settled as unknown (once, by a
durable timer) when the process stops while it runs, and never queued behind another session's lock."""

from __future__ import annotations

import asyncio
import time
from typing import Any

from bot.access import permission
from bot.actions import settle
from bot.errors import StoreUnavailable
from bot.jobs.scheduler import pending
from bot.store import remediation
from tests.actions.conftest import StartBot, confirm_element, last_reply, ops, press_confirm, replies
from tests.actions.prod import ProdDb
from tests.harness import FakeClock

SLOW_REQUEUE = {
    "name": "requeue-order",
    # pg_sleep stands for a statement that takes a while on a busy production database
    "sql": "UPDATE public.orders SET status = 'pending' WHERE id = %(order_id)s::bigint"
    " AND status = 'failed' AND (SELECT true FROM pg_sleep(0.6))",
    "params": ["order_id"],
    "confirm_text": "Put one failed order back in the queue",
}
REQUEUE = {
    **SLOW_REQUEUE,
    "sql": "UPDATE public.orders SET status = 'pending' WHERE id = %(order_id)s::bigint",
}


async def audit_of(bot: Any) -> list[tuple[str, str]]:
    async with bot.runtime.store.transaction() as tx:
        rows = await remediation.latest_audit(tx, limit=20)
    return [(r.event, r.result) for r in reversed(rows)]


async def test_an_outcome_lost_with_its_process_is_settled_once_as_unknown(
    start_bot: StartBot, prod: ProdDb
) -> None:
    clock = FakeClock()
    first = await start_bot(actions=[SLOW_REQUEUE], clock=clock)
    await ops(first, "run requeue-order 1")
    preview = last_reply(first)
    await press_confirm(first, preview)
    await asyncio.sleep(0.2)  # the statement is running in production
    await first.close()  # the process stops before it could record what happened
    second = await start_bot(actions=[SLOW_REQUEUE], clock=clock, sim=first.sim)
    third = await start_bot(actions=[SLOW_REQUEUE], clock=clock, sim=first.sim)
    assert await second.fire_due() == 0, "not before the run could have finished"
    clock.advance(settle.settle_after(timeout_s=10.0, statements=1) + 1)
    await asyncio.gather(second.fire_due(), third.fire_due())
    warned = [r for r in replies(second) if "outcome unknown" in r.get("text", "")]
    assert len(warned) == 1, "settled once across instances"
    told = last_reply(second)
    assert told["text"].startswith(":warning: `run requeue-order 1` by <@U0ONCALL>: outcome unknown")
    assert told["replace_original"] is True, "in place of the preview: its Confirm button is gone"
    assert told["text"].endswith("see `/ops audit`, and check before running it again.")
    assert [event for event, _ in await audit_of(second)] == ["preview", "confirm", "outcome"]
    assert (await audit_of(second))[-1][1] == settle.UNKNOWN
    await press_confirm(second, preview)  # pressing again never runs it a second time
    await second.settle()
    assert "It was confirmed; outcome unknown" in last_reply(second)["text"]


async def test_an_outcome_is_recorded_through_a_store_blip(
    start_bot: StartBot, prod: ProdDb, monkeypatch: Any
) -> None:
    bot = await start_bot(actions=[REQUEUE])
    await ops(bot, "run requeue-order 1")
    preview = last_reply(bot)
    store = bot.runtime.deps.store
    real_run, failures = store.run, [0]

    async def blipping(body: Any) -> Any:
        if failures[0] < 3 and "record" in getattr(body, "__qualname__", ""):
            failures[0] += 1
            raise StoreUnavailable("the store is restarting")
        return await real_run(body)

    monkeypatch.setattr(store, "run", blipping)
    await press_confirm(bot, preview)
    for _ in range(100):
        await asyncio.sleep(0.1)
        if "row(s) changed" in last_reply(bot).get("text", ""):
            break
    assert failures[0] == 3
    assert "1 row(s) changed" in last_reply(bot)["text"]
    assert [event for event, _ in await audit_of(bot)] == ["preview", "confirm", "outcome"]
    assert await bot.fire_due() == 0
    async with store.transaction() as tx:
        assert settle.KIND not in [t.kind for t in await pending(tx)], "the settle timer was cancelled"


async def test_a_locked_row_fails_the_preview_at_once_and_changes_nothing(
    start_bot: StartBot, prod: ProdDb
) -> None:
    bot = await start_bot(actions=[REQUEUE])
    await prod.running(
        "BEGIN; SELECT * FROM public.orders WHERE id = 1 FOR UPDATE",
        as_superuser=True,
        state="idle in transaction",
    )
    started = time.monotonic()
    await ops(bot, "run requeue-order 1")
    preview = last_reply(bot)
    assert time.monotonic() - started < 8, "it did not queue behind the lock until its statement timeout"
    assert "locked by another session, so nothing was changed" in preview["text"]
    assert "`/ops db blocked`" in preview["text"] and confirm_element(preview) is None
    assert prod.sql("SELECT status FROM public.orders WHERE id = 1") == [("failed",)]


async def test_an_outcome_landing_while_the_settle_timer_fires_is_still_recorded(
    start_bot: StartBot, prod: ProdDb
) -> None:
    clock = FakeClock()
    bot = await start_bot(actions=[SLOW_REQUEUE], clock=clock)
    await ops(bot, "run requeue-order 1")
    await press_confirm(bot, last_reply(bot))
    clock.advance(settle.settle_after(timeout_s=10.0, statements=1) + 1)  # the run is late
    scheduler = bot.runtime.scheduler
    real = scheduler.handlers[settle.KIND]

    async def slow_settle(tx: Any, timer: Any) -> None:
        await asyncio.sleep(1.0)  # the timer is claimed (its row locked) while the outcome lands
        await real(tx, timer)

    scheduler.handlers[settle.KIND] = slow_settle
    await scheduler.fire_due()
    for _ in range(100):
        if "row(s) changed" in last_reply(bot).get("text", ""):
            break
        await asyncio.sleep(0.1)
    events = await audit_of(bot)
    assert [event for event, _ in events] == ["preview", "confirm", "outcome", "outcome"]
    assert events[2:] == [("outcome", settle.UNKNOWN), ("outcome", "committed")], "what ran is audited"
    assert "1 row(s) changed" in last_reply(bot)["text"]
    async with bot.runtime.store.transaction() as tx:
        row = await tx.fetchone("SELECT state FROM action_requests", ())
    assert row is not None and row["state"] == "done", "the outcome, once known, replaces 'unknown'"


async def test_an_action_settled_as_unknown_before_it_started_never_runs(
    start_bot: StartBot, prod: ProdDb, monkeypatch: Any
) -> None:
    clock = FakeClock()
    bot = await start_bot(actions=[REQUEUE], clock=clock)
    await ops(bot, "run requeue-order 1")
    real_check, release = permission.may_remediate, asyncio.Event()

    async def slow_check(*args: Any, **kwargs: Any) -> Any:
        await release.wait()  # Slack is slow to say who may: the run has not started yet
        return await real_check(*args, **kwargs)

    monkeypatch.setattr(permission, "may_remediate", slow_check)
    await press_confirm(bot, last_reply(bot))
    clock.advance(settle.settle_after(timeout_s=10.0, statements=1) + 1)
    await bot.fire_due()
    assert "outcome unknown" in last_reply(bot)["text"]
    release.set()
    for _ in range(50):
        await asyncio.sleep(0.1)
        if "outcome unknown" not in last_reply(bot)["text"]:
            break
    assert prod.sql("SELECT status FROM public.orders WHERE id = 1") == [("failed",)], "never ran"
    assert "not run" in last_reply(bot)["text"]
    assert [event for event, _ in await audit_of(bot)] == ["preview", "confirm", "outcome", "outcome"]
