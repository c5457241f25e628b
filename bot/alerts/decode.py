"""Decoding webhook bodies: JSON from raw bytes, and one readable reason from a validation error."""

from __future__ import annotations

import json
from typing import Any

from pydantic import ValidationError

from bot.alerts.model import BadPayload

MAX_BODY_BYTES = 1_000_000


def load_json(body: bytes) -> Any:
    """The body as JSON; anything else is a BadPayload (never a 500)."""
    if len(body) > MAX_BODY_BYTES:
        raise BadPayload("the body is larger than 1 MB")
    try:
        return json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise BadPayload("the body is not JSON") from None


def first_error(exc: ValidationError) -> str:
    """``alerts.0.labels: Input should be a valid dictionary``: where, and what was wrong."""
    err = exc.errors()[0]
    where = ".".join(str(p) for p in err["loc"]) or "body"
    return f"{where}: {err['msg']}"
