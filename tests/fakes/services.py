"""Fakes of the outside world, answering with the real payload shapes in ../shared/reference/.

- FakeWeb: an httpx.MockTransport for status pages, the shop, Sentry's and GitHub's APIs.
- FakeStripe: a local HTTP server speaking Stripe's REST list API, built from Stripe's own fixtures
  (the stripe library brings its own HTTP client, so it gets a real server rather than a transport).
"""

from __future__ import annotations

import asyncio
import copy
import json
import time
from dataclasses import dataclass, field
from typing import Any

import httpx
from aiohttp import web

from tests.fakes.slack_spec import reference_dir


def reference(*parts: str) -> Any:
    return json.loads(reference_dir().joinpath(*parts).read_text())


STATUS_PAGES = [
    {"name": "GitHub", "url": "https://githubstatus.test", "kind": "statuspage"},
    {"name": "Sentry", "url": "https://sentrystatus.test", "kind": "statuspage"},
    {"name": "Supabase", "url": "https://supabasestatus.test", "kind": "statuspage"},
    {"name": "Stripe", "url": "https://stripestatus.test", "kind": "stripe"},
    {"name": "Slack", "url": "https://slackstatus.test", "kind": "slack"},
]


def statuspage_summary(indicator: str = "none", components: dict[str, str] | None = None) -> dict[str, Any]:
    """The reference summary.json with its indicator and component statuses changed."""
    data: dict[str, Any] = copy.deepcopy(reference("statuspage", "summary_operational.json"))
    data["status"]["indicator"] = indicator
    data["status"]["description"] = {
        "none": "All Systems Operational",
        "minor": "Minor Service Outage",
        "major": "Partial System Outage",
        "critical": "Major System Outage",
    }.get(indicator, indicator)
    for name, status in (components or {}).items():
        data["components"].append(
            {**data["components"][0], "id": name.lower(), "name": name, "status": status}
        )
    return data


def stripe_current(largestatus: str = "up", **statuses: str) -> dict[str, Any]:
    # Shape from stripe-cli's pkg/status (see reference/statuspage/README.md).
    base = {
        "api": "up",
        "dashboard": "up",
        "stripejs": "up",
        "checkoutjs": "up",
        "webhooks": "up",
        "emails": "up",
    }
    base.update(statuses)
    return {
        "largestatus": largestatus,
        "message": "All systems operational" if largestatus == "up" else "Degraded",
        "time": "July 21, 4:00 +0:00",
        "statuses": base,
    }


