"""Incident threads: every human message joins the timeline; a mention of the bot is a command."""

from __future__ import annotations

import re
from typing import Any

from slack_bolt.async_app import AsyncApp, AsyncBoltContext

from bot.deps import Deps
from bot.incidents import mentions, thread_messages
from bot.slack.answers import owe_ephemeral
from bot.slack.blocks import Message
from bot.slack.inbound import typed
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


async def _run_mention(deps: Deps, event: dict[str, Any], bot_user_id: str | None) -> None:
    text = mentioned_command(typed(event.get("text")), bot_user_id)
    if text is None or not event.get("user"):
        return
    thread_ts = event.get("thread_ts")
    mention = mentions.Mention(
        channel=event["channel"],
        user=event["user"],
        ts=event["ts"],
        text=text,
        thread_ts=str(thread_ts) if thread_ts else None,
        bot_user_id=bot_user_id,
    )
    await mentions.carry_out(deps, mention)


def register(app: AsyncApp, deps: Deps) -> None:
    async def _reply_error(text: str, kwargs: dict[str, Any]) -> None:
        event = kwargs.get("event") or {}
        if event.get("user") and event.get("channel"):
            await owe_ephemeral(
                deps,
                channel=event["channel"],
                user=event["user"],
                message=Message(text=text),
                thread_ts=event.get("thread_ts") or event.get("ts"),
            )

    @guarded(_reply_error)
    async def on_message(event: dict[str, Any], context: AsyncBoltContext) -> None:
        subtype = event.get("subtype")
        channel = event.get("channel", "")
        if subtype == "message_changed":
            msg = event.get("message") or {}
            if msg.get("thread_ts") and msg.get("thread_ts") != msg.get("ts"):
                await thread_messages.edit_message(
                    deps,
                    channel=channel,
                    thread_ts=msg["thread_ts"],
                    ts=msg["ts"],
                    text=typed(msg.get("text")),
                )
            return
        if subtype == "message_deleted":
            prev = event.get("previous_message") or {}
            if prev.get("thread_ts") and event.get("deleted_ts"):
                await thread_messages.delete_message(
                    deps, channel=channel, thread_ts=prev["thread_ts"], ts=event["deleted_ts"]
                )
            return
        thread_ts = event.get("thread_ts")
        if subtype not in HUMAN_SUBTYPES or event.get("bot_id") or not event.get("user"):
            return
        if not thread_ts or thread_ts == event.get("ts"):
            return
        # A mention also arrives as `app_mention`; that one acts, and what it did is on the timeline.
        # The mention itself is not stored: a failed or read-only command leaves no trace as a message.
        if mentioned_command(typed(event.get("text")), context.bot_user_id) is not None:
            return
        await thread_messages.record_message(
            deps,
            channel=channel,
            thread_ts=thread_ts,
            ts=event["ts"],
            actor=event["user"],
            text=typed(event.get("text")),
        )

    @guarded(_reply_error)
    async def on_mention(event: dict[str, Any], context: AsyncBoltContext) -> None:
        await _run_mention(deps, event, context.bot_user_id)

    app.event("message")(on_message)
    app.event("app_mention")(on_mention)
