"""What a failed delivery means, decided once, from a table: retry it, fail it, or stop delivering."""

from __future__ import annotations

from bot.error_table import SLACK_PERMANENT


class Retry(Exception):
    """Delivery may succeed later: after ``after`` seconds (Retry-After), or after a backoff.

    ``uncertain`` when Slack may have acted on the call anyway (a timeout, a 5xx): the next attempt looks
    for the earlier one first, and waits a little so a late-processed post can show up."""

    def __init__(self, reason: str, *, after: float | None = None, uncertain: bool = False) -> None:
        super().__init__(reason)
        self.after = after
        self.uncertain = uncertain


class Failed(Exception):
    """Delivery can never succeed; the item is marked failed."""


class Stop(Exception):
    """No delivery can succeed until someone acts (the token is revoked, the app uninstalled): stop
    delivering, keep every item."""


# The workspace took the bot's access away: every call will fail the same way.
FATAL = frozenset({"token_revoked", "invalid_auth", "account_inactive", "not_authed", "token_expired"})
NOT_IN_CHANNEL = frozenset({"not_in_channel", "channel_not_found"})
ARCHIVED = frozenset({"is_archived", "channel_is_archived"})
# Errors that no retry will fix: the item is marked failed and reported. The one table's permanent codes,
# less those delivery answers otherwise: a revoked token stops delivery (FATAL), a channel the bot is not
# in is joined and retried, and a missing scope or wrong token type is retried (a reinstall fixes them).
PERMANENT = SLACK_PERMANENT - FATAL - NOT_IN_CHANNEL - {"missing_scope", "not_allowed_token_type"}
# Why a look for an earlier attempt can never work (so the item is posted rather than stuck).
CANNOT_LOOK = frozenset(
    {"missing_scope", "not_allowed_token_type", "not_in_channel", "channel_not_found", "thread_not_found"}
)


def from_slack(error: str, *, status: int, retry_after: float | None = None) -> Exception:
    """The delivery error for a Slack Web API answer (``error`` code, HTTP ``status``)."""
    if status == 429:
        return Retry(error or "ratelimited", after=retry_after if retry_after is not None else 1.0)
    if error in FATAL:
        return Stop(error)
    if status >= 500:
        return Retry(error, uncertain=True)
    if error in PERMANENT:
        return Failed(error)
    return Retry(error)
