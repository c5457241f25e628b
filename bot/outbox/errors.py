"""What a failed delivery means, decided once, from a table: retry it, fail it, or stop delivering."""

from __future__ import annotations


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


# Errors that no retry will fix: the item is marked failed and reported.
PERMANENT = frozenset(
    {
        "invalid_blocks",
        "invalid_blocks_format",
        "msg_too_long",
        "no_text",
        "too_many_attachments",
        "cant_update_message",
        "message_not_found",
        "edit_window_closed",
        "invalid_arguments",
        "thread_not_found",
        "is_archived",
        "channel_is_archived",
        "invalid_ts_latest",
        "expired_url",
        "used_url",
    }
)
# The workspace took the bot's access away: every call will fail the same way.
FATAL = frozenset({"token_revoked", "invalid_auth", "account_inactive", "not_authed", "token_expired"})
ARCHIVED = frozenset({"is_archived", "channel_is_archived"})
NOT_IN_CHANNEL = frozenset({"not_in_channel", "channel_not_found"})
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
