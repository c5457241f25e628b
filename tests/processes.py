"""Real `opsbot serve` processes and a Slack stand-in they can reach, for fault and multi-instance tests."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import httpx

from bot.devtools import payloads
from bot.devtools.slack_sim import SlackSim
from tests.fakes.slack_spec import check_call

SECRET = "process-test-signing-secret"
T = TypeVar("T")


class ThreadedSim:
    """The Slack stand-in on its own event loop thread, so other processes can call it."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.sim = SlackSim(validator=check_call)
        threading.Thread(target=self.loop.run_forever, daemon=True).start()
        self.call(self.sim.start())

    def call(self, coro: Any) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout=30)

    def run(self, fn: Callable[[], T]) -> T:
        """Run ``fn`` on the stand-in's loop (to read or change its state safely)."""

        async def wrapper() -> T:
            return fn()

        return self.call(wrapper())  # type: ignore[no-any-return]

    def stop(self) -> None:
        self.call(self.sim.stop())
        self.loop.call_soon_threadsafe(self.loop.stop)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Served:
    """One `opsbot serve` process."""

    def __init__(
        self, database_url: str, sim: SlackSim, tmp: Path, *, serve_args: tuple[str, ...] = (), **env: str
    ) -> None:
        self.serve_args = serve_args
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.log = tmp / f"serve-{self.port}.log"
        self.env = {
            "PATH": os.environ.get("PATH", ""),
            "HOME": os.environ.get("HOME", "/tmp"),
            "PORT": str(self.port),
            "HOST": "127.0.0.1",
            "SLACK_BOT_TOKEN": "xoxb-process-test-token",
            "SLACK_SIGNING_SECRET": SECRET,
            "SLACK_API_URL": sim.api_url,
            "DATABASE_URL": database_url,
            "STATUS_PAGES": "[]",
            "PROBE_TIMEOUT_S": "1",
            "LOG_LEVEL": "INFO",
            **env,
        }
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> Served:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "bot", "serve", *self.serve_args],
            env=self.env,
            stdout=self.log.open("ab"),
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{self.base}/healthz", timeout=1).status_code == 200:
                    return self
            except httpx.HTTPError:
                pass
            if self.proc.poll() is not None:
                raise RuntimeError(f"opsbot serve exited: {self.log.read_text()[-2000:]}")
            time.sleep(0.05)
        raise RuntimeError("opsbot serve did not become ready")

    def kill(self) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(timeout=10)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.kill()

    def health(self) -> dict[str, Any]:
        return dict(httpx.get(f"{self.base}/healthz", timeout=5).json())

    def post(self, body: str, content_type: str) -> httpx.Response:
        headers = payloads.signed_headers(SECRET, body, content_type=content_type)
        return httpx.post(f"{self.base}/slack/events", content=body, headers=headers, timeout=10)

    def command(
        self,
        text: str,
        *,
        sim: SlackSim,
        user: str = "U0ONCALL",
        trigger_id: str | None = None,
        command: str = "/incident",
    ) -> httpx.Response:
        body = payloads.slash_command(
            command, text, user=user, response_url=sim.response_url(user), trigger_id=trigger_id
        )
        return self.post(body, "application/x-www-form-urlencoded")

    def wait_drained(self, within: float = 30) -> None:
        deadline = time.monotonic() + within
        while time.monotonic() < deadline:
            if self.health().get("outbox_pending") == 0:
                return
            time.sleep(0.1)
        raise AssertionError(f"outbox did not drain: {self.health()}")
