"""Buttons on the incident card: status transitions and "Take command"."""

from __future__ import annotations

from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp

from bot.deps import Deps
from bot.errors import UsageError
from bot.incidents import commands
from bot.incidents import service as incidents
from bot.incidents.model import Status
from bot.runbook import service as diagnostics
from bot.slack import ids
from bot.slack.answers import interaction_error_reply
from bot.slack.replies import guarded


def _key(body: dict[str, Any]) -> str:
    return f"action:{body.get('trigger_id')}"


def register(app: AsyncApp, deps: Deps) -> None:
    @guarded(interaction_error_reply(deps))
    async def status_button(ack: AsyncAck, body: dict[str, Any], action: dict[str, Any]) -> None:
        button = ids.CardButton.decode(str(action.get("value", "")))
        status = Status.parse(button.move)
        if status is None:
            raise UsageError("That button is from an old card.", "/incident help")
        # When incident_admins needs a user-group lookup, the answer follows through the outbox.
        await incidents.change_checked(
            deps,
            actor=body["user"]["id"],
            cmd=commands.Transition(button.number, status),
            key=_key(body),
            expected_version=button.version,
            response_url=body.get("response_url"),
        )
        await ack()

    @guarded(interaction_error_reply(deps))
    async def take_command(ack: AsyncAck, body: dict[str, Any], action: dict[str, Any]) -> None:
        button = ids.CardButton.decode(str(action.get("value", "")))
        await incidents.change(
            deps,
            actor=body["user"]["id"],
            cmd=commands.SetCommander(button.number, body["user"]["id"]),
            key=_key(body),
            expected_version=button.version,
        )
        await ack()

    app.action(ids.STATUS_ACTIONS)(status_button)
    app.action(ids.ACTION_TAKE_COMMAND)(take_command)


def register_runbook(app: AsyncApp, deps: Deps) -> None:
    """Checklist checkboxes and the scenario picker in an incident's thread."""

    @guarded(interaction_error_reply(deps))
    async def checklist(ack: AsyncAck, body: dict[str, Any], action: dict[str, Any]) -> None:
        block = ids.ChecklistSection.decode(str(action.get("block_id", "")))
        selected = {o["value"] for o in action.get("selected_options") or []}
        await diagnostics.toggle_checklist(
            deps,
            number=block.number,
            section=block.section,
            selected=selected,
            shown_checked=block.shown_checked,
            actor=body["user"]["id"],
            key=_key(body),
            scenario_key=block.scenario,
        )
        await ack()

    @guarded(interaction_error_reply(deps))
    async def pick_scenario(ack: AsyncAck, body: dict[str, Any], action: dict[str, Any]) -> None:
        choice = ids.ScenarioChoice.decode(str((action.get("selected_option") or {}).get("value", "")))
        await diagnostics.choose_scenario(
            deps, number=choice.number, scenario_key=choice.scenario, actor=body["user"]["id"], key=_key(body)
        )
        await ack()

    app.action(ids.ACTION_CHECKLIST)(checklist)
    app.action(ids.ACTION_SCENARIO)(pick_scenario)
