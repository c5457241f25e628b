"""Status pages, the shop, Sentry and GitHub through httpx.MockTransport with the reference payloads."""

from __future__ import annotations

import httpx
import pytest

from bot.probes import State, github, sentry, statuspage
from bot.probes import http as app
from bot.settings import Thresholds
from tests.fakes.services import (
    FakeWeb,
    reference,
    sentry_issue,
    slack_current,
    statuspage_summary,
    stripe_current,
)


@pytest.fixture
def fake() -> FakeWeb:
    return FakeWeb()


async def test_statuspage_operational_from_reference_payload(fake: FakeWeb) -> None:
    async with fake.client() as http:
        result = await statuspage.statuspage(http, "Supabase", "https://supabasestatus.test")
    assert result.state is State.OK and result.summary == "All Systems Operational"
    assert result.figure == "none" and result.threshold == "indicator none"
    assert str(fake.requests[0].url) == "https://supabasestatus.test/api/v2/summary.json"


@pytest.mark.parametrize(
    ("indicator", "state"),
    [("minor", State.WARN), ("major", State.FAIL), ("critical", State.FAIL), ("maintenance", State.WARN)],
)
async def test_statuspage_indicators(fake: FakeWeb, indicator: str, state: State) -> None:
    fake.set(
        "githubstatus.test",
        "/api/v2/summary.json",
        statuspage_summary(indicator, {"Actions": "major_outage", "API": "operational"}),
    )
    async with fake.client() as http:
        result = await statuspage.statuspage(http, "GitHub", "https://githubstatus.test")
    assert result.state is state
    assert result.details == ("Actions: major outage",)


@pytest.mark.parametrize(
    ("status", "body", "content_type", "reason"),
    [
        (404, "<html>nope</html>", "text/html", "HTTP 404"),
        (200, "<html>We moved</html>", "text/html", "something other than JSON"),
        (200, {"page": {}}, "application/json", "no status.indicator"),
        (200, {"status": {"indicator": "purple"}}, "application/json", "unknown indicator"),
        (503, {"status": {"indicator": "none"}}, "application/json", "HTTP 503"),
    ],
)
async def test_statuspage_never_guesses_operational(
    fake: FakeWeb, status: int, body: object, content_type: str, reason: str
) -> None:
    fake.set("sentrystatus.test", "/api/v2/summary.json", body, status=status, content_type=content_type)
    async with fake.client() as http:
        result = await statuspage.statuspage(http, "Sentry", "https://sentrystatus.test")
    assert result.state is State.UNKNOWN and reason in result.summary


async def test_reference_status_json_shape_is_what_statuspages_serve() -> None:
    assert reference("statuspage", "status_none.json")["status"]["indicator"] == "none"


@pytest.mark.parametrize(
    ("overall", "state"), [("up", State.OK), ("degraded", State.WARN), ("down", State.FAIL)]
)
async def test_stripe_status_own_format(fake: FakeWeb, overall: str, state: State) -> None:
    fake.set("stripestatus.test", "/current", stripe_current(overall, webhooks=overall))
    async with fake.client() as http:
        result = await statuspage.stripe_status(http, "Stripe", "https://stripestatus.test")
    assert result.state is state
    if overall != "up":
        assert result.details == (f"webhooks: {overall}",)


async def test_stripe_statuspage_path_is_not_trusted(fake: FakeWeb) -> None:
    """The runbook curls status.stripe.com/api/v2/status.json; Stripe serves no Statuspage there."""
    fake.set("stripestatus.test", "/current", "<html>Stripe Status</html>", content_type="text/html")
    async with fake.client() as http:
        result = await statuspage.stripe_status(http, "Stripe", "https://stripestatus.test")
        as_statuspage = await statuspage.statuspage(http, "Stripe", "https://stripestatus.test")
    assert result.state is State.UNKNOWN and as_statuspage.state is State.UNKNOWN


