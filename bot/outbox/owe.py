"""What use cases call, inside their transaction, to owe Slack a message."""

from __future__ import annotations

from typing import Any

from bot.store import Tx, repo


async def post(tx: Tx, *, lane: str, at: float, **payload: Any) -> None:
    """Owe Slack a new message (``channel`` or ``thread_ref``; ``ref`` names it for later edits)."""
    await repo.enqueue(tx, lane=lane, kind="post", payload=payload, at=at)


async def update(tx: Tx, *, lane: str, at: float, ref: str, **payload: Any) -> None:
    """Owe Slack an edit of the message named ``ref``; later edits replace earlier pending ones."""
    await repo.enqueue(
        tx, lane=lane, kind="update", payload={"ref": ref, **payload}, at=at, coalesce_key=f"update:{ref}"
    )


async def upload(
    tx: Tx, *, lane: str, at: float, thread_ref: str, filename: str, title: str, content: str, text: str
) -> None:
    """Owe Slack a file in the thread of the message named ``thread_ref`` (external upload flow)."""
    payload = {
        "thread_ref": thread_ref,
        "filename": filename,
        "title": title,
        "content": content,
        "text": text,
    }
    await repo.enqueue(tx, lane=lane, kind="upload", payload=payload, at=at)


async def respond(tx: Tx, *, url: str, at: float, text: str, **payload: Any) -> None:
    """Owe a private reply through a slash command's or interaction's response_url."""
    await repo.enqueue(
        tx, lane="respond", kind="respond", payload={"url": url, "text": text, **payload}, at=at
    )


async def ephemeral(
    tx: Tx, *, lane: str, at: float, channel: str, user: str, text: str, **payload: Any
) -> None:
    """Owe a message only ``user`` sees in ``channel`` (``thread_ts`` to show it in a thread)."""
    await repo.enqueue(
        tx,
        lane=lane,
        kind="ephemeral",
        payload={"channel": channel, "user": user, "text": text, **payload},
        at=at,
    )
