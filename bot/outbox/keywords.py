"""Keyword forms of ``owe`` for the common messages (callers written before typed messages use these)."""

from __future__ import annotations

from bot.outbox.messages import Blocks, Post, Respond, ResponseType, Update, owe
from bot.store import Tx


async def post(
    tx: Tx,
    *,
    lane: str,
    at: float,
    text: str = "",
    blocks: Blocks | None = None,
    channel: str | None = None,
    thread_ref: str | None = None,
    ref: str | None = None,
    broadcast: bool = False,
) -> None:
    """Owe a new message (``channel`` or ``thread_ref``; ``ref`` names it for later edits)."""
    message = Post(lane, text, blocks, channel=channel, thread_ref=thread_ref, ref=ref, broadcast=broadcast)
    await owe(tx, message, at=at)


async def update(
    tx: Tx, *, lane: str, at: float, ref: str, text: str = "", blocks: Blocks | None = None
) -> None:
    """Owe an edit of the message named ``ref``; later edits replace earlier pending ones."""
    await owe(tx, Update(lane, ref, text, blocks), at=at)


async def respond(
    tx: Tx,
    *,
    url: str,
    at: float,
    text: str,
    blocks: Blocks | None = None,
    response_type: ResponseType = "ephemeral",
    replace_original: bool = False,
) -> None:
    """Owe a private reply through a response_url."""
    await owe(tx, Respond(url, text, blocks, response_type, replace_original), at=at)