@pytest.mark.parametrize(
    ("status", "state"), [("ok", State.OK), ("active", State.WARN), ("broken", State.FAIL)]
)
async def test_slack_status(fake: FakeWeb, status: str, state: State) -> None:
    incidents = [
        {
            "id": 1,
            "title": "Messages delayed",
            "type": "incident",
            "status": "active",
            "url": "https://slack-status.com/1",
            "services": ["Messaging"],
            "notes": [],
        }
    ]
    fake.set(
        "slackstatus.test",
        "/api/v2.0.0/current",
        slack_current(status, incidents if status != "ok" else None),
    )
    async with fake.client() as http:
        result = await statuspage.slack_status(http, "Slack", "https://slackstatus.test")
    assert result.state is state
    if status != "ok":
        assert result.details == ("Messages delayed (Messaging)",)


@pytest.mark.parametrize(
    ("status", "delay", "state", "summary"),
    [
        (200, 0, State.OK, "up"),
        (503, 0, State.FAIL, "server error 503"),
        (404, 0, State.WARN, "client error 404"),
        (200, 0.3, State.WARN, "slower than the P95 target"),
    ],
)
async def test_app_endpoint(fake: FakeWeb, status: int, delay: float, state: State, summary: str) -> None:
    fake.set("shop.test", "/", "ok", status=status, delay=delay, content_type="text/html")
    async with fake.client() as http:
        result = await app.endpoint(http, "https://shop.test/", p95_s=0.2)
    assert result.state is state and result.summary == summary
    assert result.figure is not None and result.figure.startswith(f"HTTP {status} in ")
    assert result.threshold == "2xx/3xx within 0.2s (P95 target)"


def sentry_api(http: httpx.AsyncClient) -> sentry.SentryApi:
    return sentry.SentryApi(
        http, api_url="https://sentry.test/api/0/", token="sntrys_x", org="shop", project="web"
    )


async def test_sentry_new_issues(fake: FakeWeb) -> None:
    fake.set(
        "sentry.test", "/api/0/projects/shop/web/issues/", [sentry_issue(1), sentry_issue(2, level="warning")]
    )
    async with fake.client() as http:
        result = await sentry.new_issues(sentry_api(http))
    assert result.state is State.WARN and result.summary == "2 new unresolved (1 error/fatal)"
    assert "ReferenceError: heck is not defined" in result.details[0]
    request = fake.requests[0]
    assert request.headers["Authorization"] == "Bearer sntrys_x"
    assert request.url.params["query"] == "is:unresolved firstSeen:-24h"


@pytest.mark.parametrize(("last", "state"), [(10, State.OK), (35, State.WARN), (70, State.FAIL)])
async def test_sentry_spike_against_hours_before(fake: FakeWeb, last: int, state: State) -> None:
    fake.set("sentry.test", "/api/0/projects/shop/web/stats/", [[i, 10] for i in range(24)] + [[24, last]])
    async with fake.client() as http:
        result = await sentry.error_spike(sentry_api(http), Thresholds())
    assert result.state is state and result.figure == f"{last}/h"


async def test_sentry_refused_token_is_unknown(fake: FakeWeb) -> None:
    fake.set("sentry.test", "/api/0/projects/shop/web/issues/", {"detail": "Invalid token"}, status=401)
    async with fake.client() as http:
        result = await sentry.new_issues(sentry_api(http))
    assert result.state is State.UNKNOWN and "refused the token" in result.summary


async def test_github_recent_commits(fake: FakeWeb) -> None:
    async with fake.client() as http:
        result = await github.recent_commits(
            http, api_url="https://github.test", repo="shop/web", token="ghp_x"
        )
    assert result.state is State.OK and len(result.details) == 5
    assert result.details[0].startswith("0000000 Change 0 (10m 00s ago, Dana)")
    assert fake.requests[0].headers["Authorization"] == "Bearer ghp_x"
