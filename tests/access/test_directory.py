"""Asking Slack who someone is: an answer that is not Slack's JSON is an upstream error like any other."""

from __future__ import annotations

import pytest
from slack_sdk.web.async_client import AsyncWebClient

from bot.access.directory import SlackDirectory
from bot.devtools.slack_sim import SlackSim
from bot.errors import UpstreamError
from tests.fakes.slack_spec import check_call


async def test_a_plain_text_500_is_an_upstream_error() -> None:
    sim = await SlackSim(validator=check_call).start()
    try:
        client = AsyncWebClient(token="xoxb-test", base_url=sim.api_url)
        sim.fail("users.info", status=500)  # "upstream trouble", as text
        with pytest.raises(UpstreamError, match=r"HTTP 500"):
            await SlackDirectory(client, ttl=60).is_guest("U0GUEST")
    finally:
        await sim.stop()
