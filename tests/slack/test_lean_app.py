"""LeanApp hands each request the shared client, and otherwise the context Bolt itself would build."""

from __future__ import annotations

import asyncio
from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_bolt.authorization import AuthorizeResult
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


async def test_the_time_to_ack_observed_is_the_listeners_own() -> None:
    seen: list[tuple[str, float]] = []

    async def authorize(**_: Any) -> AuthorizeResult:  # no auth.test call to Slack
        return AuthorizeResult(enterprise_id=None, team_id="T1", bot_token="xoxb-test", bot_user_id="U0")

    app = LeanApp(
        client=AsyncWebClient(),
        signing_secret="s",
        authorize=authorize,
        request_verification_enabled=False,
        process_before_response=True,
    )
    app.observe = lambda kind, seconds: seen.append((kind, seconds))

    @app.command("/incident")
    async def slow(ack: Any) -> None:
        await asyncio.sleep(0.05)  # the listener commits before it acks
        await ack()

    response = await app.async_dispatch(request())
    assert response.status == 200
    assert len(seen) == 1 and seen[0][0] == "command" and seen[0][1] >= 0.05
