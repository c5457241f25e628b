"""A security incident end to end: routed, kept in the private security channel, escalated at once."""

from __future__ import annotations

import json

import pytest

from bot.store import repo
from tests.harness import Harness


def public_text(bot: Harness) -> str:
    return json.dumps(list(bot.sim.messages["C0INCIDENT"].values()))


async def test_data_breach_goes_to_the_security_channel_and_escalates_now(sec_bot: Harness) -> None:
    reply = await sec_bot.command("open P1 data breach suspected in customer exports")
    await sec_bot.settle()
    assert "<#G0SECURITY>" in reply["text"] or "security-incidents" in reply["text"]
    channel, _ = await sec_bot.card_ref(1)
    assert channel == "G0SECURITY"
    assert "breach" not in public_text(sec_bot)  # nothing in the public channel
    card = sec_bot.card(1)
    assert "Scenario:* security" in json.dumps(card["blocks"])
    texts = [m["text"] for m in sec_bot.thread(1)]
    assert any(t.startswith("Runbook: Security incident") for t in texts)
    assert any("needs you" in t and "escalate immediately" in t for t in texts)  # paged at once
    async with sec_bot.runtime.store.transaction() as tx:
        inc = await repo.get_incident(tx, 1)
        kinds = [e.kind for e in await repo.timeline(tx, 1)]
    assert inc is not None and inc.restricted and "escalated" in kinds
    listed = await sec_bot.command("list")
    assert "confidential" in listed["text"] and "breach" not in listed["text"]


@pytest.mark.parametrize("title", ["compromised account on the admin panel", "leaked key in a public gist"])
async def test_security_titles_route_there_without_escalating(sec_bot: Harness, title: str) -> None:
    await sec_bot.command(f"open P2 {title}")
    await sec_bot.settle()
    assert (await sec_bot.card_ref(1))[0] == "G0SECURITY"
    assert not any("Escalate now" in m["text"] for m in sec_bot.thread(1))


async def test_other_incidents_stay_in_the_incident_channel(sec_bot: Harness) -> None:
    await sec_bot.command("open P1 chekout broken")
    await sec_bot.settle()
    assert (await sec_bot.card_ref(1))[0] == "C0INCIDENT"
    assert "Scenario:* checkout" in json.dumps(sec_bot.card(1)["blocks"])


async def test_without_a_security_channel_the_card_goes_where_all_cards_go(bot: Harness) -> None:
    await bot.command("open P1 leaked key")
    await bot.settle()
    assert (await bot.card_ref(1))[0] == "C0INCIDENT"


@pytest.mark.parametrize(
    "title",
    [
        "stripe payment webhook failing data breach suspected",  # payments words outscore security's
        "login auth breached users locked out",
        "data bre\u00adach suspected in exports",  # a soft hyphen pasted from a web page
        "data\u200bbreach suspected in exports",  # a zero-width space
    ],
)
async def test_a_title_saying_breach_is_confidential_whatever_else_it_says(
    sec_bot: Harness, title: str
) -> None:
    await sec_bot.command(f"open P2 {title}")
    await sec_bot.settle()
    assert (await sec_bot.card_ref(1))[0] == "G0SECURITY"
    assert "locked out" not in public_text(sec_bot) and "exports" not in public_text(sec_bot)
    assert "webhook failing" not in public_text(sec_bot)
    assert any("needs you" in m["text"] and "escalate immediately" in m["text"] for m in sec_bot.thread(1))
