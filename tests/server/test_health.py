"""/livez and /readyz through real HTTP: readiness flips on each cause and back; liveness never does."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from bot.store.schema import LATEST
from tests.harness import Harness
from tests.processes import Served, ThreadedSim


@pytest.fixture
async def bot(store_url: str) -> AsyncIterator[Harness]:
    harness = await Harness.start(store_url, ready_max_pending_age_s=0.5)
    try:
        yield harness
    finally:
        await harness.close()


async def ready(bot: Harness) -> tuple[int, dict[str, Any]]:
    response = await bot.http.get(f"{bot.url}/readyz")
    body = response.json()
    return response.status_code, {c["name"]: (c["ok"], c["detail"]) for c in body["checks"]}


async def live(bot: Harness) -> int:
    return (await bot.http.get(f"{bot.url}/livez")).status_code


async def test_ready_when_all_is_well_and_auth_test_called_once(bot: Harness) -> None:
    status, checks = await ready(bot)
    assert status == 200, checks
    assert checks["store"] == (True, "writable") and checks["schema"] == (True, "current")
    assert checks["slack_token"][0] and checks["delivery"][0]
    await ready(bot)
    assert len(bot.sim.of("auth.test")) == 1  # checked at start, not on every probe
    assert await live(bot) == 200


async def test_schema_newer_than_the_code(bot: Harness) -> None:
    async with bot.runtime.store.transaction() as tx:
        await tx.execute(
            "INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, 'from the future', 0)",
            (LATEST + 1000,),
        )
    assert (await ready(bot))[0] == 200  # declared compatible (expand only): this release keeps serving
    async with bot.runtime.store.transaction() as tx:
        await tx.execute(
            "UPDATE kv SET value = ? WHERE key = 'schema:compatible_from'", (str(LATEST + 1000),)
        )
    status, checks = await ready(bot)
    assert status == 503 and not checks["schema"][0]
    assert f"{LATEST + 1000}, newer than this opsbot knows" in checks["schema"][1]
    assert await live(bot) == 200
    async with bot.runtime.store.transaction() as tx:
        await tx.execute("DELETE FROM schema_migrations WHERE version = ?", (LATEST + 1000,))
    assert (await ready(bot))[0] == 200


async def test_slack_refusing_the_token_then_accepting_a_new_one(bot: Harness) -> None:
    assert (await ready(bot))[0] == 200
    await bot.command("help")  # Bolt has checked the token for itself by now, and remembers it
    # The token is revoked: the next post is refused, and so is auth.test when readiness asks again.
    bot.sim.fail("chat.postMessage", status=200, error="token_revoked", times=1000)
    bot.sim.fail("auth.test", status=200, error="token_revoked", times=1)
    await bot.command("open P2 disk filling up")
    for _ in range(100):
        status, checks = await ready(bot)
        if status == 503:
            break
        await asyncio.sleep(0.05)
    assert status == 503 and checks["slack_token"] == (False, "token_revoked")
    assert await live(bot) == 200
    # Replaced (here: Slack accepts it again): the next probe checks auth.test once more and the token
    # check passes. The refused post stopped delivery until a restart (the outbox keeps every item), so
    # the instance stays unready, naming that, until it is restarted with the working token.
    bot.sim.faults.clear()
    status, checks = await ready(bot)
    assert checks["slack_token"] == (True, "team T0OPSBOT"), checks
    assert status == 503 and checks["delivery"] == (False, "stopped: Slack answered token_revoked"), checks


async def test_delivery_stopped(bot: Harness) -> None:
    await bot.runtime.outbox.stop()
    status, checks = await ready(bot)
    assert status == 503 and checks["delivery"] == (False, "the deliverer has stopped")
    assert await live(bot) == 200
    bot.runtime.outbox.start()
    assert (await ready(bot))[0] == 200


async def test_oldest_pending_message_too_old(bot: Harness) -> None:
    bot.sim.fail("chat.postMessage", status=500, times=1000)
    await bot.command("open P2 slack is slow")
    await asyncio.sleep(0.7)
    status, checks = await ready(bot)
    assert status == 503 and not checks["delivery"][0]
    assert "oldest undelivered waits" in checks["delivery"][1]
    bot.sim.faults.clear()
    await bot.settle()
    status, checks = await ready(bot)
    assert status == 200 and checks["delivery"] == (True, "nothing waiting")


async def test_store_that_cannot_write(bot: Harness) -> None:
    await bot.runtime.outbox.stop()
    await bot.runtime.store.close()
    status, checks = await ready(bot)
    assert status == 503 and checks["store"][0] is False and checks["store"][1].startswith("cannot write")
    assert await live(bot) == 200  # a store outage must not make the platform restart the process


def test_serve_checks_the_token_at_start(tmp_path: Path) -> None:
    slack = ThreadedSim()
    # Refused at start and at the first probe's recheck; accepted after that.
    slack.run(lambda: slack.sim.fail("auth.test", status=200, error="invalid_auth", times=2))
    served = Served(f"sqlite:///{tmp_path}/s.db", slack.sim, tmp_path).start()
    try:
        ready = httpx.get(f"{served.base}/readyz", timeout=5)
        checks = {c["name"]: c for c in ready.json()["checks"]}
        assert ready.status_code == 503 and checks["slack_token"]["detail"] == "invalid_auth"
        assert httpx.get(f"{served.base}/livez", timeout=5).status_code == 200
        # A new token (here: Slack accepts it again) is seen on the next probe, without a restart.
        assert httpx.get(f"{served.base}/readyz", timeout=5).status_code == 200
        calls = slack.run(lambda: [c.method for c in slack.sim.calls if c.method == "auth.test"])
        assert len(calls) == 3  # at start, then at each probe until accepted, then no more
        assert httpx.get(f"{served.base}/readyz", timeout=5).status_code == 200
        assert len(slack.run(lambda: [c for c in slack.sim.calls if c.method == "auth.test"])) == 3
    finally:
        served.stop()
        slack.stop()
    assert "the bot token is refused (invalid_auth)" in served.log.read_text()


async def test_delivery_stopped_because_slack_revoked_the_token(bot: Harness) -> None:
    assert (await ready(bot))[0] == 200
    revoked = {"type": "tokens_revoked", "tokens": {"oauth": [], "bot": ["U0OPSBOT"]}, "event_ts": "1.0"}
    await bot.event(revoked)
    status, checks = await ready(bot)
    assert status == 503 and checks["delivery"][0] is False
    assert checks["delivery"][1].startswith("stopped: tokens_revoked")
    assert await live(bot) == 200
