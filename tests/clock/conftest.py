from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from pydantic import SecretStr

from bot.devtools.slack_sim import SlackSim
from tests.fakes.pagerduty import ROUTING_KEY, FakePagerDuty
from tests.fakes.slack_spec import check_call
from tests.harness import FakeClock, Harness

PATH = [
    {"name": "On-call engineer", "mention": "S0ONCALL", "channel": "#engineering-oncall"},
    {"name": "Engineering manager", "mention": "U0MANAGER"},
    {"name": "CTO/VP Engineering", "mention": "U0CTO", "channel": "C0GENERAL"},
]


@pytest.fixture
async def pd() -> AsyncIterator[FakePagerDuty]:
    fake = await FakePagerDuty().start()
    yield fake
    await fake.stop()


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


async def start_timed(
    url: str, *, pd: FakePagerDuty, clock: FakeClock, sim: SlackSim | None = None, **extra: Any
) -> Harness:
    """The bot with PagerDuty, a three-level path and a clock the test moves forward. Its scheduler polls
    once at start (recurring jobs planned, overdue timers fired), then only when the test fires due
    timers, so every firing is one the test asked for."""
    return await Harness.start(
        url,
        scheduler_poll=3600.0,
        sim=sim or await SlackSim(validator=check_call, clock=clock).start(),
        clock=clock,
        escalation_path=PATH,
        pagerduty_routing_key=SecretStr(ROUTING_KEY),
        pagerduty_events_url=pd.url,
        **extra,
    )


@pytest.fixture
async def timed(store_url: str, pd: FakePagerDuty, clock: FakeClock) -> AsyncIterator[Harness]:
    bot = await start_timed(store_url, pd=pd, clock=clock)
    try:
        yield bot
    finally:
        await bot.close()
    assert bot.sim.problems == [], bot.sim.problems
