"""Buttons on an alert's message: Open incident, Attach to an open incident, Dismiss."""

from __future__ import annotations

import re
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp

from bot.alerts import render
from bot.alerts import service as alerts
from bot.deps import Deps
from bot.errors import UsageError
from bot.slack.answers import interaction_error_reply, owe_response
from bot.slack.replies import guarded


def _choice(action: dict[str, Any], *, with_incident: bool = False) -> render.AlertChoice:
    raw = action.get("value") or (action.get("selected_option") or {}).get("value") or ""
    try:
        return render.decode(str(raw), with_incident=with_incident)
    except ValueError:
        raise UsageError("That button is from an old alert message.") from None


def register(app: AsyncApp, deps: Deps) -> None:
    @guarded(interaction_error_reply(deps))
    async def open_incident(ack: AsyncAck, body: dict[str, Any], action: dict[str, Any]) -> None:
        choice = _choice(action)
        url = body.get("response_url")
        outcome = await alerts.open_incident(
            deps, alert_id=choice.alert_id, actor=body["user"]["id"], response_url=url
        )
        if outcome.duplicate and url:
            await owe_response(deps, url=url, text=outcome.reply)
        await ack()

    @guarded(interaction_error_reply(deps))
    async def attach(ack: AsyncAck, body: dict[str, Any], action: dict[str, Any]) -> None:
        choice = _choice(action)
        url = body.get("response_url")
        if not url:
            raise UsageError("Slack sent no way to answer you privately; use the alert's message.")
        await alerts.offer_attach(deps, alert_id=choice.alert_id, response_url=url)
        await ack()

    @guarded(interaction_error_reply(deps))
    async def attach_to(ack: AsyncAck, body: dict[str, Any], action: dict[str, Any]) -> None:
        choice = _choice(action, with_incident=True)
        assert choice.incident is not None
        await alerts.attach(
            deps,
            alert_id=choice.alert_id,
            number=choice.incident,
            actor=body["user"]["id"],
            response_url=body.get("response_url"),
        )
        await ack()

    @guarded(interaction_error_reply(deps))
    async def dismiss(ack: AsyncAck, body: dict[str, Any], action: dict[str, Any]) -> None:
        choice = _choice(action)
        if choice.reason is None:
            raise UsageError("Pick why the alert is dismissed.")
        await alerts.dismiss(
            deps,
            alert_id=choice.alert_id,
            actor=body["user"]["id"],
            reason=choice.reason,
            response_url=body.get("response_url"),
        )
        await ack()

    app.action(render.ACTION_OPEN)(open_incident)
    app.action(render.ACTION_ATTACH)(attach)
    app.action(re.compile(f"^{render.ACTION_ATTACH_TO}_"))(attach_to)
    app.action(render.ACTION_DISMISS)(dismiss)
