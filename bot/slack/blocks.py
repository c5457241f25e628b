"""Block Kit building blocks shared by every renderer: messages, escaping, user tokens, chunking.

Pure: same input, same dict out.
"""

from __future__ import annotations

import re
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from slack_sdk.models.blocks import (
    ActionsBlock,
    Block,
    ButtonElement,
    CheckboxesElement,
    ContextBlock,
    HeaderBlock,
    MarkdownTextObject,
    Option,
    PlainTextObject,
    SectionBlock,
    StaticSelectElement,
    TextObject,
)

# Slack's own tokens we keep: user, channel and user-group mentions, dates and links.
# Broadcasts (<!channel>, <!here>, <!everyone>) typed by a user are escaped, never sent.
_SLACK_TOKEN = re.compile(
    r"<(?:@[UW][A-Z0-9]+|#C[A-Z0-9]+|!subteam\^[A-Z0-9]+|https?://[^<>\s]+)(?:\|[^<>]*)?>"
)


# Slack's Block Kit and message limits (api.slack.com/reference/block-kit, chat.postMessage), all held
# here, on the rendered text (after escaping): a message Slack would refuse is never sent.
MAX_BLOCKS = 50
MAX_MESSAGE_TEXT = 40_000
SECTION_TEXT = 3_000
FIELD_TEXT = 2_000
MAX_FIELDS = 10
HEADER_TEXT = 150
CONTEXT_TEXT = 3_000
MAX_CONTEXT_ELEMENTS = 10
MAX_ACTIONS_ELEMENTS = 25
BUTTON_TEXT = 75
BUTTON_VALUE = 2_000
BUTTON_URL = 3_000
OPTION_TEXT = 75
OPTION_VALUE = 150
OPTION_DESCRIPTION = 75
MAX_SELECT_OPTIONS = 100
MAX_CHECKBOX_OPTIONS = 10
PLACEHOLDER_TEXT = 150
MAX_ID = 255  # block_id and action_id
ELLIPSIS = "…"
_WORD_BACKOFF = 30  # a cut moves back to a space at most this far, so no word is cut in half


@dataclass(frozen=True)
class Message:
    """What the bot says: plain text (for notifications and screen readers) and blocks, in Slack's limits."""

    text: str
    blocks: list[dict[str, Any]] = field(default_factory=list)

    def __post_init__(self) -> None:
        object.__setattr__(self, "text", clip(self.text, MAX_MESSAGE_TEXT))
        if len(self.blocks) > MAX_BLOCKS:
            left = len(self.blocks) - (MAX_BLOCKS - 1)
            note = ContextBlock(elements=[MarkdownTextObject(text=f"…and {left} more not shown")])
            object.__setattr__(self, "blocks", [*self.blocks[: MAX_BLOCKS - 1], note.to_dict()])

    def as_kwargs(self) -> dict[str, Any]:
        out: dict[str, Any] = {"text": self.text}
        if self.blocks:
            out["blocks"] = self.blocks
        return out


def escape(text: str) -> str:
    """Escape Slack control characters in user text, keeping mentions and links."""
    out: list[str] = []
    pos = 0
    for match in _SLACK_TOKEN.finditer(text):
        out.append(_escape_plain(text[pos : match.start()]))
        out.append(match.group(0))
        pos = match.end()
    out.append(_escape_plain(text[pos:]))
    return "".join(out)


def _escape_plain(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def user(user_id: str) -> str:
    return f"<@{user_id}>" if user_id and user_id[0] in "UW" else escape(user_id or "someone")


def timestamp(at: float) -> str:
    """A Slack date token: each reader sees their own time zone; the fallback is UTC."""
    fallback = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(at))
    return f"<!date^{int(at)}^{{date_short_pretty}} {{time}}|{fallback}>"


def _utc(at: float) -> str:
    return time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(at))


