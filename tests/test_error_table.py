"""The one table from outside errors to opsbot's, and what a user is then told."""

from __future__ import annotations

import sqlite3

import httpx
import pytest
from slack_sdk.errors import SlackApiError, SlackClientError
from slack_sdk.web.slack_response import SlackResponse

from bot.error_table import map_errors, translate
from bot.errors import Conflict, RateLimited, Refused, StoreUnavailable, Unreachable
from bot.slack.replies import explain


def slack_error(status: int, code: str, **headers: str) -> SlackApiError:
    response = SlackResponse(
        client=None,
        http_verb="POST",
        api_url="https://slack.com/api/chat.postMessage",
        req_args={},
        data={"ok": False, "error": code},
        headers=headers,
        status_code=status,
    )
    return SlackApiError(f"The request to the Slack API failed: {code}", response)


def http_status(status: int) -> httpx.HTTPStatusError:
    request = httpx.Request("GET", "https://api.stripe.test/v1/events")
    response = httpx.Response(status, request=request, headers={"retry-after": "3"})
    return httpx.HTTPStatusError("bad", request=request, response=response)


@pytest.mark.parametrize(
    ("outside", "kind", "code"),
    [
        (slack_error(429, "ratelimited", **{"retry-after": "7"}), RateLimited, "ratelimited"),
        (slack_error(500, "fatal_error"), Unreachable, "fatal_error"),
        (slack_error(200, "channel_not_found"), Refused, "channel_not_found"),
        (slack_error(200, "token_revoked"), Refused, "token_revoked"),
        (slack_error(200, "some_new_error"), Unreachable, "some_new_error"),  # unknown: worth a retry
        (SlackClientError("connection reset"), Unreachable, "SlackClientError"),
        (httpx.ReadTimeout("read timed out"), Unreachable, "timed out"),
        (
            httpx.ConnectError("[Errno 111] Connection refused"),
            Unreachable,
            "connection refused or unreachable",
        ),
        (
            httpx.ConnectError("[Errno -2] Name or service not known"),
            Unreachable,
            "host could not be resolved",
        ),
        (http_status(503), Unreachable, "HTTP 503"),
        (http_status(404), Refused, "HTTP 404"),
        (http_status(429), RateLimited, "HTTP 429"),
    ],
)
def test_upstream_errors(outside: BaseException, kind: type, code: str) -> None:
    mapped = translate(outside)
    assert type(mapped) is kind
    assert mapped.code == code  # type: ignore[union-attr]


def test_rate_limits_carry_their_wait() -> None:
    mapped = translate(slack_error(429, "ratelimited", **{"retry-after": "7"}))
    assert isinstance(mapped, RateLimited) and mapped.retry_after == 7.0


def test_store_errors() -> None:
    assert isinstance(translate(sqlite3.OperationalError("database is locked")), StoreUnavailable)
    assert translate(sqlite3.OperationalError("no such table: nope")) is None  # a bug, not an outage
    assert isinstance(translate(sqlite3.IntegrityError("UNIQUE constraint failed: deliveries.key")), Conflict)
    assert translate(sqlite3.IntegrityError("FOREIGN KEY constraint failed")) is None
    assert translate(RuntimeError("bug")) is None


def test_map_errors_keeps_the_original_as_the_cause_and_maps_only_what_it_is_told() -> None:
    original = sqlite3.OperationalError("database is locked")
    with pytest.raises(StoreUnavailable) as caught, map_errors(sqlite3.Error):
        raise original
    assert caught.value.__cause__ is original
    with pytest.raises(httpx.ReadTimeout), map_errors(sqlite3.Error):
        raise httpx.ReadTimeout("not the store's to map")


def test_what_a_user_is_told() -> None:
    assert explain(slack_error(200, "is_archived")) == ":warning: Slack refused this (`is_archived`)."
    assert "rate-limiting opsbot; try again in 7 s" in explain(
        slack_error(429, "ratelimited", **{"retry-after": "7"})
    )
    said = explain(Conflict("UNIQUE constraint failed: deliveries.key"))
    assert "UNIQUE" not in said and "nothing changed" in said
    assert explain(RuntimeError("bug")).startswith(":boom: Something went wrong (ref ")


def test_a_plain_upstream_error_is_shown_as_written() -> None:
    from bot.errors import UpstreamError

    assert explain(UpstreamError("Slack did not say who U1 is (timed out)")) == (
        ":warning: Slack did not say who U1 is (timed out)"
    )
