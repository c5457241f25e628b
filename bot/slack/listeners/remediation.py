"""The Confirm button of a remediation preview: claim it (store only), ack; the action runs after."""

from __future__ import annotations

from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp

from bot.actions import ids
from bot.actions import service as actions
from bot.deps import Deps
from bot.errors import UsageError
from bot.slack.answers import interaction_error_reply
from bot.slack.replies import guarded


def register(app: AsyncApp, deps: Deps) -> None:
    @guarded(interaction_error_reply(deps))
    async def confirm(ack: AsyncAck, body: dict[str, Any], action: dict[str, Any]) -> None:
        token = ids.parse_confirm(str(action.get("value", "")))
        url = body.get("response_url")
        if not url:
            raise UsageError("Slack sent no response_url with this press; run the command again.")
        await actions.confirm(
            deps, token=token, actor=body["user"]["id"], key=f"action:{body.get('trigger_id')}", url=url
        )
        await ack()

    app.action(ids.ACTION_CONFIRM)(confirm)
