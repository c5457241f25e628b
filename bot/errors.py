"""One error hierarchy; ``bot.slack.app`` turns each into the message a user sees.

OpsbotError
├── UsageError          the command was malformed; carries the right form
│   ├── NotFound            no such incident (or scenario)
│   └── InvalidTransition   a status move the machine does not allow
├── StaleAction         a button pressed on a card that has changed since
├── Forbidden           the user (or a webhook's sender) may not do this
├── Conflict            a unique key was already taken (a redelivery, a double click)
├── StoreUnavailable    the state store cannot be reached
├── SchemaTooNew        the store was migrated by a newer opsbot than this one
└── UpstreamError       Slack or another service failed
    ├── RateLimited         it asked us to slow down (retry after ``retry_after`` seconds)
    ├── Unreachable         timed out, refused, or answered 5xx: retrying may work
    └── Refused             it refused the request itself: no retry will fix it

Outside errors (Slack, psycopg, sqlite3, httpx) become these in one table: ``bot.error_table``.
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
        if self.usage and "`" in self.usage:  # it marks its own code spans: one more pair would break them
            return f"{self.problem}\nUsage: {self.usage}"
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


class Conflict(OpsbotError):
    """A unique key was already taken (raised by the write, or by the next statement of its transaction)."""

    def user_message(self) -> str:
        return "That was done already (the same request arrived twice); nothing changed."


class UpstreamError(OpsbotError):
    """Slack or another service failed; ``service`` is who and ``code`` what it said, when known."""

    def __init__(self, detail: str, *, service: str = "", code: str = "") -> None:
        super().__init__(detail)
        self.service = service
        self.code = code or detail


class _Answered(UpstreamError):
    """An UpstreamError built from the error table: a service and what it said."""

    def __init__(self, service: str, code: str) -> None:
        super().__init__(f"{service}: {code}", service=service, code=code)

    def user_message(self) -> str:
        return f"{self.service} answered `{self.code}`, so this did not go through. Try again in a minute."


class RateLimited(_Answered):
    """The service asked us to slow down."""

    def __init__(self, service: str, code: str = "ratelimited", *, retry_after: float = 1.0) -> None:
        super().__init__(service, code)
        self.retry_after = retry_after

    def user_message(self) -> str:
        return f"{self.service} is rate-limiting opsbot; try again in {self.retry_after:g} s."


class Unreachable(_Answered):
    """Timed out, refused, unresolvable, or a 5xx: the request may work if tried again."""


class Refused(_Answered):
    """The service refused the request itself (bad arguments, archived channel, revoked token)."""

    def user_message(self) -> str:
        return f"{self.service} refused this (`{self.code}`)."
