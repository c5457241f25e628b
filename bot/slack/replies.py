"""The one place that turns errors into what the user sees (and reports the unexpected ones)."""

from __future__ import annotations

import contextvars
import functools
import logging
from collections.abc import Awaitable, Callable
from typing import Any, ParamSpec

from bot.error_table import translate
from bot.errors import OpsbotError, StaleAction, StoreUnavailable, UpstreamError
from bot.logs import report_unexpected

log = logging.getLogger("opsbot")
P = ParamSpec("P")

# What became of the request being handled, for its log line (bot.slack.requestlog). A list set per
# request, appended to here: the same list is seen even if Bolt runs the listener in a copied context.
OUTCOMES: contextvars.ContextVar[list[str] | None] = contextvars.ContextVar("opsbot_outcomes", default=None)


def _note(outcome: str) -> None:
    outcomes = OUTCOMES.get()
    if outcomes is not None:
        outcomes.append(outcome)


def explain(exc: BaseException) -> str:
    """The private message for ``exc`` (an outside error is first looked up in the error table)."""
    exc = translate(exc) or exc
    if isinstance(exc, StoreUnavailable):
        log.warning("store unavailable: %s", exc)
        _note("store unavailable")
        return f":warning: {exc.user_message()}"
    if isinstance(exc, UpstreamError):
        log.warning("upstream error: %s", exc)
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
        async def guarded_listener(*args: P.args, **kwargs: P.kwargs) -> None:
            try:
                await listener(*args, **kwargs)
            except Exception as exc:
                await on_error(explain(exc), dict(kwargs))

        return guarded_listener

    return wrap
