"""One error hierarchy; ``bot.slack.app`` turns each into the message a user sees.

OpsbotError
├── UsageError          the command was malformed; carries the right form
├── NotFound            no such incident (or scenario)
├── InvalidTransition   a status move the machine does not allow
├── StaleAction         a button pressed on a card that has changed since
├── Forbidden           the user may not do this
├── StoreUnavailable    the state store cannot be reached
├── SchemaTooNew        the store was migrated by a newer opsbot than this one
└── UpstreamError       Slack or another service failed
"""

from __future__ import annotations


class OpsbotError(Exception):
    """Base of every error opsbot expects and explains to the user."""

    def user_message(self) -> str:
        return str(self)


class UsageError(OpsbotError):
    """Bad input: says what was wrong and shows the right form."""

    def __init__(self, problem: str, usage: str | None = None) -> None:
        super().__init__(problem)
        self.problem = problem
        self.usage = usage

    def user_message(self) -> str:
        if self.usage:
            return f"{self.problem}\nUsage: `{self.usage}`"
        return self.problem


class NotFound(UsageError):
    """The incident or scenario named does not exist."""


class InvalidTransition(UsageError):
    """The status machine does not allow this move."""


class StaleAction(OpsbotError):
    """The card changed between rendering and the button press (a double click, say)."""


class Forbidden(OpsbotError):
    """The user may not do this."""


class StoreUnavailable(OpsbotError):
    """The state store could not be reached, or cannot be written (``cause`` says why, for people)."""

    def __init__(self, detail: str, *, cause: str | None = None) -> None:
        super().__init__(detail)
        self.cause = cause

    def user_message(self) -> str:
        if self.cause:
            return (
                f"opsbot cannot write to its state store: {self.cause}. Nothing was recorded. "
                "Tell whoever runs opsbot; meanwhile post in the incident channel by hand."
            )
        return (
            "opsbot cannot reach its state store right now, so nothing was recorded. "
            "Try again in a minute; if it persists, post in the incident channel by hand."
        )


class SchemaTooNew(OpsbotError):
    """The store holds migrations this code does not know: a newer opsbot migrated it."""

    def __init__(self, unknown: list[int], latest: int) -> None:
        super().__init__(
            f"the state store's schema has migration(s) {', '.join(map(str, unknown))}, newer than this "
            f"opsbot knows (up to {latest}) and not declared compatible with it; run the newer opsbot"
        )
        self.unknown = unknown


class UpstreamError(OpsbotError):
    """Slack or another service answered with an error."""
