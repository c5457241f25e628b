"""Where a confidential incident's title could still leak past the security channel: the private list
an alert's "Attach to an open incident" shows anyone in the alerts channel, an incident an alert opens
whose title says a breach, and PagerDuty's summary."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator

import pytest
from pydantic import SecretStr

from bot.devtools.slack_sim import SlackSim
from tests.alerts.test_alerts_in_slack import AM_TOKEN, alert_messages, deliver, firing, press
from tests.clock.conftest import clock, pd, start_timed
from tests.fakes.pagerduty import FakePagerDuty
from tests.fakes.slack_spec import check_call
from tests.harness import FakeClock, Harness

__all__ = ["clock", "pd"]  # the clock tests' fixtures, used here too


@pytest.fixture
async def sec_bot(store_url: str) -> AsyncIterator[Harness]:
    sim = await SlackSim(validator=check_call).start()
    sim.add_channel("G0SECURITY", "security-incidents", is_private=True)
    bot = await Harness.start(
        store_url, sim=sim, security_channel="#security-incidents", alertmanager_token=SecretStr(AM_TOKEN)
    )
    try:
        yield bot
    finally:
        await bot.close()
    assert bot.sim.problems == []


async def test_the_attach_list_names_a_confidential_incident_without_its_title(sec_bot: Harness) -> None:
    await sec_bot.command("open P1 leaked key for the billing database")
    await sec_bot.command("open P2 checkout slow for some users")
    await sec_bot.settle()
    await deliver(sec_bot, "alertmanager", firing())
    [alert] = alert_messages(sec_bot)
    await press(sec_bot, alert, "alert_attach")
    [choices] = [c for c in sec_bot.sim.of("response_url") if c.params.get("blocks")]
    shown = json.dumps(choices.params)
    assert "checkout slow" in shown and "INC-1" in shown
    assert "billing" not in shown and "leaked key" not in shown


async def test_an_incident_an_alert_opens_saying_breach_goes_to_the_security_channel(
    sec_bot: Harness,
) -> None:
    data = firing()
    data["alerts"][0]["annotations"]["summary"] = (
        "Stripe payment webhook failing at checkout, data breach suspected"
    )
    await deliver(sec_bot, "alertmanager", data)
    [alert] = alert_messages(sec_bot)
    await press(sec_bot, alert, "alert_open")
    assert (await sec_bot.card_ref(1))[0] == "G0SECURITY"  # the alert's own scenario (payments) is outranked
    assert "INC-1 is confidential" not in json.dumps(sec_bot.sim.messages.get("C0INCIDENT", {}))
    assert any("escalate immediately" in m["text"] for m in sec_bot.thread(1))


async def test_pagerduty_is_told_a_confidential_incident_without_its_title(
    store_url: str, pd: FakePagerDuty, clock: FakeClock
) -> None:
    sim = await SlackSim(validator=check_call, clock=clock).start()
    sim.add_channel("G0SECURITY", "security-incidents", is_private=True)
    bot = await start_timed(store_url, pd=pd, clock=clock, sim=sim, security_channel="#security-incidents")
    try:
        await bot.command("open P0 leaked key for the billing database")
        await bot.command("open P0 site down")
        await bot.settle()
        summaries = sorted(e["payload"]["summary"] for e in pd.accepted if e["event_action"] == "trigger")
        assert summaries == ["INC-1 P0: a confidential (security) incident", "INC-2 P0: site down"]
        assert "billing" not in json.dumps(pd.accepted)
    finally:
        await bot.close()
    assert bot.sim.problems == []


async def test_an_archived_security_channel_is_not_ready(store_url: str) -> None:
    sim = await SlackSim(validator=check_call).start()
    sim.add_channel("G0SECURITY", "security-incidents", is_private=True, is_archived=True)
    bot = await Harness.start(store_url, sim=sim, security_channel="G0SECURITY")  # by ID: found archived
    try:
        ready = await bot.http.get(f"{bot.url}/readyz")
        assert ready.status_code == 503
        check = next(c for c in ready.json()["checks"] if c["name"] == "security_channel")
        assert "ARCHIVED" in check["detail"]
        assert not bot.runtime.deps.security.safe
    finally:
        await bot.close()
