"""Block Kit building blocks shared by every renderer: messages, escaping, user tokens, chunking.

Pure: same input, same dict out.
"""

from __future__ import annotations

import re
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from slack_sdk.models.blocks import Block

# Slack's own tokens we keep: user, channel and user-group mentions, dates and links.
# Broadcasts (<!channel>, <!here>, <!everyone>) typed by a user are escaped, never sent.
_SLACK_TOKEN = re.compile(
    r"<(?:@[UW][A-Z0-9]+|#C[A-Z0-9]+|!subteam\^[A-Z0-9]+|https?://[^<>\s]+)(?:\|[^<>]*)?>"
)


@dataclass(frozen=True)
class Message:
    """What the bot says: plain text (for notifications and screen readers) and blocks."""

    text: str
    blocks: list[dict[str, Any]] = field(default_factory=list)

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


def to_dicts(blocks: Sequence[Block]) -> list[dict[str, Any]]:
    """Blocks as Slack gets them; ``to_dict`` checks Slack's limits on the way."""
    return [b.to_dict() for b in blocks]


def chunk_lines(lines: Sequence[str], size: int = 2900) -> list[str]:
    """Lines packed into texts of at most ``size`` characters (a section's text holds 3,000)."""
    chunks: list[str] = []
    current = ""
    for line in lines:
        line = line[:size]
        if current and len(current) + len(line) + 1 > size:
            chunks.append(current)
            current = ""
        current = f"{current}\n{line}" if current else line
    if current:
        chunks.append(current)
    return chunks
