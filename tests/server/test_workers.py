"""`opsbot serve --workers 2` as real processes: both workers answer on the one port, one of them
delivers (the outbox lease), every note lands once, and SIGTERM stops the parent and both workers."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import pytest

from bot.server.workers import Supervisor, parse_worker
from tests.processes import Served, ThreadedSim


def parent_of(pid: int) -> int:
    return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return False
    return state != "Z"


def test_two_workers_share_the_port_deliver_once_and_stop_on_sigterm(
    store_url: str, slack: ThreadedSim, tmp_path: Path
) -> None:
    served = Served(store_url, slack.sim, tmp_path, serve_args=("--workers", "2")).start()
    assert served.proc is not None
    try:
        pids: set[int] = set()
        deadline = time.monotonic() + 30
        while len(pids) < 2 and time.monotonic() < deadline:
            pids.add(httpx.get(f"{served.base}/livez", timeout=5).json()["pid"])  # a new connection each
        assert len(pids) == 2
        assert {parent_of(pid) for pid in pids} == {served.proc.pid}  # the parent itself serves nothing

        assert served.command("open P1 checkout broken", sim=slack.sim).status_code == 200
        for i in range(24):
            assert served.command(f"note INC-1 step {i}", sim=slack.sim).status_code == 200
        served.wait_drained()
        thread = slack.run(
            lambda: [
                line
                for card in slack.sim.messages["C0INCIDENT"].values()
                for m in slack.sim.thread("C0INCIDENT", card["ts"])
                if m.get("bot_id") and m is not card
                for line in m["text"].split("\n")
            ]
        )
        notes = [line for line in thread if ":memo:" in line]
        assert notes == [f":memo: <@U0ONCALL>: step {i}" for i in range(24)]  # each once, in order
        log = served.log.read_text()
        handled_by = set(re.findall(r"\[worker (\d)\] opsbot\.requests: handled /incident note", log))
        assert handled_by == {"1", "2"}  # Slack's requests were answered by both workers

        served.proc.send_signal(signal.SIGTERM)
        assert served.proc.wait(timeout=30) == 0
        assert not any(alive(pid) for pid in pids)
        log = served.log.read_text()
        assert log.count("opsbot: stopping: no new requests") == 2  # each worker's own graceful stop
    finally:
        served.stop()


def test_a_worker_that_dies_is_replaced_and_one_that_cannot_start_stops_the_pool(tmp_path: Path) -> None:
    starts = tmp_path / "starts"
    # A stand-in worker noting each start: worker 1's first life ends after 0.3 s; the rest run on.
    script = (
        "import pathlib, sys, time\n"
        f"log = pathlib.Path({str(starts)!r})\n"
        "first = '1' not in (log.read_text().split() if log.exists() else [])\n"
        "with log.open('a') as f: f.write(sys.argv[1] + '\\n')\n"
        "time.sleep(0.3 if first and sys.argv[1] == '1' else 60)\n"
    )
    supervisor = Supervisor(
        count=2,
        stop_within=5,
        command=lambda n, _: [sys.executable, "-c", script, str(n)],
        settle=0.2,
        poll=0.05,
    )
    # What SIGTERM does (the real signal is sent in the test above), from another thread after 4 s.
    timer = threading.Timer(4, supervisor.stop)
    timer.start()
    began = time.monotonic()
    try:
        assert supervisor.run() == 0  # every worker told to stop with SIGTERM (the sleepers die of it)
    finally:
        timer.cancel()
    assert time.monotonic() - began < 10
    assert sorted(starts.read_text().split()) == ["1", "1", "2"]  # worker 1 started again

    failing = Supervisor(
        count=2, stop_within=5, command=lambda n, _: [sys.executable, "-c", "raise SystemExit(2)"], settle=5
    )
    assert failing.run() == 2  # a worker exiting during start-up: the pool stops with its status


def test_worker_flags() -> None:
    assert parse_worker("2/4") == (2, 4)
    for bad in ("0/2", "3/2", "x", "1"):
        with pytest.raises(ValueError):
            parse_worker(bad)


@pytest.mark.parametrize(
    ("args", "env", "says"),
    [
        (("--workers", "0"), {}, "--workers"),
        (("--workers", "2"), {"DATABASE_URL": "sqlite://:memory:"}, "DATABASE_URL"),
        (("--workers", "2"), {"SLACK_BOT_TOKEN": ""}, "SLACK_BOT_TOKEN"),
    ],
)
def test_serve_workers_refuses_what_cannot_work(
    tmp_path: Path, args: tuple[str, ...], env: dict[str, str], says: str
) -> None:
    settings = {"SLACK_BOT_TOKEN": "xoxb-x", "SLACK_SIGNING_SECRET": "s", "PATH": os.environ["PATH"]}
    done = subprocess.run(
        [sys.executable, "-m", "bot", "serve", *args],
        env={**settings, **env},
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 2, done.stderr
    assert says in done.stderr and "Traceback" not in done.stderr
