"""Buttons on the incident card: status transitions and "Take command"."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp

from bot.deps import Deps
from bot.errors import UsageError
from bot.incidents import commands, render
from bot.incidents import service as incidents
from bot.incidents.model import Status
from bot.runbook import report
from bot.runbook import service as diagnostics
from bot.slack.answers import owe_response
from bot.slack.replies import guarded


def _error_reply(deps: Deps) -> Callable[[str, dict[str, Any]], Awaitable[None]]:
    async def reply(text: str, kwargs: dict[str, Any]) -> None:
        # Owed through the outbox, never sent before the ack: a slow Slack would make it retry.
        url = (kwargs.get("body") or {}).get("response_url")
        if url:
            await owe_response(deps, url=url, text=text)
        ack: AsyncAck | None = kwargs.get("ack")
        if ack is not None and ack.response is None:
            await ack()

    return reply


def parse_button(value: str) -> tuple[int, int, str]:
    """``"12:4:identified"`` -> (incident 12, card version 4, "identified")."""
    parts = value.split(":")
    if len(parts) < 2 or not parts[0].isdigit() or not parts[1].isdigit():
        raise UsageError("That button is from an old card; use the slash command instead.", "/incident help")
    return int(parts[0]), int(parts[1]), parts[2] if len(parts) > 2 else ""


def _key(body: dict[str, Any]) -> str:
    return f"action:{body.get('trigger_id')}"


def register(app: AsyncApp, deps: Deps) -> None:
    @guarded(_error_reply(deps))
    async def status_button(ack: AsyncAck, body: dict[str, Any], action: dict[str, Any]) -> None:
        number, version, word = parse_button(action.get("value", ""))
        status = Status.parse(word)
        if status is None:
            raise UsageError("That button is from an old card.", "/incident help")
        # When incident_admins needs a user-group lookup, the answer follows through the outbox.
        await incidents.change_checked(
            deps,
            actor=body["user"]["id"],
            cmd=commands.Transition(number, status),
            key=_key(body),
            expected_version=version,
            response_url=body.get("response_url"),
        )
        await ack()

    @guarded(_error_reply(deps))
    async def take_command(ack: AsyncAck, body: dict[str, Any], action: dict[str, Any]) -> None:
        number, version, _ = parse_button(action.get("value", ""))
        await incidents.change(
            deps,
            actor=body["user"]["id"],
            cmd=commands.SetCommander(number, body["user"]["id"]),
            key=_key(body),
            expected_version=version,
        )
        await ack()

    app.action(re.compile(f"^{render.ACTION_STATUS}_"))(status_button)
    app.action(render.ACTION_TAKE_COMMAND)(take_command)


def register_runbook(app: AsyncApp, deps: Deps) -> None:
    """Checklist checkboxes and the scenario picker in an incident's thread."""

    @guarded(_error_reply(deps))
    async def checklist(ack: AsyncAck, body: dict[str, Any], action: dict[str, Any]) -> None:
        block = report.parse_checklist_block(str(action.get("block_id", "")))
        if block is None:
            raise UsageError("That checklist is from an old message.")
        selected = {o["value"] for o in action.get("selected_options") or []}
        await diagnostics.toggle_checklist(
            deps,
            number=block.number,
            section=block.section,
            selected=selected,
            shown_checked=block.shown_checked,
            actor=body["user"]["id"],
            key=_key(body),
        )
        await ack()

    @guarded(_error_reply(deps))
    async def pick_scenario(ack: AsyncAck, body: dict[str, Any], action: dict[str, Any]) -> None:
        value = str((action.get("selected_option") or {}).get("value", ""))
        number, _, key = value.partition(":")
        if not number.isdigit():
            raise UsageError("That picker is from an old message.")
        await diagnostics.choose_scenario(
            deps, number=int(number), scenario_key=key, actor=body["user"]["id"], key=_key(body)
        )
        await ack()

    app.action(report.ACTION_CHECKLIST)(checklist)
    app.action(report.ACTION_SCENARIO)(pick_scenario)
