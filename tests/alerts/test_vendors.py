"""Vendors' status pages watched: one message per episode, edited as it changes; open incidents told."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

import pytest

from bot.alerts import vendors
from bot.jobs.scheduler import Scheduler, Timer, pending
from tests.fakes.services import STATUS_PAGES, stripe_current
from tests.harness import Harness

PAGES = [{**p, "scenarios": ["checkout", "payments"] if p["name"] == "Stripe" else []} for p in STATUS_PAGES]


@pytest.fixture
async def bot(store_url: str) -> AsyncIterator[Harness]:
    harness = await Harness.start(store_url, status_pages=PAGES)
    try:
        yield harness
    finally:
        await harness.close()
    assert harness.sim.problems == [], harness.sim.problems


def stripe_says(bot: Harness, largestatus: str, **statuses: str) -> None:
    bot.web.set("stripestatus.test", "/current", stripe_current(largestatus, **statuses))


async def watch(bot: Harness) -> None:
    await vendors.check_all(bot.runtime.deps)
    await bot.settle()


def vendor_messages(bot: Harness) -> list[dict[str, Any]]:
    return [
        m
        for msgs in bot.sim.messages.values()
        for m in msgs.values()
        if m.get("text", "").startswith("Stripe is")
    ]


async def test_a_degradation_posts_once_is_edited_and_tells_open_incidents(bot: Harness) -> None:
    await bot.command("open P1 checkout broken")
    await bot.settle()
    await watch(bot)  # all operational at first sight: nothing said
    assert vendor_messages(bot) == []
    stripe_says(bot, "degraded", api="degraded")
    await watch(bot)
    await watch(bot)  # the state holds: no repeat
    [msg] = vendor_messages(bot)
    assert msg["text"].startswith("Stripe is degraded")
    assert sum("Stripe's status page says it is degraded" in line for line in bot.said(1)) == 1
    stripe_says(bot, "down", api="down")
    await watch(bot)
    [msg] = vendor_messages(bot)  # edited in place, not posted again
    assert msg["text"].startswith("Stripe is outage")
    stripe_says(bot, "up")
    await watch(bot)
    [msg] = vendor_messages(bot)
    assert msg["text"].startswith("Stripe is back to operational")
    assert any("back to operational" in line for line in bot.said(1))
    stripe_says(bot, "degraded", api="degraded")
    await watch(bot)
    assert len(vendor_messages(bot)) == 2  # a new episode, a new message


async def test_an_unreadable_page_changes_nothing(bot: Harness) -> None:
    stripe_says(bot, "degraded", api="degraded")
    await watch(bot)
    bot.web.set("stripestatus.test", "/current", "<html>oops</html>", status=502, content_type="text/html")
    await watch(bot)
    [msg] = vendor_messages(bot)
    assert msg["text"].startswith("Stripe is degraded")
    async with bot.runtime.store.transaction() as tx:
        from bot.store import repo

        stored = json.loads(await repo.get_value(tx, "vendor:Stripe") or "{}")
    assert stored["state"] == "degraded"


async def test_overlapping_checks_post_once(bot: Harness) -> None:
    stripe_says(bot, "degraded", api="degraded")
    await asyncio.gather(*(vendors.check_all(bot.runtime.deps) for _ in range(4)))
    await bot.settle()
    assert len(vendor_messages(bot)) == 1


async def test_the_watch_runs_as_a_recurring_job_of_the_runtime(bot: Harness) -> None:
    stripe_says(bot, "degraded", api="degraded")
    timers: list[Timer] = []
    for _ in range(100):  # the runtime's scheduler plans its recurring jobs as it starts polling
        async with bot.runtime.store.transaction() as tx:
            timers = [t for t in await pending(tx) if t.kind == vendors.WATCH_JOB]
        if timers:
            break
        await asyncio.sleep(0.05)
    [timer] = timers
    assert timer.payload["cron"] == "0 */2 * * * *"  # the default status_watch_every, 2m
    assert vendors_said(bot) == []  # not due yet
    later = [timer.due + 1]
    scheduler = Scheduler(
        bot.runtime.store,
        handlers={vendors.WATCH_JOB: vendors.watch_handler(bot.runtime.deps)},
        recurring=[job for job in [vendors.watch_schedule("2m")] if job],
        clock=lambda: later[0],
    )
    assert await scheduler.fire_due() == 1
    assert await scheduler.fire_due() == 0  # rescheduled for the next slot, not fired twice
    await bot.settle()
    assert len(vendor_messages(bot)) == 1


def vendors_said(bot: Harness) -> list[dict[str, Any]]:
    return vendor_messages(bot)


@pytest.mark.parametrize(
    "every,cron",
    [("2m", "0 */2 * * * *"), ("30s", "*/30 * * * * *"), ("120s", "0 */2 * * * *"), ("1h", "0 0 */1 * * *")],
)
def test_watch_schedule(every: str, cron: str) -> None:
    job = vendors.watch_schedule(every)
    assert job is not None and job.cron == cron


@pytest.mark.parametrize("every", ["90s", "7m", "two minutes", "5d"])
def test_watch_schedule_refuses_uneven_or_unreadable(every: str) -> None:
    with pytest.raises(ValueError, match="status_watch_every"):
        vendors.watch_schedule(every)


def test_watch_can_be_turned_off() -> None:
    assert vendors.watch_schedule("0") is None


def test_a_bad_watch_interval_stops_start_up_with_one_line(tmp_path: Any) -> None:
    from tests.slack.test_socket_mode import free_port
    from tests.test_cli import run

    env = {
        "SLACK_BOT_TOKEN": "xoxb-test",
        "SLACK_SIGNING_SECRET": "s",
        "DATABASE_URL": f"sqlite:///{tmp_path}/x.db",
        "STATUS_WATCH_EVERY": "7m",
        "PORT": str(free_port()),
    }
    result = run("serve", env=env)
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        "opsbot: configuration error: STATUS_WATCH_EVERY: '7m' must divide a minute, an hour or a day evenly"
    ], result.stderr
