"""`opsbot check` as Nagios and Icinga run it: a real process, exit codes 0/1/2/3."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from typing import Any

import pytest
from aiohttp import web

from bot.probes import Result, State
from bot.runbook.check import status_lines
from tests.fakes.services import slack_current, statuspage_summary, stripe_current


class StatusServer:
    """Real HTTP status pages on loopback, for a separate process to read."""

    def __init__(self) -> None:
        self.pages: dict[str, Any] = {
            "/gh/api/v2/summary.json": statuspage_summary(),
            "/stripe/current": stripe_current(),
            "/slack/api/v2.0.0/current": slack_current(),
        }
        self.loop = asyncio.new_event_loop()
        self.url = ""
        self.delay = 0.0

    async def _handle(self, request: web.Request) -> web.Response:
        await asyncio.sleep(self.delay)
        body = self.pages.get(request.path)
        if body is None:
            return web.Response(status=404, text="<html>404</html>", content_type="text/html")
        return web.json_response(body)

    def start(self) -> None:
        async def boot() -> None:
            app = web.Application()
            app.router.add_get("/{tail:.*}", self._handle)
            runner = web.AppRunner(app, access_log=None)
            await runner.setup()
            site = web.TCPSite(runner, "127.0.0.1", 0)
            await site.start()
            self.url = f"http://127.0.0.1:{runner.addresses[0][1]}"

        self.loop.run_until_complete(boot())
        threading.Thread(target=self.loop.run_forever, daemon=True).start()

    def env(self) -> dict[str, str]:
        pages = [
            {"name": "GitHub", "url": f"{self.url}/gh"},
            {"name": "Stripe", "url": f"{self.url}/stripe", "kind": "stripe"},
            {"name": "Slack", "url": f"{self.url}/slack", "kind": "slack"},
        ]
        return {"STATUS_PAGES": json.dumps(pages), "PROBE_TIMEOUT_S": "3"}


@pytest.fixture
def server() -> Iterator[StatusServer]:
    s = StatusServer()
    s.start()
    yield s
    s.loop.call_soon_threadsafe(s.loop.stop)


def check(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    base = {"PATH": os.environ.get("PATH", ""), "HOME": os.environ.get("HOME", "/tmp")}
    return subprocess.run(
        [sys.executable, "-m", "bot", "check", *args],
        capture_output=True,
        text=True,
        env={**base, **env},
        timeout=60,
    )


def test_all_ok_exits_0(server: StatusServer) -> None:
    result = check(env=server.env())
    assert result.returncode == 0, result.stdout + result.stderr
    first = result.stdout.splitlines()[0]
    assert first.startswith("OPSBOT OK - 3 checks passed |") and "elapsed=" in first


def test_warning_exits_1_critical_2(server: StatusServer) -> None:
    server.pages["/gh/api/v2/summary.json"] = statuspage_summary("minor")
    result = check(env=server.env())
    assert result.returncode == 1 and result.stdout.startswith(
        "OPSBOT WARNING - GitHub status: Minor Service Outage"
    )
    server.pages["/stripe/current"] = stripe_current("down", api="down")
    result = check(env=server.env())
    assert result.returncode == 2 and result.stdout.startswith("OPSBOT CRITICAL - Stripe status")


def test_unknown_exits_3(server: StatusServer) -> None:
    del server.pages["/slack/api/v2.0.0/current"]
    result = check(env=server.env())
    assert result.returncode == 3 and result.stdout.startswith("OPSBOT UNKNOWN - Slack status: HTTP 404")


def test_scenario_check_and_usage_errors(server: StatusServer) -> None:
    result = check("payments", env=server.env())
    assert result.returncode == 0 and result.stdout.startswith("OPSBOT payments OK")
    assert "NOT CONFIGURED Stripe webhooks" in result.stdout
    bad = check("nonsense", env=server.env())
    assert bad.returncode == 3 and "not a scenario" in bad.stdout
    config = check(env={**server.env(), "PROBE_TIMEOUT_S": "-1"})
    assert config.returncode == 3 and config.stdout.startswith(
        "OPSBOT UNKNOWN - configuration error: PROBE_TIMEOUT_S"
    )


@pytest.mark.parametrize(
    ("states", "code"),
    [
        ([State.OK, State.NOT_CONFIGURED], 0),
        ([State.OK, State.WARN], 1),
        ([State.UNKNOWN, State.FAIL], 2),
        ([State.UNKNOWN, State.WARN], 1),
        ([State.UNKNOWN, State.OK], 3),
    ],
)
def test_plugin_precedence(states: list[State], code: int) -> None:
    got, _ = status_lines([Result(f"r{i}", s, "x") for i, s in enumerate(states)], None, 0.1)
    assert got == code


def test_nothing_configured_is_unknown_not_ok() -> None:
    result = check(env={"STATUS_PAGES": "[]"})
    assert result.returncode == 3, result.stdout
    assert result.stdout.startswith("OPSBOT UNKNOWN - no checks configured")


def test_a_pipe_in_provider_text_is_not_read_as_performance_data(server: StatusServer) -> None:
    summary = statuspage_summary("minor")
    summary["status"]["description"] = "Degraded | partial outage"
    server.pages["/gh/api/v2/summary.json"] = summary
    result = check(env=server.env())
    assert result.returncode == 1
    lines = result.stdout.splitlines()
    assert lines[0].startswith("OPSBOT WARNING - GitHub status: Degraded / partial outage |")
    assert lines[0].count("|") == 1 and all("|" not in line for line in lines[1:])


def test_usage_errors_are_unknown_with_a_status_line() -> None:
    for args in (["--bogus"], ["-t", "soon"], ["a", "b"]):
        result = check(*args, env={"STATUS_PAGES": "[]"})
        assert result.returncode == 3, (args, result.stdout, result.stderr)
        assert result.stdout.startswith("OPSBOT UNKNOWN - usage:"), result.stdout


def test_timeout_option_gives_unknown(server: StatusServer) -> None:
    server.delay = 5.0
    result = check("-t", "1", env=server.env())
    assert result.returncode == 3
    first = result.stdout.splitlines()[0]
    assert first.startswith("OPSBOT UNKNOWN") and ("timed out" in first)
