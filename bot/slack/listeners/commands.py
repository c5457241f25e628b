"""``/incident`` and ``/ops``: ack with the private reply once the change is committed."""

from __future__ import annotations

from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncRespond

from bot.deps import Deps
from bot.incidents import commands
from bot.incidents import service as incidents
from bot.runbook import ops
from bot.slack.replies import guarded


async def _reply_error(text: str, kwargs: dict[str, Any]) -> None:
    ack: AsyncAck | None = kwargs.get("ack")
    if ack is not None and ack.response is None:
        await ack(text=text, response_type="ephemeral")
    elif kwargs.get("respond") is not None:
        await kwargs["respond"](text=text, response_type="ephemeral", replace_original=False)


def register(app: AsyncApp, deps: Deps) -> None:
    @guarded(_reply_error)
    async def incident_command(ack: AsyncAck, command: dict[str, Any], respond: AsyncRespond) -> None:
        cmd = commands.parse_command(command.get("text") or "", now=deps.clock())
        reply = await incidents.run(
            deps,
            cmd,
            actor=command["user_id"],
            key=_command_key(command),
            response_url=command.get("response_url"),
        )
        await ack(response_type="ephemeral", **reply.as_kwargs())

    app.command("/incident")(incident_command)

    @guarded(_reply_error)
    async def ops_command(ack: AsyncAck, command: dict[str, Any]) -> None:
        cmd = ops.parse_ops_command(command.get("text") or "")
        reply = await ops.run(deps, cmd, response_url=command.get("response_url"))
        await ack(response_type=reply.response_type, **reply.message.as_kwargs())

    app.command("/ops")(ops_command)


def _command_key(command: dict[str, Any]) -> str:
    # trigger_id is unique per invocation and repeats when Slack delivers the same one again.
    return f"command:{command.get('trigger_id') or command.get('user_id')}:{command.get('text')}"
