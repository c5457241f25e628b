"""LeanApp hands each request the shared client, and otherwise the context Bolt itself would build."""

from __future__ import annotations

from slack_bolt.async_app import AsyncApp
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_sdk.web.async_client import AsyncWebClient

from bot.devtools import payloads
from bot.slack.app import LeanApp


def request() -> AsyncBoltRequest:
    body = payloads.slash_command(
        "/incident", "list", response_url="https://hooks.example/r", trigger_id="1.2.3"
    )
    return AsyncBoltRequest(body=body, headers={"content-type": ["application/x-www-form-urlencoded"]})


async def test_context_matches_bolts_own_but_for_the_shared_client() -> None:
    client = AsyncWebClient(token="xoxb-test")
    apps = [cls(client=client, signing_secret="s") for cls in (AsyncApp, LeanApp)]
    stock, lean = request(), request()
    apps[0]._init_context(stock)
    apps[1]._init_context(lean)
    assert set(lean.context) == set(stock.context)
    assert lean.context.client is client  # the one client, not a copy per request
    assert stock.context.client is not client
    assert lean.context["listener_runner"] is apps[1].listener_runner
    for key in set(stock.context) - {"client", "logger", "listener_runner"}:
        assert lean.context[key] == stock.context[key], key
    assert lean.context.logger.name == stock.context.logger.name
