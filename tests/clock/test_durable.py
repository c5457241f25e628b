"""Timers are data in the store: a timer due while every instance was down fires once after start, and
with two instances on one PostgreSQL each timer fires exactly once."""

from __future__ import annotations

import asyncio

from tests.clock.conftest import start_timed
from tests.fakes.pagerduty import FakePagerDuty
from tests.harness import FakeClock, Harness


def manager_pages(bot: Harness) -> list[str]:
    return [
        c.params["text"]
        for c in bot.sim.of("chat.postMessage")
        if c.params["text"].startswith("<@U0MANAGER>")
    ]


async def test_timer_due_while_down_fires_once_after_start(
    store_url: str, pd: FakePagerDuty, clock: FakeClock
) -> None:
    first = await start_timed(store_url, pd=pd, clock=clock)
    await first.command("open P0 site down")
    await first.settle()
    await first.close()

    clock.advance(3 * 24 * 3600)  # down for three days: the response target and many nudge slots passed
    second = await start_timed(store_url, pd=pd, clock=clock, sim=first.sim)
    try:
        for _ in range(3):
            await second.fire_due()
        assert len(manager_pages(second)) == 1
        nudged = [line for line in second.said(1) if "has had no update for" in line]
        assert len(nudged) == 1  # once after start, not once per missed slot
        assert second.sim.problems == []
    finally:
        await second.close()


async def test_two_instances_on_one_postgres_fire_each_timer_once(
    pg_url: str, pd: FakePagerDuty, clock: FakeClock
) -> None:
    one = await start_timed(pg_url, pd=pd, clock=clock)
    two = await start_timed(pg_url, pd=pd, clock=clock, sim=one.sim)
    try:
        for n in range(5):
            await one.command(f"open P0 outage {n}")
        await one.settle()
        clock.advance(5 * 60 + 1)
        await asyncio.gather(one.fire_due(), two.fire_due(), one.fire_due(), two.fire_due())
        await one.settle()
        await two.settle()
        pages = manager_pages(one)
        assert sorted(p.split("*")[1] for p in pages) == [f"INC-{n}" for n in range(1, 6)]
        assert one.sim.problems == []
    finally:
        await one.close()
        await two.close()
