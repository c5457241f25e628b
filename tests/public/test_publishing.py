"""Publishing end to end over signed HTTP on both stores: preview, one Publish, the page and its JSON."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from bot.devtools import payloads
from tests.harness import Harness


@pytest.fixture
async def bot(store_url: str) -> AsyncIterator[Harness]:
    harness = await Harness.start(
        store_url, support_channel="C0SUPPORT", public_url="https://status.shop.test"
    )
    harness.sim.add_channel("C0SUPPORT", "customer-support")
    try:
        yield harness
    finally:
        await harness.close()
    assert harness.sim.problems == [], harness.sim.problems


async def press_publish(bot: Harness, preview: dict[str, Any], *, user: str = "U0ONCALL") -> httpx.Response:
    for block in preview["blocks"]:
        for element in block.get("elements", []):
            if isinstance(element, dict) and element.get("action_id") == "status_publish":
                body = payloads.block_action(
                    action=element,
                    block_id=block.get("block_id", "b"),
                    user=user,
                    channel="C0INCIDENT",
                    message_ts="1.000001",
                    response_url=bot.sim.response_url(user),
                )
                response = await bot.post(body, "application/x-www-form-urlencoded")
                await bot.settle()
                return response
    raise AssertionError("no Publish button in the preview")


async def get(bot: Harness, path: str) -> Any:
    response = await bot.http.get(f"{bot.url}{path}")
    assert response.status_code == 200, response.text
    return response.json() if path.endswith(".json") else response.text


async def test_nothing_is_public_until_published(bot: Harness) -> None:
    await bot.command("open P1 checkout broken: stripe 502 on charge for order 81723")
    await bot.settle()
    summary = await get(bot, "/api/v2/summary.json")
    assert summary["incidents"] == [] and summary["status"]["indicator"] == "none"
    preview = await bot.command("publish INC-1 Some card payments fail at checkout; we are on it.")
    assert "nothing is public until you press Publish" in json.dumps(preview["blocks"])
    assert (await get(bot, "/api/v2/incidents.json"))["incidents"] == []  # a preview publishes nothing
    page = await get(bot, "/status")
    assert "order 81723" not in page and "All Systems Operational" in page


async def test_publish_once_then_the_page_the_json_the_thread_and_support_channel(bot: Harness) -> None:
    await bot.command("open P1 checkout broken")
    await bot.settle()
    preview = await bot.command("publish INC-1 Some card payments fail at checkout; we are on it.")
    assert (await press_publish(bot, preview)).status_code == 200
    await press_publish(bot, preview)  # a second press
    assert any("works once" in r for r in bot.private_replies())
    unresolved = await get(bot, "/api/v2/incidents/unresolved.json")
    [inc] = unresolved["incidents"]
    assert inc["name"] == "Some card payments fail at checkout; we are on it."
    assert inc["impact"] == "major" and inc["status"] == "investigating"
    assert len(inc["incident_updates"]) == 1
    components = {c["name"]: c["status"] for c in (await get(bot, "/api/v2/components.json"))["components"]}
    assert components["Checkout"] == "partial_outage" and components["Website"] == "operational"
    assert (await get(bot, "/api/v2/status.json"))["status"]["indicator"] == "major"
    assert any("published this incident on the status page" in line for line in bot.said(1))
    support = [c for c in bot.sim.of("chat.postMessage") if c.params.get("channel") == "C0SUPPORT"]
    assert len(support) == 1 and "Some card payments fail" in str(support[0].params["text"])


async def test_resolving_a_published_incident_publishes_the_resolution(bot: Harness) -> None:
    await bot.command("open P2 checkout slow")
    await bot.settle()
    await press_publish(bot, await bot.command("publish INC-1 Checkout is slower than usual."))
    await bot.command("resolve INC-1 fixed")
    await bot.settle()
    [inc] = (await get(bot, "/api/v2/incidents.json"))["incidents"]
    assert inc["status"] == "resolved" and inc["resolved_at"] is not None
    assert inc["incident_updates"][0]["body"] == "This incident has been resolved."
    assert (await get(bot, "/api/v2/incidents/unresolved.json"))["incidents"] == []
    assert (await get(bot, "/api/v2/status.json"))["status"]["indicator"] == "none"
    assert not [c for c in bot.sim.of("chat.postMessage") if c.params.get("channel") == "C0SUPPORT"]  # P2


async def test_only_the_asker_may_press_and_publishers_are_checked(store_url: str) -> None:
    bot = await Harness.start(store_url, publishers=["U0ONCALL"])
    try:
        await bot.command("open P1 checkout broken")
        await bot.settle()
        refused = await bot.command("publish INC-1 hello", user="U0STRANGER")
        assert "Only <@U0ONCALL> may publish" in refused["text"]
        preview = await bot.command("publish INC-1 Card payments fail.")
        await press_publish(bot, preview, user="U0STRANGER")
        assert (await get(bot, "/api/v2/incidents.json"))["incidents"] == []
    finally:
        await bot.close()


async def test_bad_input_says_the_right_form(bot: Harness) -> None:
    reply = await bot.command("publish INC-9 hello")
    assert "There is no INC-9" in reply["text"]
    reply = await bot.command("publish INC-1")
    assert "/incident publish" in reply["text"]
