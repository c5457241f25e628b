"""``/incident`` and ``/ops``: ack with the private reply once the change is committed."""

from __future__ import annotations

import hashlib
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncBoltContext, AsyncRespond

from bot.deps import Deps
from bot.incidents import commands
from bot.incidents import service as incidents
from bot.public import service as public
from bot.runbook import ops
from bot.slack.inbound import typed
from bot.slack.replies import guarded


async def _reply_error(text: str, kwargs: dict[str, Any]) -> None:
    ack: AsyncAck | None = kwargs.get("ack")
    if ack is not None and ack.response is None:
        await ack(text=text, response_type="ephemeral")
    elif kwargs.get("respond") is not None:
        await kwargs["respond"](text=text, response_type="ephemeral", replace_original=False)


def register(app: AsyncApp, deps: Deps) -> None:
    @guarded(_reply_error)
    async def incident_command(
        ack: AsyncAck, command: dict[str, Any], respond: AsyncRespond, context: AsyncBoltContext
    ) -> None:
        cmd = commands.parse_command(
            typed(command.get("text")), now=deps.clock(), bot_user_id=context.bot_user_id
        )
        if isinstance(cmd, commands.Publish):  # the status page's use case, not the incident core's
            reply = await public.preview(deps, number=cmd.number, text=cmd.text, actor=command["user_id"])
        else:
            reply = await incidents.perform(
                deps,
                cmd,
                actor=command["user_id"],
                key=_command_key(command),
                response_url=command.get("response_url"),
                channel=command.get("channel_id"),
            )
        await ack(response_type="ephemeral", **reply.as_kwargs())

    app.command("/incident")(incident_command)

    @guarded(_reply_error)
    async def ops_command(ack: AsyncAck, command: dict[str, Any]) -> None:
        cmd = ops.parse_ops_command(typed(command.get("text")))
        reply = await ops.perform(
            deps,
            cmd,
            response_url=command.get("response_url"),
            actor=command["user_id"],
            channel=command.get("channel_id"),
        )
        await ack(response_type=reply.response_type, **reply.message.as_kwargs())

    app.command("/ops")(ops_command)


def _command_key(command: dict[str, Any]) -> str:
    """Short and free of what was typed: the text may hold a secret, and PostgreSQL caps index entries."""
    # trigger_id is unique per invocation and repeats when Slack delivers the same one again.
    trigger = command.get("trigger_id")
    if trigger:
        return f"command:{trigger}"
    said = f"{command.get('user_id')}\n{command.get('channel_id')}\n{command.get('text')}"
    return "command:" + hashlib.sha256(said.encode()).hexdigest()[:32]
