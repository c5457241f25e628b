"""What the bot can owe: typed messages, and the one codec between them and the stored outbox rows.

Use cases build a ``Post``, ``Update`` or ``Respond`` and hand it to ``owe`` inside their transaction; the
deliverer decodes it back. No other module knows how a message is stored. (An outbound call that is not
Slack, such as a PagerDuty event, becomes one more dataclass here, with its sender beside the others.)
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Literal

from bot.store import Tx, queue

Blocks = list[dict[str, Any]]  # Slack's Block Kit JSON, as rendered
ResponseType = Literal["ephemeral", "in_channel"]
Kind = Literal["post", "update", "respond", "ephemeral", "upload", "page"]
RESPOND_LANE = "respond"


@dataclass(frozen=True)
class Live:
    """Rendered from the store when sent, by the template registered under ``template``: the latest
    state wins, however long the message waited."""

    template: str
    subject: int


@dataclass(frozen=True)
class Notify:
    """Tell the person who asked, through their response_url, once the post has landed (``{permalink}``
    in ``text`` becomes the message's link) or that it could not be posted (``archived``: what to say
    when the channel is archived)."""

    url: str
    text: str
    archived: str | None = None
    answers_command: bool = False  # ``url`` is a slash command's: these notices replace its ack

    def respond(self, text: str) -> Respond:
        """A notice to the person who asked: the answer to their command, or a new message."""
        return Respond.answer(self.url, text) if self.answers_command else Respond(self.url, text)


@dataclass(frozen=True)
class Post:
    """A new message in ``channel`` (an ID or ``#name``) or in the thread of the message ``thread_ref``;
    ``ref`` names it for later edits and replies."""

    lane: str
    text: str = ""
    blocks: Blocks | None = None
    channel: str | None = None
    thread_ref: str | None = None
    ref: str | None = None
    broadcast: bool = False
    live: Live | None = None
    notify: Notify | None = None


@dataclass(frozen=True)
class Update:
    """An edit of the message named ``ref``; a later edit supersedes a pending earlier one."""

    lane: str
    ref: str
    text: str = ""
    blocks: Blocks | None = None
    live: Live | None = None


@dataclass(frozen=True)
class Respond:
    """A private (or ``in_channel``) reply through a slash command's or interaction's response_url: a new
    message, unless it is the ``answer`` to a command's ack."""

    url: str
    text: str
    blocks: Blocks | None = None
    response_type: ResponseType = "ephemeral"
    replace_original: bool = False  # an outcome replaces the message it answers (a preview)

    @classmethod
    def answer(
        cls, url: str, text: str, blocks: Blocks | None = None, response_type: ResponseType = "ephemeral"
    ) -> Respond:
        """The one follow-up that keeps a slash command's promise ("results follow in a moment"): it
        replaces the command's own ack, so it must say all the ack said that still matters.

        Slack gives no way to look a response_url post up, so one whose answer was lost (a 500, a cut
        connection) is sent again; replacing, the second copy takes the first one's place and the person
        sees it once. An ``in_channel`` answer cannot take an ephemeral ack's place: it is a new message.
        Never for an interaction's response_url (a button's): replacing would overwrite the message the
        button is on."""
        return cls(url, text, blocks, response_type, replace_original=response_type == "ephemeral")


@dataclass(frozen=True)
class Ephemeral:
    """A message only ``user`` sees in ``channel`` (in the thread ``thread_ts``)."""

    lane: str
    channel: str
    user: str
    text: str
    blocks: Blocks | None = None
    thread_ts: str | None = None


@dataclass(frozen=True)
class Upload:
    """A file in the thread of the message ``thread_ref`` or in ``channel`` (Slack's external upload
    flow), with ``text`` as its comment. ``binary``: ``content`` is base64 (an image)."""

    lane: str
    thread_ref: str | None
    filename: str
    title: str
    content: str
    text: str = ""
    channel: str | None = None
    binary: bool = False


@dataclass(frozen=True)
class Page:
    """An outbound page (a PagerDuty event) about incident ``incident``: sent by the outbox's pager,
    in lane order, retried like Slack calls, never twice. ``event`` is stored without any secret."""

    lane: str
    incident: int
    event: dict[str, Any]


Message = Post | Update | Respond | Ephemeral | Upload | Page


@dataclass(frozen=True)
class Rendered:
    """A live message as it stands now, and the version of what it shows."""

    text: str
    blocks: Blocks
    version: int


@dataclass(frozen=True)
class Template:
    """How a live message is rendered, and what its owner records once it is posted (in the same
    transaction as the outcome). ``render`` raises LookupError when its subject is gone."""

    render: Callable[[Tx, int], Awaitable[Rendered]]
    posted: Callable[[Tx, int, str, str], Awaitable[None]] | None = None  # (tx, subject, channel, ts)


async def owe(tx: Tx, message: Message, *, at: float, key: str | None = None) -> bool:
    """Owe ``message`` in the caller's transaction. With ``key``, it is owed once, however often this is
    called (False when it was owed before)."""
    kind, lane, payload = encode(message)
    coalesce = f"update:{message.ref}" if isinstance(message, Update) else None
    return await queue.enqueue(
        tx, lane=lane, kind=kind, payload=payload, at=at, coalesce_key=coalesce, dedupe_key=key
    )


def encode(message: Message) -> tuple[Kind, str, dict[str, Any]]:
    """A message as (kind, lane, stored payload)."""
    if isinstance(message, Respond):
        payload: dict[str, Any] = {"url": message.url, "text": message.text}
        if message.response_type != "ephemeral":
            payload["response_type"] = message.response_type
        if message.blocks:
            payload["blocks"] = message.blocks
        if message.replace_original:
            payload["replace_original"] = True
        return "respond", RESPOND_LANE, payload
    if isinstance(message, Page):
        return "page", message.lane, {"incident": message.incident, "event": message.event}
    if isinstance(message, Upload):
        payload = {
            "thread_ref": message.thread_ref,
            "filename": message.filename,
            "title": message.title,
            "content": message.content,
            "text": message.text,
        }
        if message.channel:
            payload["channel"] = message.channel
        if message.binary:
            payload["binary"] = True
        return "upload", message.lane, payload
    if isinstance(message, Ephemeral):
        payload = {"channel": message.channel, "user": message.user, "text": message.text}
        if message.blocks:
            payload["blocks"] = message.blocks
        if message.thread_ts:
            payload["thread_ts"] = message.thread_ts
        return "ephemeral", message.lane, payload
    payload = {"text": message.text}
    if message.blocks:
        payload["blocks"] = message.blocks
    if message.live is not None:
        payload["render"] = message.live.template
        payload["subject"] = message.live.subject
    if isinstance(message, Update):
        payload["ref"] = message.ref
        return "update", message.lane, payload
    for name in ("channel", "thread_ref", "ref"):
        if value := getattr(message, name):
            payload[name] = value
    if message.broadcast:
        payload["broadcast"] = True
    if message.notify is not None:
        payload["notify_url"] = message.notify.url
        payload["notify_text"] = message.notify.text
        if message.notify.archived:
            payload["notify_archived"] = message.notify.archived
        if message.notify.answers_command:
            payload["notify_answers"] = True
    return "post", message.lane, payload


def decode(kind: str, lane: str, payload: dict[str, Any]) -> Message:
    """The message a stored row carries; ValueError when it is not one (the item then fails alone)."""
    try:
        text = str(payload.get("text") or "")
        blocks = payload.get("blocks") or None
        if kind == "respond":
            response_type = payload.get("response_type", "ephemeral")
            if response_type not in ("ephemeral", "in_channel"):
                raise ValueError(f"response_type {response_type!r}")
            replace = bool(payload.get("replace_original"))
            return Respond(str(payload["url"]), text, blocks, response_type, replace)
        if kind == "page":
            return Page(lane, int(payload["incident"]), dict(payload["event"]))
        if kind == "upload":
            thread_ref, channel = payload.get("thread_ref"), payload.get("channel")
            if not thread_ref and not channel:
                raise ValueError("an upload needs a thread or a channel")
            return Upload(
                lane,
                str(thread_ref) if thread_ref else None,
                str(payload["filename"]),
                str(payload["title"]),
                str(payload["content"]),
                text,
                channel=str(channel) if channel else None,
                binary=bool(payload.get("binary")),
            )
        if kind == "ephemeral":
            thread_ts = payload.get("thread_ts")
            return Ephemeral(
                lane,
                str(payload["channel"]),
                str(payload["user"]),
                text,
                blocks,
                str(thread_ts) if thread_ts else None,
            )
        # "incident" is what rows written before typed messages call the subject.
        subject = payload.get("subject", payload.get("incident"))
        live = Live(str(payload["render"]), int(str(subject))) if payload.get("render") else None
        if kind == "update":
            return Update(lane, str(payload["ref"]), text, blocks, live)
        if kind == "post":
            url = payload.get("notify_url")
            return Post(
                lane,
                text,
                blocks,
                channel=payload.get("channel"),
                thread_ref=payload.get("thread_ref"),
                ref=payload.get("ref"),
                broadcast=bool(payload.get("broadcast")),
                live=live,
                notify=_notify(payload) if url else None,
            )
    except (KeyError, TypeError) as exc:
        raise ValueError(f"malformed {kind} item: {exc!r}") from exc
    raise ValueError(f"unknown outbox item kind {kind!r}")


def _notify(payload: dict[str, Any]) -> Notify:
    text, archived = str(payload.get("notify_text") or ""), payload.get("notify_archived")
    answers = bool(payload.get("notify_answers"))
    return Notify(str(payload["notify_url"]), text, archived, answers_command=answers)
