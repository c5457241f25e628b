"""Buttons of the clock: Acknowledge (on the card and on pages), and a nudge's Post update and Snooze."""

from __future__ import annotations

import re
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp

from bot.clock import messages
from bot.clock import service as clock
from bot.deps import Deps
from bot.slack.answers import interaction_error_reply, owe_response
from bot.slack.listeners.actions import _key
from bot.slack.replies import guarded


def register(app: AsyncApp, deps: Deps) -> None:
    async def tell(body: dict[str, Any], text: str) -> None:
        # Owed through the outbox, never a Slack call before the ack.
        if body.get("response_url"):
            await owe_response(deps, url=str(body["response_url"]), text=text)

    @guarded(interaction_error_reply(deps))
    async def acknowledge(ack: AsyncAck, body: dict[str, Any], action: dict[str, Any]) -> None:
        number = messages.parse_ack(str(action.get("value", "")))
        reply = await clock.acknowledge(
            deps, number=number, actor=body["user"]["id"], key=_key(body), how="pressed Acknowledge"
        )
        if not reply.startswith("Done"):
            await tell(body, reply)
        await ack()

    @guarded(interaction_error_reply(deps))
    async def snooze(ack: AsyncAck, body: dict[str, Any], action: dict[str, Any]) -> None:
        number, seconds = messages.parse_snooze(str(action.get("value", "")))
        reply = await clock.snooze(
            deps, number=number, actor=body["user"]["id"], seconds=seconds, key=_key(body)
        )
        await tell(body, reply)
        await ack()

    @guarded(interaction_error_reply(deps))
    async def post_update(ack: AsyncAck, body: dict[str, Any], action: dict[str, Any]) -> None:
        number = messages.parse_ack(str(action.get("value", "")))
        await tell(body, await clock.update_prompt(deps, number=number))
        await ack()

    app.action(messages.ACTION_ACK)(acknowledge)
    app.action(re.compile(f"^{messages.ACTION_SNOOZE}_"))(snooze)
    app.action(messages.ACTION_POST_UPDATE)(post_update)
