"""`opsbot socket`: the same app over Socket Mode, against the stand-in's WebSocket endpoint."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import parse_qsl

import httpx

from bot.devtools import payloads
from tests.processes import ThreadedSim

REFERENCE = Path(__file__).resolve().parents[3] / "shared" / "reference"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_socket_mode_runs_commands_and_thread_mentions(tmp_path: Path) -> None:
    slack = ThreadedSim()
    port = free_port()
    env = {
        "HOST": "127.0.0.1",
        "PORT": str(port),
        "PATH": os.environ.get("PATH", ""),
        "HOME": os.environ.get("HOME", "/tmp"),
        "SLACK_BOT_TOKEN": "xoxb-socket-test",
        "SLACK_APP_TOKEN": "xapp-1-A0OPSBOT-socket-test",
        "SLACK_API_URL": slack.sim.api_url,
        "DATABASE_URL": f"sqlite:///{tmp_path}/socket.db",
        "STATUS_PAGES": "[]",
        "ALERTMANAGER_TOKEN": "socket-alert-token",
    }
    # Its log goes to a file: a pipe nobody reads until the end fills up (64 KiB) on a slow, busy
    # machine where retries log more, and the bot then blocks on its next log line.
    log = tmp_path / "socket.log"
    with log.open("wb") as out:
        proc = subprocess.Popen([sys.executable, "-m", "bot", "socket"], env=env, stdout=out, stderr=out)
    try:
        deadline = time.monotonic() + 30
        while not slack.sim.socket_connected.is_set():
            assert proc.poll() is None, log.read_text()
            assert time.monotonic() < deadline, "opsbot socket never connected"
            time.sleep(0.05)

        def command(text: str) -> dict:
            form = dict(
                parse_qsl(payloads.slash_command("/incident", text, response_url=slack.sim.response_url()))
            )
            return slack.call(slack.sim.socket_request("slash_commands", form))

        ack = command("help")
        assert "/incident open <P0|P1|P2|P3> <title...>" in ack["payload"]["text"]
        ack = command("open P1 checkout broken")
        assert "Declared *INC-1*" in ack["payload"]["text"]
        card = None
        for _ in range(200):
            card = slack.run(
                lambda: next(
                    (m for m in slack.sim.messages["C0INCIDENT"].values() if "(INC-1)" in m.get("text", "")),
                    None,
                )
            )
            if card:
                break
            time.sleep(0.05)
        assert card is not None
        msg = slack.run(
            lambda: slack.sim.post_human("C0INCIDENT", "U0DANA", "<@U0OPSBOT> identified Stripe", card["ts"])
        )
        event = json.loads(
            payloads.event_callback(
                payloads.app_mention_event(
                    channel="C0INCIDENT", user="U0DANA", text=msg["text"], ts=msg["ts"], thread_ts=card["ts"]
                )
            )
        )
        slack.call(slack.sim.socket_request("events_api", event))
        for _ in range(600):  # up to 30 s: a P1's card edit queues behind its page and runbook thread
            card = slack.run(
                lambda: next(
                    m for m in slack.sim.messages["C0INCIDENT"].values() if "(INC-1)" in m.get("text", "")
                )
            )
            if "Status: Identified" in card["text"]:
                break
            time.sleep(0.05)
        assert "Status: Identified" in card["text"]
        assert slack.sim.problems == []

        # The HTTP side of Socket Mode: health, metrics and webhooks on PORT; Slack's route is not there.
        base = f"http://127.0.0.1:{port}"
        assert httpx.get(f"{base}/healthz").json()["ok"] is True
        metrics = httpx.get(f"{base}/metrics").text
        assert 'opsbot_requests_total{kind="command"} 2.0' in metrics
        assert 'opsbot_requests_total{kind="event"} 1.0' in metrics
        assert 'opsbot_open_incidents{severity="P1"} 1.0' in metrics
        assert httpx.post(f"{base}/hooks/anything", content=b"{}").status_code == 404
        assert httpx.get(f"{base}/api/v2/status.json").json()["status"]["indicator"] == "none"
        alert = (REFERENCE / "alertmanager" / "firing.json").read_bytes()
        auth = {"Authorization": "Bearer socket-alert-token", "Content-Type": "application/json"}
        assert httpx.post(f"{base}/hooks/alertmanager", content=alert, headers=auth).status_code == 202
        assert httpx.post(f"{base}/hooks/alertmanager", content=alert).status_code == 401
        for _ in range(200):
            posted = slack.run(
                lambda: [
                    m for m in slack.sim.messages["C0INCIDENT"].values() if m["text"].startswith("Firing:")
                ]
            )
            if posted:
                break
            time.sleep(0.05)
        assert len(posted) == 1 and "Checkout error rate above 5%" in posted[0]["text"]
        assert httpx.post(f"{base}/slack/events", content=b"{}").status_code in (404, 405)
        # The platform's probes reach a Socket Mode instance on PORT too.
        assert httpx.get(f"{base}/livez", timeout=5).status_code == 200
        ready = httpx.get(f"{base}/readyz", timeout=5)
        assert ready.status_code == 200 and ready.json()["ok"] is True, ready.text
        proc.terminate()
        assert proc.wait(timeout=20) == 0  # SIGTERM: the same graceful stop as `serve`
        assert "opsbot: stopped cleanly" in log.read_text()
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait(timeout=10)
        slack.stop()
