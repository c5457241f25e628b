"""Buttons of the clock: Acknowledge (on the card and on pages), and a nudge's Post update and Snooze."""

from __future__ import annotations

import re
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncRespond

from bot.clock import messages
from bot.clock import service as clock
from bot.deps import Deps
from bot.slack.listeners.actions import _key, _reply_error
from bot.slack.replies import guarded


def register(app: AsyncApp, deps: Deps) -> None:
    async def tell(respond: AsyncRespond, text: str) -> None:
        await respond(text=text, response_type="ephemeral", replace_original=False)

    @guarded(_reply_error)
    async def acknowledge(
        ack: AsyncAck, body: dict[str, Any], action: dict[str, Any], respond: AsyncRespond
    ) -> None:
        number = messages.parse_ack(str(action.get("value", "")))
        reply = await clock.acknowledge(
            deps, number=number, actor=body["user"]["id"], key=_key(body), how="pressed Acknowledge"
        )
        await ack()
        if not reply.startswith("Done"):
            await tell(respond, reply)

    @guarded(_reply_error)
    async def snooze(
        ack: AsyncAck, body: dict[str, Any], action: dict[str, Any], respond: AsyncRespond
    ) -> None:
        number, seconds = messages.parse_snooze(str(action.get("value", "")))
        reply = await clock.snooze(
            deps, number=number, actor=body["user"]["id"], seconds=seconds, key=_key(body)
        )
        await ack()
        await tell(respond, reply)

    @guarded(_reply_error)
    async def post_update(
        ack: AsyncAck, body: dict[str, Any], action: dict[str, Any], respond: AsyncRespond
    ) -> None:
        number = messages.parse_ack(str(action.get("value", "")))
        prompt = await clock.update_prompt(deps, number=number)
        await ack()
        await tell(respond, prompt)

    app.action(messages.ACTION_ACK)(acknowledge)
    app.action(re.compile(f"^{messages.ACTION_SNOOZE}_"))(snooze)
    app.action(messages.ACTION_POST_UPDATE)(post_update)
