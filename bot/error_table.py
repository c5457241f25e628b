"""One table from outside errors (Slack, PostgreSQL, SQLite, HTTP) to opsbot's hierarchy, the way httpx
maps transport exceptions: code that calls out runs the call inside ``map_errors()``, and code that
explains an error asks ``translate``. Rows are tried in order, so a subclass comes before its base.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import httpx
import psycopg
from psycopg_pool import PoolTimeout
from slack_sdk.errors import SlackApiError, SlackClientError

from bot.errors import Conflict, OpsbotError, RateLimited, Refused, StoreUnavailable, Unreachable

# Slack error codes no retry will fix (https://api.slack.com/methods, each method's "Errors").
SLACK_PERMANENT = frozenset(
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
        "not_in_channel",
        "channel_not_found",
        "missing_scope",
        "not_allowed_token_type",
        "invalid_auth",
        "not_authed",
        "token_revoked",
        "token_expired",
        "account_inactive",
    }
)
SQLITE_UNAVAILABLE = ("locked", "unable to open", "disk")
# SQLSTATE classes that mean the server cannot serve us now: connection exception, insufficient
# resources (too many connections, disk full), operator intervention (shutdown, terminated backend).
PG_OUTAGE_CLASSES = ("08", "53", "57")


def _slack_api(exc: SlackApiError) -> OpsbotError:
    response = exc.response
    data = response.data if isinstance(response.data, dict) else {}
    code = str(data.get("error") or f"HTTP {response.status_code}")
    if response.status_code == 429:
        after = response.headers.get("retry-after") or response.headers.get("Retry-After") or 1
        return RateLimited("Slack", code, retry_after=float(after))
    if response.status_code >= 500 or code not in SLACK_PERMANENT:
        return Unreachable("Slack", code)
    return Refused("Slack", code)


def _http_status(exc: httpx.HTTPStatusError) -> OpsbotError:
    status = exc.response.status_code
    service = exc.request.url.host or "the service"
    if status == 429:
        after = float(exc.response.headers.get("retry-after", 1))
        return RateLimited(service, f"HTTP {status}", retry_after=after)
    if status >= 500:
        return Unreachable(service, f"HTTP {status}")
    return Refused(service, f"HTTP {status}")


def _http_connect(exc: httpx.ConnectError) -> OpsbotError:
    text = str(exc).lower()
    if any(word in text for word in ("name or service", "nodename", "resolve", "getaddrinfo")):
        return Unreachable(_host(exc), "host could not be resolved")
    return Unreachable(_host(exc), "connection refused or unreachable")


def _host(exc: httpx.RequestError) -> str:
    try:
        return exc.request.url.host or "the service"
    except RuntimeError:  # an error raised without its request (as in tests)
        return "the service"


def _postgres(exc: psycopg.Error) -> OpsbotError | None:
    """Errors of reaching the server (no SQLSTATE: the connection itself failed) are an outage; a data
    error (a value too large, say) is a bug to report, so it is left as it is."""
    state = exc.sqlstate
    if state is not None and state[:2] not in PG_OUTAGE_CLASSES:
        return None
    first = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    return StoreUnavailable(f"PostgreSQL: {exc.__class__.__name__}: {first}")


def _sqlite(exc: sqlite3.DatabaseError) -> OpsbotError | None:
    """SQLite's errors that mean the store cannot be used now, naming why when people can act on it."""
    text = str(exc)
    if "readonly" in text or "read-only" in text:
        return StoreUnavailable(text, cause="the SQLite file is read-only")
    if "malformed" in text or "not a database" in text:
        return StoreUnavailable(text, cause=f"the SQLite file is damaged ({text})")
    if "full" in text:
        return StoreUnavailable(text, cause="the disk holding the SQLite file is full")
    if isinstance(exc, sqlite3.OperationalError) and any(word in text for word in SQLITE_UNAVAILABLE):
        return StoreUnavailable(text)
    return None


def _sqlite_integrity(exc: sqlite3.IntegrityError) -> OpsbotError | None:
    return Conflict(str(exc)) if "UNIQUE" in str(exc) else None


# (outside error, what it becomes; None leaves it as it is: a bug, reported as unexpected)
TABLE: tuple[tuple[type[BaseException], Callable[[Any], OpsbotError | None]], ...] = (
    (psycopg.errors.UniqueViolation, lambda exc: Conflict(str(exc))),
    (PoolTimeout, lambda exc: StoreUnavailable("no PostgreSQL connection within the timeout")),
    (
        psycopg.errors.ReadOnlySqlTransaction,
        lambda exc: StoreUnavailable(str(exc), cause="PostgreSQL accepts only reads (a standby?)"),
    ),
    # Session limits (bot.store.postgres.SessionLimits): another session held what we needed, or
    # this one stalled; the work is retried like any other blip.
    (
        psycopg.errors.LockNotAvailable,
        lambda exc: StoreUnavailable("PostgreSQL: a row stayed locked past lock_timeout"),
    ),
    (
        psycopg.errors.IdleInTransactionSessionTimeout,
        lambda exc: StoreUnavailable("PostgreSQL: the transaction was idle past its timeout"),
    ),
    (
        psycopg.errors.QueryCanceled,
        lambda exc: StoreUnavailable("PostgreSQL: a query ran past statement_timeout, or was cancelled"),
    ),
    (psycopg.Error, _postgres),
    (sqlite3.IntegrityError, _sqlite_integrity),
    (sqlite3.DatabaseError, _sqlite),
    (SlackApiError, _slack_api),
    (SlackClientError, lambda exc: Unreachable("Slack", exc.__class__.__name__)),
    (httpx.TimeoutException, lambda exc: Unreachable(_host(exc), "timed out")),
    (httpx.ConnectError, _http_connect),
    (httpx.HTTPStatusError, _http_status),
    (httpx.HTTPError, lambda exc: Unreachable("the service", f"HTTP error ({exc.__class__.__name__})")),
    (TimeoutError, lambda exc: Unreachable("the service", "timed out")),
)


def translate(exc: BaseException) -> OpsbotError | None:
    """The opsbot error ``exc`` stands for, or None if the table has no row for it."""
    if isinstance(exc, OpsbotError):
        return exc
    for outside, becomes in TABLE:
        if isinstance(exc, outside):
            return becomes(exc)
    return None


@contextmanager
def map_errors(*only: type[BaseException]) -> Iterator[None]:
    """Re-raise outside errors from the block as opsbot's (the original as ``__cause__``); with ``only``,
    just those kinds (a store maps its driver's errors, not whatever its caller's block raised)."""
    try:
        yield
    except OpsbotError:
        raise
    except Exception as exc:
        mapped = translate(exc) if isinstance(exc, only or Exception) else None
        if mapped is None:
            raise
        raise mapped from exc
