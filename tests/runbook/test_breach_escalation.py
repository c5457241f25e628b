""" "Data breach suspected" escalates at once, by the path /incident escalate takes: the next level is
called (paged in the thread and in its channel, PagerDuty on the first), recorded once, and a
redelivered request escalates nothing more. An update that reveals a breach routes to security too."""

from __future__ import annotations

__all__ = ["clock", "pd", "timed"]  # the clock tests' fixtures, used here too

from bot.devtools import payloads
from bot.store import repo
from tests.clock.conftest import clock, pd, timed
from tests.fakes.pagerduty import FakePagerDuty
from tests.harness import Harness


async def escalations(bot: Harness, number: int) -> list[str]:
    async with bot.runtime.store.transaction() as tx:
        return [e.text for e in await repo.timeline(tx, number) if e.kind == "escalated"]


async def incident_level(bot: Harness, number: int) -> tuple[int, str | None, bool]:
    async with bot.runtime.store.transaction() as tx:
        inc = await repo.get_incident(tx, number)
    assert inc is not None
    return inc.escalation_level, inc.scenario, inc.restricted


def pages(bot: Harness, mention: str) -> list[str]:
    return [c.params["text"] for c in bot.sim.of("chat.postMessage") if c.params["text"].startswith(mention)]


async def test_a_declared_breach_calls_the_next_level_at_once_and_a_redelivery_adds_nothing(
    timed: Harness, pd: FakePagerDuty
) -> None:
    body = payloads.slash_command(
        "/incident",
        "open P1 data breach suspected in customer exports",
        user="U0ONCALL",
        response_url=timed.sim.response_url("U0ONCALL"),
    )
    for retry in (None, "1"):  # Slack retries a slow ack with the same body
        headers = {"X-Slack-Retry-Num": retry, "X-Slack-Retry-Reason": "http_timeout"} if retry else None
        response = await timed.post(body, "application/x-www-form-urlencoded", headers=headers)
        assert response.status_code == 200
    await timed.settle()
    assert (await incident_level(timed, 1))[:2] == (2, "security")  # P1 pages level 1; breach calls 2
    texts = await escalations(timed, 1)
    assert len(texts) == 2
    assert any("data breach suspected" in t and "level 2" in t for t in texts)
    assert len(pages(timed, "<@U0MANAGER>")) == 1  # the manager, timed once in the thread
    assert "escalate immediately" in pages(timed, "<@U0MANAGER>")[0]
    assert [a for a, _ in pd.actions()] == ["trigger"]  # PagerDuty's incident, once
    assert "Escalation: level 2 of 3" in timed.card(1)["text"]


async def test_an_update_that_reveals_a_breach_reroutes_and_escalates_once(timed: Harness) -> None:
    await timed.command("open P3 exports look odd")
    await timed.settle()
    assert await incident_level(timed, 1) == (0, None, False)
    await timed.command("note INC-1 looks like a data breach: customer table copied out")
    await timed.settle()
    assert await incident_level(timed, 1) == (1, "security", True)
    assert len(pages(timed, "<!subteam^S0ONCALL>")) == 2  # in the thread and in #engineering-oncall
    await timed.command("update INC-1 identified data breach confirmed, attacker key revoked")
    await timed.settle()
    assert (await incident_level(timed, 1))[0] == 1  # once per incident
    assert len(await escalations(timed, 1)) == 1
    said = "\n".join(timed.said(1))
    assert "Security incident" in said  # the security checklist came with the re-route


async def test_a_breach_at_the_top_of_the_path_is_recorded_not_refused(timed: Harness) -> None:
    await timed.command("open P0 site down")
    await timed.settle()
    await timed.command("escalate INC-1")
    await timed.command("escalate INC-1")
    reply = await timed.command("note INC-1 data breach suspected as well")
    await timed.settle()
    assert reply["text"].startswith("Done")
    assert (await incident_level(timed, 1))[0] == 3
    assert "already at the top" in (await escalations(timed, 1))[-1]
