"""Checks that a webhook came from its source: HMAC signatures, bearer tokens, timestamps (constant time)."""

from __future__ import annotations

import hashlib
import hmac

from bot.alerts.model import Unauthorized

MAX_SKEW_SECONDS = 300.0


def check_hmac(*, secret: str, message: bytes, signature: str | None) -> None:
    """``signature`` must be the hex HMAC-SHA256 of ``message`` (the raw bytes as received)."""
    if not signature:
        raise Unauthorized("missing signature")
    expected = hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()
    if not hmac.compare_digest(expected, signature.strip().lower()):
        raise Unauthorized("signature does not match")


def check_bearer(*, token: str, authorization: str | None) -> None:
    """``Authorization: Bearer <token>``, compared in constant time."""
    scheme, _, given = (authorization or "").partition(" ")
    if scheme.lower() != "bearer" or not given:
        raise Unauthorized("missing bearer token")
    if not hmac.compare_digest(given.strip().encode(), token.encode()):
        raise Unauthorized("bearer token does not match")


def check_fresh(*, timestamp: str | None, now: float, max_skew: float = MAX_SKEW_SECONDS) -> None:
    """A signed timestamp far from now is a replay (or a clock badly off): refused."""
    try:
        at = float(timestamp or "")
    except ValueError:
        raise Unauthorized("missing or malformed timestamp") from None
    if abs(now - at) > max_skew:
        raise Unauthorized("stale timestamp")
