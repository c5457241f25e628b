"""The one place that turns errors into what the user sees (and reports the unexpected ones)."""

from __future__ import annotations

import contextvars
import functools
import logging
import secrets
from collections.abc import Awaitable, Callable
from typing import Any, ParamSpec

from bot.errors import OpsbotError, StaleAction, StoreUnavailable

log = logging.getLogger("opsbot")
P = ParamSpec("P")

# What became of the request being handled, for its log line (bot.slack.requestlog). A list set per
# request, appended to here: the same list is seen even if Bolt runs the listener in a copied context.
OUTCOMES: contextvars.ContextVar[list[str] | None] = contextvars.ContextVar("opsbot_outcomes", default=None)


def _note(outcome: str) -> None:
    outcomes = OUTCOMES.get()
    if outcomes is not None:
        outcomes.append(outcome)


def error_reference() -> str:
    return secrets.token_hex(3)


def report_unexpected(exc: BaseException) -> str:
    """Log and send to Sentry an error nobody expected; returns the reference the user can quote."""
    ref = error_reference()
    try:  # Sentry first, with the reference; the log line below is then deduplicated by sentry-sdk
        import sentry_sdk

        with sentry_sdk.new_scope() as scope:
            scope.set_tag("opsbot_ref", ref)
            sentry_sdk.capture_exception(exc)
    except Exception:  # reporting must never make things worse
        log.debug("sentry capture failed", exc_info=True)
    log.error("unexpected error (ref %s)", ref, exc_info=exc)
    return ref


def explain(exc: BaseException) -> str:
    """The private message for ``exc``."""
    if isinstance(exc, StoreUnavailable):
        log.warning("store unavailable: %s", exc)
        _note("store unavailable")
        return f":warning: {exc.user_message()}"
    if isinstance(exc, StaleAction):
        _note("stale")
        return f":information_source: {exc.user_message()}"
    if isinstance(exc, OpsbotError):
        _note(f"refused ({exc.__class__.__name__})")
        return f":warning: {exc.user_message()}"
    ref = report_unexpected(exc)
    _note(f"error (ref {ref})")
    return (
        f":boom: Something went wrong (ref {ref}). Nothing was half-done; quote the ref if it happens again."
    )


def guarded(
    on_error: Callable[[str, dict[str, Any]], Awaitable[None]],
) -> Callable[[Callable[P, Awaitable[None]]], Callable[P, Awaitable[None]]]:
    """Wrap a listener so every failure becomes a private message through ``on_error(text, kwargs)``."""

    def wrap(listener: Callable[P, Awaitable[None]]) -> Callable[P, Awaitable[None]]:
        @functools.wraps(listener)
        async def run(*args: P.args, **kwargs: P.kwargs) -> None:
            try:
                await listener(*args, **kwargs)
            except Exception as exc:
                await on_error(explain(exc), dict(kwargs))

        return run

    return wrap
