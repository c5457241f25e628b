from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from bot.devtools.slack_sim import SlackSim
from bot.store import Store, open_store
from tests.fakes.slack_spec import check_call
from tests.harness import Harness
from tests.pgcluster import create_database, running_cluster
from tests.processes import ThreadedSim


@pytest.fixture(scope="session")
def pg_admin() -> Iterator[str]:
    """A PostgreSQL server for the whole run: TEST_DATABASE_URL, or a throwaway cluster."""
    with running_cluster() as url:
        yield url


@pytest.fixture
def pg_url(pg_admin: str) -> str:
    return create_database(pg_admin)


@pytest.fixture(params=["sqlite", "postgres"])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path}/opsbot.db"
    return str(request.getfixturevalue("pg_url"))


@pytest.fixture
def slack() -> Iterator[ThreadedSim]:
    """The Slack stand-in on a thread of its own, for bots running as real processes."""
    threaded = ThreadedSim()
    yield threaded
    threaded.stop()
    assert threaded.sim.problems == []


@pytest.fixture
async def store(store_url: str) -> AsyncIterator[Store]:
    """A migrated store of the kind ``store_url`` names, closed afterwards."""
    s = open_store(store_url)
    await s.migrate()
    try:
        yield s
    finally:
        await s.close()


@pytest.fixture
async def bot(store_url: str) -> AsyncIterator[Harness]:
    harness = await Harness.start(store_url)
    try:
        yield harness
    finally:
        await harness.close()
    assert harness.sim.problems == [], harness.sim.problems


@pytest.fixture
async def sec_bot(store_url: str) -> AsyncIterator[Harness]:
    """The bot with a private security channel (#security-incidents, G0SECURITY): confidential
    incidents live there."""
    sim = await SlackSim(validator=check_call).start()
    sim.add_channel("G0SECURITY", "security-incidents", is_private=True)
    bot = await Harness.start(store_url, sim=sim, security_channel="#security-incidents")
    try:
        yield bot
    finally:
        await bot.close()
    assert bot.sim.problems == []
