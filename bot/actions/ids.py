"""The Confirm button's action id and value: the one owner of that string protocol."""

from __future__ import annotations

import re
import secrets

from bot.errors import UsageError

ACTION_CONFIRM = "ops_action_confirm"
_TOKEN = re.compile(r"^[A-Za-z0-9_-]{20,64}$")


def new_token() -> str:
    """A single-use confirmation token; unguessable, so a forged button value confirms nothing."""
    return secrets.token_urlsafe(24)


def parse_confirm(value: str) -> str:
    """The token carried by a Confirm button."""
    if not _TOKEN.match(value):
        raise UsageError("That Confirm button is not one of opsbot's; run the command again.")
    return value