def slack_current(status: str = "ok", incidents: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    return {
        "status": status,
        "active_incidents": incidents or [],
        "date_created": "2026-11-27T00:00:00-08:00",
        "date_updated": "2026-11-27T00:00:00-08:00",
    }


def sentry_issue(n: int, *, level: str = "error") -> dict[str, Any]:
    """A Sentry issue as the issues API lists it, built from the reference issue alert's event."""
    event = reference("sentry", "issue_alert_triggered.json")["data"]["event"]
    return {
        "id": str(1117540176 + n),
        "shortId": f"SHOP-{n}",
        "title": event["title"],
        "culprit": event["culprit"],
        "permalink": f"https://sentry.test/organizations/shop/issues/{1117540176 + n}/",
        "level": level,
        "count": str(100 * n),
        "userCount": 3 * n,
        "firstSeen": "2026-11-27T08:00:00Z",
        "lastSeen": "2026-11-27T09:00:00Z",
        "status": "unresolved",
    }


@dataclass
class Route:
    status: int = 200
    body: Any = None
    content_type: str = "application/json"
    delay: float = 0.0
    error: type[Exception] | None = None


@dataclass
class FakeWeb:
    """Answers httpx requests by host and path; records them."""

    routes: dict[tuple[str, str], Route] = field(default_factory=dict)
    requests: list[httpx.Request] = field(default_factory=list)

    def __post_init__(self) -> None:
        for page in STATUS_PAGES:
            host = httpx.URL(page["url"]).host
            if page["kind"] == "statuspage":
                self.set(host, "/api/v2/summary.json", statuspage_summary())
                self.set(host, "/api/v2/status.json", reference("statuspage", "status_none.json"))
            elif page["kind"] == "stripe":
                self.set(host, "/current", stripe_current())
            else:
                self.set(host, "/api/v2.0.0/current", slack_current())
        self.set("shop.test", "/", "<html>shop</html>", content_type="text/html")
        self.set("sentry.test", "/api/0/projects/shop/web/issues/", [])
        now = int(time.time())
        self.set(
            "sentry.test", "/api/0/projects/shop/web/stats/", [[now - 3600 * (24 - i), 10] for i in range(25)]
        )
        self.set(
            "github.test",
            "/repos/shop/web/commits",
            [
                {
                    "sha": f"{i:07d}abcdef",
                    "html_url": f"https://github.com/shop/web/commit/{i}",
                    "commit": {
                        "message": f"Change {i}\n\nbody",
                        "author": {"name": "Dana", "date": _iso(now - 3600 * i - 600)},
                    },
                }
                for i in range(5)
            ],
        )

    def set(
        self,
        host: str,
        path: str,
        body: Any = None,
        *,
        status: int = 200,
        content_type: str = "application/json",
        delay: float = 0.0,
        error: type[Exception] | None = None,
    ) -> None:
        self.routes[(host, path)] = Route(status, body, content_type, delay, error)

    async def handler(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        route = self.routes.get((request.url.host, request.url.path))
        if route is None:
            return httpx.Response(404, text="<html>Not Found</html>", headers={"content-type": "text/html"})
        if route.delay:
            await asyncio.sleep(route.delay)
        if route.error is not None:
            raise route.error("injected failure", request=request)  # type: ignore[call-arg]
        if route.content_type == "application/json":
            return httpx.Response(route.status, json=route.body)
        return httpx.Response(
            route.status, text=str(route.body), headers={"content-type": route.content_type}
        )

    def client(self) -> httpx.AsyncClient:
        return httpx.AsyncClient(transport=httpx.MockTransport(self.handler), timeout=5)


def _iso(at: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(at))


def probe_settings(web_stripe_url: str | None = None, **extra: Any) -> dict[str, Any]:
    """Settings that point every probe at the fakes."""
    values: dict[str, Any] = {
        "status_pages": STATUS_PAGES,
        "app_url": "https://shop.test/",
        "sentry_auth_token": "sntrys_fake_token_for_tests_only",
        "sentry_org": "shop",
        "sentry_project": "web",
        "sentry_api_url": "https://sentry.test/api/0/",
        "github_token": "ghp_faketokenfortestsonly000",
        "github_repo": "shop/web",
        "github_api_url": "https://github.test",
        "probe_timeout_s": 2.0,
    }
    if web_stripe_url:
        values.update(stripe_api_key="rk_test_faketokenfortests", stripe_api_url=web_stripe_url)
    values.update(extra)
    return values


class FakeStripe:
    """Stripe's list endpoints, built from the fixtures stripe-mock serves (fixtures3.json)."""

    KEY = "rk_test_faketokenfortests"

    def __init__(self) -> None:
        resources = reference("stripe", "fixtures3.json")["resources"]
        self.fixture = {k: resources[k] for k in ("webhook_endpoint", "event", "charge")}
        self.webhooks: list[dict[str, Any]] = [self.webhook("enabled")]
        self.events: list[dict[str, Any]] = []
        self.charges: list[dict[str, Any]] = [self.charge("succeeded") for _ in range(10)]
        self.requests: list[tuple[str, dict[str, str]]] = []
        self.url = ""
        self._runner: web.AppRunner | None = None
        self.status = 200

    def webhook(
        self, status: str, url: str = "https://shop.test/functions/v1/stripe-webhook"
    ) -> dict[str, Any]:
        return {**copy.deepcopy(self.fixture["webhook_endpoint"]), "status": status, "url": url}

    def event(self, kind: str = "charge.failed") -> dict[str, Any]:
        return {
            **copy.deepcopy(self.fixture["event"]),
            "type": kind,
            "created": int(time.time()),
            "pending_webhooks": 1,
        }

    def charge(self, status: str, failure_code: str | None = None) -> dict[str, Any]:
        return {
            **copy.deepcopy(self.fixture["charge"]),
            "status": status,
            "failure_code": failure_code,
            "created": int(time.time()),
        }

    async def start(self) -> FakeStripe:
        app = web.Application()
        app.router.add_get("/v1/{resource}", self._list)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.url = f"http://127.0.0.1:{self._runner.addresses[0][1]}"
        return self

    async def stop(self) -> None:
        if self._runner:
            await self._runner.cleanup()

    async def _list(self, request: web.Request) -> web.Response:
        self.requests.append((request.match_info["resource"], dict(request.query)))
        if request.headers.get("Authorization") != f"Bearer {self.KEY}":
            return web.json_response(
                {"error": {"type": "invalid_request_error", "message": "Invalid API Key"}}, status=401
            )
        if self.status != 200:
            return web.json_response({"error": {"type": "api_error", "message": "boom"}}, status=self.status)
        data = {"webhook_endpoints": self.webhooks, "events": self.events, "charges": self.charges}.get(
            request.match_info["resource"]
        )
        if data is None:
            return web.json_response({"error": {"type": "invalid_request_error"}}, status=404)
        return web.json_response(
            {
                "object": "list",
                "data": data,
                "has_more": False,
                "url": f"/v1/{request.match_info['resource']}",
            }
        )
