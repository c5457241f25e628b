"""Pages of ``conversations.history`` and ``conversations.replies`` as Slack serves them.

history: newest first; replies: oldest first. Both honour latest, oldest, inclusive, limit and
cursor, and say ``has_more`` with ``response_metadata.next_cursor`` when a page is cut short.
Pure (the caller passes the messages).
"""

from __future__ import annotations

import base64
import binascii
import time
from collections.abc import Iterable
from typing import Any

DEFAULT_LIMIT = 100
MAX_LIMIT = 999


class BadCursor(ValueError):
    """A cursor this stand-in did not hand out."""


def encode_cursor(ts: str) -> str:
    # Slack's cursors are opaque base64 of "next_ts:<ts without the dot>"-like strings.
    return base64.b64encode(f"next_ts:{ts}".encode()).decode()


def decode_cursor(cursor: str) -> float:
    try:
        text = base64.b64decode(cursor.encode(), validate=True).decode()
    except (binascii.Error, UnicodeDecodeError) as exc:
        raise BadCursor(cursor) from exc
    prefix, _, ts = text.partition(":")
    try:
        if prefix != "next_ts":
            raise ValueError(prefix)
        return float(ts)
    except ValueError as exc:
        raise BadCursor(cursor) from exc


def _bound(params: dict[str, Any], name: str, default: float) -> float:
    raw = params.get(name)
    return float(raw) if raw not in (None, "") else default


def _flag(params: dict[str, Any], name: str) -> bool:
    return str(params.get(name, "")).lower() in ("1", "true")


def page(messages: Iterable[dict[str, Any]], params: dict[str, Any], *, newest_first: bool) -> dict[str, Any]:
    """One page of ``messages`` for the given parameters. Raises BadCursor for a foreign cursor."""
    oldest = _bound(params, "oldest", 0.0)
    latest = _bound(params, "latest", time.time() + 1)
    inclusive = _flag(params, "inclusive")
    limit = min(MAX_LIMIT, int(params.get("limit") or DEFAULT_LIMIT)) or DEFAULT_LIMIT

    def within(ts: float) -> bool:
        if inclusive:
            return oldest <= ts <= latest
        return oldest < ts < latest

    found = sorted((m for m in messages if within(float(m["ts"]))), key=lambda m: float(m["ts"]))
    if newest_first:
        found.reverse()
    cursor = params.get("cursor")
    if cursor:
        start = decode_cursor(str(cursor))
        found = [m for m in found if (float(m["ts"]) <= start if newest_first else float(m["ts"]) >= start)]
    shown, rest = found[:limit], found[limit:]
    with_meta = _flag(params, "include_all_metadata")
    result: dict[str, Any] = {
        "ok": True,
        "messages": [m if with_meta else {k: v for k, v in m.items() if k != "metadata"} for m in shown],
        "has_more": bool(rest),
    }
    if rest:
        result["response_metadata"] = {"next_cursor": encode_cursor(str(rest[0]["ts"]))}
    elif cursor or newest_first:
        result["response_metadata"] = {"next_cursor": ""}
    return result
