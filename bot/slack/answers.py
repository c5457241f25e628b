"""Private answers a listener owes a person: owed through the outbox, so none is a Slack call before the ack.

A listener acks within Slack's three seconds only if it makes no Slack call of its own; what it has
to say goes into the store and the outbox delivers it (retried on a 429, once whatever Slack redelivers).
When the store itself is the problem, the answer is sent in the background, after the ack.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from slack_bolt.async_app import AsyncAck

from bot.deps import Deps
from bot.errors import StoreUnavailable
from bot.outbox import Ephemeral, Respond, owe
from bot.slack.blocks import Message

log = logging.getLogger("opsbot.slack")

LANE = "private"


def ephemeral(*, channel: str, user: str, message: Message, thread_ts: str | None = None) -> Ephemeral:
    """The owed form of a message only ``user`` sees in ``channel`` (in the thread ``thread_ts``)."""
    return Ephemeral(LANE, channel, user, message.text, message.blocks, thread_ts)


async def owe_ephemeral(
    deps: Deps,
    *,
    channel: str,
    user: str,
    message: Message,
    thread_ts: str | None = None,
    key: str | None = None,
) -> None:
    """Owe ``user`` a message only they see in ``channel`` (in the thread ``thread_ts``); with ``key``,
    once however often this is called."""
    text = message.text
    extra: dict[str, Any] = {"blocks": message.blocks} if message.blocks else {}
    if thread_ts:
        extra["thread_ts"] = thread_ts
    try:
        async with deps.store.transaction() as tx:
            answer = ephemeral(channel=channel, user=user, message=message, thread_ts=thread_ts)
            await owe(tx, answer, at=deps.clock(), key=key)
    except StoreUnavailable:
        call = deps.outbox.client.chat_postEphemeral(channel=channel, user=user, text=text, **extra)
        deps.spawn(_quietly(call), name=f"ephemeral:{user}")
        return
    deps.outbox.notify()


async def owe_response(deps: Deps, *, url: str, text: str) -> None:
    """Owe a private reply through an interaction's ``response_url``."""
    try:
        async with deps.store.transaction() as tx:
            await owe(tx, Respond(url, text), at=deps.clock())
    except StoreUnavailable:
        body = {"response_type": "ephemeral", "replace_original": False, "text": text}
        deps.spawn(_quietly(deps.outbox.http.post(url, json=body, timeout=10.0)), name="response")
        return
    deps.outbox.notify()


def interaction_error_reply(deps: Deps) -> Callable[[str, dict[str, Any]], Awaitable[None]]:
    """What a button listener's failure becomes: a private answer owed through the outbox, then the ack."""

    async def reply(text: str, kwargs: dict[str, Any]) -> None:
        # Owed through the outbox, never sent before the ack: a slow Slack would make it retry.
        url = (kwargs.get("body") or {}).get("response_url")
        if url:
            await owe_response(deps, url=url, text=text)
        ack: AsyncAck | None = kwargs.get("ack")
        if ack is not None and ack.response is None:
            await ack()

    return reply


async def _quietly(call: Any) -> None:
    try:
        await call
    except Exception as exc:  # a best-effort answer while the store is down; the log says it was lost
        log.warning("could not send a private answer while the store is unavailable: %s", exc)
