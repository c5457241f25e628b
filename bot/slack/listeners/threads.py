"""Incident threads: every human message joins the timeline; a mention of the bot is a command."""

from __future__ import annotations

import asyncio
import contextlib
import re
from typing import Any

from slack_bolt.async_app import AsyncApp, AsyncBoltContext

from bot.deps import Deps
from bot.errors import StoreUnavailable
from bot.incidents import commands, thread_messages
from bot.incidents import service as incidents
from bot.incidents.model import Incident
from bot.slack.answers import owe_ephemeral
from bot.slack.blocks import Message
from bot.slack.inbound import typed
from bot.slack.replies import explain, guarded

_MENTION = re.compile(r"<@([UW][A-Z0-9]+)(?:\|[^>]*)?>")
HUMAN_SUBTYPES = {None, "thread_broadcast", "file_share"}
CARD_WAIT = 60.0  # a mention in a thread this young may be in a card whose ts is not recorded yet
CARD_POLL = 0.5
NOT_IN_A_THREAD = "Mention me in an incident card's thread to change that incident, or use `/incident help`."


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
    thread_ts = event.get("thread_ts")
    if text is None or not event.get("user"):
        return
    inc = None
    if thread_ts and thread_ts != event.get("ts"):
        inc = await thread_messages.incident_for_thread(deps, channel=event["channel"], thread_ts=thread_ts)
        if inc is None and deps.clock() < _ts(thread_ts) + CARD_WAIT:
            # People see a card before its ts is recorded here (Slack answered late, or a takeover
            # checks first whether it landed): after the ack, wait for it rather than say "not a thread".
            deps.spawn(_when_card_known(deps, event, bot_user_id, text), name="opsbot-mention-waits")
            return
    await _perform_mention(deps, event, bot_user_id, text, inc)


async def _when_card_known(deps: Deps, event: dict[str, Any], bot_user_id: str | None, text: str) -> None:
    inc = None
    while inc is None and deps.clock() < _ts(event["thread_ts"]) + CARD_WAIT:
        await asyncio.sleep(CARD_POLL)
        with contextlib.suppress(StoreUnavailable):
            inc = await thread_messages.incident_for_thread(
                deps, channel=event["channel"], thread_ts=event["thread_ts"]
            )
    try:
        await _perform_mention(deps, event, bot_user_id, text, inc)
    except Exception as exc:  # as the listener's guard would: the person is told why
        where = {"channel": event["channel"], "user": event["user"], "thread_ts": event["thread_ts"]}
        await owe_ephemeral(deps, message=Message(text=explain(exc)), **where)


async def _perform_mention(
    deps: Deps, event: dict[str, Any], bot_user_id: str | None, text: str, inc: Incident | None
) -> None:
    where = {"channel": event["channel"], "user": event["user"], "thread_ts": event.get("thread_ts")}
    if inc is None:
        await owe_ephemeral(deps, message=Message(text=NOT_IN_A_THREAD), **where)
        return
    cmd = commands.parse_thread_command(text, inc.number, now=deps.clock(), bot_user_id=bot_user_id)
    # Keyed on the message, so a redelivered app_mention changes nothing twice.
    reply = await incidents.perform(
        deps,
        cmd,
        actor=event["user"],
        key=f"mention:{event['channel']}:{event['ts']}",
        as_of=_sent_at(event),
        shown_in=event["channel"],
    )
    if isinstance(cmd, commands.Show | commands.Help):
        await owe_ephemeral(deps, message=reply, **where)


def _ts(ts: str) -> float:
    try:
        return float(ts)
    except ValueError:
        return 0.0


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


def _sent_at(event: dict[str, Any]) -> float | None:
    """When the person sent the message (its ts), so a late redelivery cannot undo later changes."""
    try:
        return float(event["ts"])
    except (KeyError, TypeError, ValueError):
        return None