def clip(text: str, limit: int) -> str:
    """``text`` in at most ``limit`` characters, ending in an ellipsis when cut.

    Never cuts an entity (``&amp;``) or a Slack token (``<@U1>``, ``<https://…|…>``) in half, and
    prefers to cut between words.
    """
    if len(text) <= limit:
        return text
    cut = text[: limit - len(ELLIPSIS)]
    amp = cut.rfind("&")
    if amp != -1 and ";" not in cut[amp:] and len(cut) - amp < len("&amp;"):
        cut = cut[:amp]
    opened = cut.rfind("<")
    if opened != -1 and ">" not in cut[opened:]:
        cut = cut[:opened]
    space = max(cut.rfind(" "), cut.rfind("\n"))
    if space != -1 and len(cut) - space <= _WORD_BACKOFF:
        cut = cut[:space]
    return cut.rstrip() + ELLIPSIS


def to_dicts(blocks: Sequence[Block]) -> list[dict[str, Any]]:
    """Blocks as Slack gets them, every text and list cut to Slack's limits first."""
    return [_fit_block(b).to_dict() for b in blocks]


def _fit_text(obj: TextObject | None, limit: int) -> None:
    if obj is not None and isinstance(obj.text, str):
        obj.text = clip(obj.text, limit)


def _fit_block(block: Block) -> Block:
    if block.block_id:
        block.block_id = block.block_id[:MAX_ID]
    if isinstance(block, SectionBlock):
        _fit_text(block.text, SECTION_TEXT)
        if block.fields:
            block.fields = block.fields[:MAX_FIELDS]
            for f in block.fields:
                _fit_text(f, FIELD_TEXT)
        if block.accessory is not None:
            _fit_element(block.accessory)
    elif isinstance(block, HeaderBlock):
        _fit_text(block.text, HEADER_TEXT)
    elif isinstance(block, ContextBlock):
        block.elements = block.elements[:MAX_CONTEXT_ELEMENTS]
        for e in block.elements:
            if isinstance(e, TextObject):
                _fit_text(e, CONTEXT_TEXT)
    elif isinstance(block, ActionsBlock):
        block.elements = block.elements[:MAX_ACTIONS_ELEMENTS]
        for e in block.elements:
            _fit_element(e)
    return block


def _fit_element(element: Any) -> None:
    if getattr(element, "action_id", None):
        element.action_id = element.action_id[:MAX_ID]
    if isinstance(element, ButtonElement):
        _fit_text(element.text, BUTTON_TEXT)
        if element.value is not None:
            element.value = element.value[:BUTTON_VALUE]  # ours, parsed back: never needs a cut in practice
        if element.url is not None and len(element.url) > BUTTON_URL:
            element.url = None
    elif isinstance(element, CheckboxesElement):
        # Options are built by ``option()``, which holds their own limits; here only how many there are.
        element.options = (element.options or [])[:MAX_CHECKBOX_OPTIONS]
        if element.initial_options:
            kept = {o.value for o in element.options if isinstance(o, Option)}
            element.initial_options = [
                o for o in element.initial_options if isinstance(o, Option) and o.value in kept
            ]
    elif isinstance(element, StaticSelectElement):
        if isinstance(element.placeholder, TextObject):
            _fit_text(element.placeholder, PLACEHOLDER_TEXT)
        if element.options:
            element.options = element.options[:MAX_SELECT_OPTIONS]


def option(*, value: str, text: str, markdown: bool = False) -> Option:
    """A checkbox or select option, its label (already escaped for mrkdwn) and value within Slack's limits."""
    label = clip(text, OPTION_TEXT)
    shown: TextObject = MarkdownTextObject(text=label) if markdown else PlainTextObject(text=label)
    return Option(value=value[:OPTION_VALUE], text=shown)


def chunk_lines(lines: Sequence[str], size: int = 2900) -> list[str]:
    """Lines packed into texts of at most ``size`` characters (a section's text holds 3,000)."""
    chunks: list[str] = []
    current = ""
    for line in lines:
        line = clip(line, size)
        if current and len(current) + len(line) + 1 > size:
            chunks.append(current)
            current = ""
        current = f"{current}\n{line}" if current else line
    if current:
        chunks.append(current)
    return chunks
