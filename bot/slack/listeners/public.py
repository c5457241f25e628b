"""The Publish button on a status-page preview."""

from __future__ import annotations

from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp

from bot.deps import Deps
from bot.errors import UsageError
from bot.public import render
from bot.public import service as public
from bot.slack.answers import interaction_error_reply
from bot.slack.replies import guarded


def register(app: AsyncApp, deps: Deps) -> None:
    @guarded(interaction_error_reply(deps))
    async def publish(ack: AsyncAck, body: dict[str, Any], action: dict[str, Any]) -> None:
        try:
            draft_id = render.parse_draft_value(str(action.get("value", "")))
        except ValueError:
            raise UsageError("That Publish button is from an old preview; ask for a new one.") from None
        await public.publish(
            deps, draft_id=draft_id, actor=body["user"]["id"], response_url=body.get("response_url")
        )
        await ack()

    app.action(render.ACTION_PUBLISH)(publish)
