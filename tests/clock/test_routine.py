"""Routine checks (/ops routine, recurring jobs, figures kept for growth) and /ops schedule."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from tests.clock.conftest import start_timed
from tests.fakes.pagerduty import FakePagerDuty
from tests.fakes.services import sentry_issue
from tests.harness import FakeClock, Harness

DAY = 86400.0
LEAP_DAY = "0 0 29 2 *"  # not within any test's days: only /ops routine runs


@pytest.fixture
async def by_hand(store_url: str, pd: FakePagerDuty, clock: FakeClock) -> AsyncIterator[Harness]:
    schedule = {"daily": LEAP_DAY, "weekly": LEAP_DAY, "monthly": LEAP_DAY}
    bot = await start_timed(store_url, pd=pd, clock=clock, routine_schedule=schedule)
    try:
        yield bot
    finally:
        await bot.close()


def digests(bot: Harness, routine: str) -> list[str]:
    return [
        c.params["text"]
        for c in bot.sim.of("chat.postMessage")
        if c.params["channel"] == "C0ONCALL" and f"*{routine} checks*" in c.params["text"]
    ]


async def test_ops_routine_daily_posts_digest_to_routine_channel(timed: Harness) -> None:
    timed.web.set("sentry.test", "/api/0/projects/shop/web/issues/", [sentry_issue(1), sentry_issue(2)])
    reply = await timed.command("routine daily", command="/ops")
    assert reply["text"] == "Running the daily checks; the digest goes to #engineering-oncall."
    await timed.settle()
    [digest] = digests(timed, "Daily")
    assert "Sentry new issues (24h)*: 2 new unresolved (2 error/fatal)" in digest
    assert "App shop.test*: up" in digest and "Stripe status" in digest
    assert "*Scheduled jobs*: opsbot's timers all on time" in digest
    assert any("*Daily checks*" in r for r in timed.private_replies())  # and to whoever asked
    bad = await timed.command("routine yearly", command="/ops")
    assert "`yearly` is not a routine: daily, weekly or monthly." in bad["text"]
    assert "/ops routine <daily|weekly|monthly>" in bad["text"]


async def test_weekly_figures_are_kept_and_growth_reported(by_hand: Harness, clock: FakeClock) -> None:
    timed = by_hand
    timed.web.set("sentry.test", "/api/0/projects/shop/web/issues/", [sentry_issue(1)])
    await timed.command("routine weekly", command="/ops")
    await timed.settle()
    assert "sentry.new_issues: 1 (first measurement)" in digests(timed, "Weekly")[0]
    clock.advance(7 * DAY)
    timed.web.set("sentry.test", "/api/0/projects/shop/web/issues/", [sentry_issue(n) for n in range(1, 4)])
    await timed.command("routine weekly", command="/ops")
    await timed.settle()
    assert "sentry.new_issues: 3 (+2, +200.0% since" in digests(timed, "Weekly")[1]
    async with timed.runtime.store.transaction() as tx:
        rows = await tx.fetchall("SELECT name, value FROM routine_figures ORDER BY measured_at")
    assert [(r["name"], r["value"]) for r in rows] == [("sentry.new_issues", 1.0), ("sentry.new_issues", 3.0)]


async def test_monthly_reminders(timed: Harness) -> None:
    await timed.command("routine monthly", command="/ops")
    await timed.settle()
    [digest] = digests(timed, "Monthly")
    for words in ("Verify backups", "dependency audit", "Review the runbook", "Database size"):
        assert words in digest


async def test_scheduled_daily_runs_once_after_days_down(timed: Harness, clock: FakeClock) -> None:
    await timed.fire_due()
    assert digests(timed, "Daily") == []
    clock.advance(3 * DAY)  # three daily slots missed
    for _ in range(3):
        await timed.fire_due()
    assert len(digests(timed, "Daily")) == 1
    assert len(digests(timed, "Weekly")) <= 1 and len(digests(timed, "Monthly")) <= 1


async def test_ops_schedule_lists_routine_runs_and_pending_timers(timed: Harness) -> None:
    await timed.command("open P1 checkout broken")
    await timed.command("update INC-1 monitoring")
    await timed.command("open P3 typo")
    reply = await timed.command("schedule", command="/ops")
    assert reply["text"] == ":hourglass_flowing_sand: Reading the schedule…"  # guests refused after the ack
    await timed.settle()
    [text] = [r for r in timed.private_replies() if "*Pending timers*" in r]
    assert text.index("Daily checks") < text.index("*Pending timers*")
    for line in (
        "*INC-1* · resolve target: still open by then, the next level is called",
        "*INC-1* · update reminder to the commander",
        "*INC-1* · monitoring watch: next diagnostics round",
        "*INC-2* · response target: unacknowledged by then, level 1 is called",
    ):
        assert line in text
    assert "INC-1* · response target" not in text  # changing its status acknowledged INC-1
