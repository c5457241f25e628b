"""The Confirm button of a remediation preview: claim it (store only), ack; the action runs after."""

from __future__ import annotations

from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncRespond

from bot.actions import ids
from bot.actions import service as actions
from bot.deps import Deps
from bot.errors import UsageError
from bot.slack.replies import guarded


async def _reply_error(text: str, kwargs: dict[str, Any]) -> None:
    ack: AsyncAck | None = kwargs.get("ack")
    if ack is not None and ack.response is None:
        await ack()
    respond: AsyncRespond | None = kwargs.get("respond")
    if respond is not None:
        await respond(text=text, response_type="ephemeral", replace_original=False)


def register(app: AsyncApp, deps: Deps) -> None:
    @guarded(_reply_error)
    async def confirm(
        ack: AsyncAck, body: dict[str, Any], action: dict[str, Any], respond: AsyncRespond
    ) -> None:
        token = ids.parse_confirm(str(action.get("value", "")))
        url = body.get("response_url")
        if not url:
            raise UsageError("Slack sent no response_url with this press; run the command again.")
        await actions.confirm(
            deps, token=token, actor=body["user"]["id"], key=f"action:{body.get('trigger_id')}", url=url
        )
        await ack()

    app.action(ids.ACTION_CONFIRM)(confirm)
