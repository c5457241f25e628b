"""Incident threads: every human message joins the timeline; a mention of the bot is a command."""

from __future__ import annotations

import re
from typing import Any

from slack_bolt.async_app import AsyncApp, AsyncBoltContext
from slack_sdk.web.async_client import AsyncWebClient

from bot.deps import Deps
from bot.incidents import commands
from bot.incidents import service as incidents
from bot.slack.replies import guarded

_MENTION = re.compile(r"<@([UW][A-Z0-9]+)(?:\|[^>]*)?>")
HUMAN_SUBTYPES = {None, "thread_broadcast", "file_share"}


def mentioned_command(text: str, bot_user_id: str | None) -> str | None:
    """The text after the bot's mention, or None when the bot is not mentioned."""
    if not bot_user_id:
        return None
    for match in _MENTION.finditer(text):
        if match.group(1) == bot_user_id:
            return (text[: match.start()] + " " + text[match.end() :]).strip()
    return None


async def _run_mention(
    deps: Deps, event: dict[str, Any], bot_user_id: str | None, client: AsyncWebClient
) -> None:
    text = mentioned_command(event.get("text") or "", bot_user_id)
    thread_ts = event.get("thread_ts")
    if text is None or not event.get("user"):
        return
    inc = None
    if thread_ts and thread_ts != event.get("ts"):
        inc = await incidents.incident_for_thread(deps, channel=event["channel"], thread_ts=thread_ts)
    if inc is None:
        await client.chat_postEphemeral(
            channel=event["channel"],
            user=event["user"],
            thread_ts=thread_ts,
            text="Mention me in an incident card's thread to change that incident, or use `/incident help`.",
        )
        return
    cmd = commands.parse_thread_command(text, inc.number)
    # Keyed on the message, so a redelivered app_mention changes nothing twice.
    reply = await incidents.run(
        deps, cmd, actor=event["user"], key=f"mention:{event['channel']}:{event['ts']}", as_of=_sent_at(event)
    )
    if isinstance(cmd, commands.Show | commands.Help):
        await client.chat_postEphemeral(
            channel=event["channel"], user=event["user"], thread_ts=thread_ts, **reply.as_kwargs()
        )


def register(app: AsyncApp, deps: Deps) -> None:
    # Our own client (not Bolt's per-request copy), so every call the bot makes has one shape.
    client = deps.outbox.client

    async def _reply_error(text: str, kwargs: dict[str, Any]) -> None:
        event = kwargs.get("event") or {}
        if event.get("user") and event.get("channel"):
            await client.chat_postEphemeral(
                channel=event["channel"],
                user=event["user"],
                text=text,
                thread_ts=event.get("thread_ts") or event.get("ts"),
            )

    @guarded(_reply_error)
    async def on_message(event: dict[str, Any]) -> None:
        subtype = event.get("subtype")
        channel = event.get("channel", "")
        if subtype == "message_changed":
            msg = event.get("message") or {}
            if msg.get("thread_ts") and msg.get("thread_ts") != msg.get("ts"):
                await incidents.edit_message(
                    deps,
                    channel=channel,
                    thread_ts=msg["thread_ts"],
                    ts=msg["ts"],
                    text=msg.get("text") or "",
                )
            return
        if subtype == "message_deleted":
            prev = event.get("previous_message") or {}
            if prev.get("thread_ts") and event.get("deleted_ts"):
                await incidents.delete_message(
                    deps, channel=channel, thread_ts=prev["thread_ts"], ts=event["deleted_ts"]
                )
            return
        thread_ts = event.get("thread_ts")
        if subtype not in HUMAN_SUBTYPES or event.get("bot_id") or not event.get("user"):
            return
        if not thread_ts or thread_ts == event.get("ts"):
            return
        # A mention also arrives as `app_mention`; only that one acts, so it takes effect once.
        await incidents.record_message(
            deps,
            channel=channel,
            thread_ts=thread_ts,
            ts=event["ts"],
            actor=event["user"],
            text=event.get("text") or "",
        )

    @guarded(_reply_error)
    async def on_mention(event: dict[str, Any], context: AsyncBoltContext) -> None:
        await _run_mention(deps, event, context.bot_user_id, client)

    app.event("message")(on_message)
    app.event("app_mention")(on_mention)


def _sent_at(event: dict[str, Any]) -> float | None:
    """When the person sent the message (its ts), so a late redelivery cannot undo later changes."""
    try:
        return float(event["ts"])
    except (KeyError, TypeError, ValueError):
        return None
