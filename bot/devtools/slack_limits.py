"""What real Slack refuses in a message, for the stand-in: blocks over Block Kit's limits, text over 40,000.

Written from Slack's reference (not from ``bot.slack.blocks``), so a wrong limit there shows up here.
"""

from __future__ import annotations

import json
from typing import Any

_TEXT = {"section": 3000, "header": 150}
_ELEMENTS = {"context": 10, "actions": 25}


def refusal(params: dict[str, Any]) -> str | None:
    """Slack's error for this chat.postMessage / chat.update / response_url body, or None when it is fine."""
    text = params.get("text")
    if isinstance(text, str) and len(text) > 40_000:
        return "msg_too_long"
    raw = params.get("blocks")
    if raw in (None, "", []):
        return None
    try:
        blocks = json.loads(raw) if isinstance(raw, str) else raw
    except ValueError:
        return "invalid_blocks_format"
    if not isinstance(blocks, list) or len(blocks) > 50:
        return "invalid_blocks"
    ok = all(isinstance(b, dict) and _block_ok(b) for b in blocks)
    return None if ok else "invalid_blocks"


def _len(obj: Any) -> int:
    if isinstance(obj, dict):
        return len(str(obj.get("text", "")))
    return len(str(obj or ""))


def _block_ok(block: dict[str, Any]) -> bool:
    kind = block.get("type")
    if len(str(block.get("block_id", ""))) > 255:
        return False
    if kind in _TEXT and block.get("text") is not None and _len(block["text"]) > _TEXT[str(kind)]:
        return False
    fields = block.get("fields") or []
    if len(fields) > 10 or any(_len(f) > 2000 for f in fields):
        return False
    elements = block.get("elements") or []
    if kind in _ELEMENTS and len(elements) > _ELEMENTS[str(kind)]:
        return False
    if kind == "context" and any(_len(e) > 3000 for e in elements if e.get("type") != "image"):
        return False
    accessory = block.get("accessory")
    return all(_element_ok(e) for e in [*elements, *([accessory] if accessory else [])])


def _element_ok(element: dict[str, Any]) -> bool:
    kind = element.get("type")
    if len(str(element.get("action_id", ""))) > 255:
        return False
    if kind == "button":
        return (
            _len(element.get("text")) <= 75
            and len(str(element.get("value", ""))) <= 2000
            and len(str(element.get("url", ""))) <= 3000
        )
    options = element.get("options") or []
    if kind == "checkboxes" and len(options) > 10:
        return False
    if kind == "static_select" and (len(options) > 100 or _len(element.get("placeholder")) > 150):
        return False
    chosen = element.get("initial_options") or []
    if any(o not in options for o in chosen):
        return False  # Slack wants each initial option to be one of the options, exactly
    return all(_len(o.get("text")) <= 75 and len(str(o.get("value", ""))) <= 150 for o in options)
