"""Shared by the benchmark scripts: processes, signed requests, percentiles. Prints, never asserts."""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

from bot.devtools import payloads

SECRET = "benchmark-signing-secret"
HERE = Path(__file__).resolve().parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_http(url: str, proc: subprocess.Popen[bytes], within: float = 30.0) -> float:
    """Seconds until ``url`` answers (any status)."""
    started = time.perf_counter()
    while time.perf_counter() - started < within:
        if proc.poll() is not None:
            raise RuntimeError(f"{proc.args} exited with {proc.returncode}")
        try:
            httpx.get(url, timeout=0.5)
            return time.perf_counter() - started
        except httpx.HTTPError:
            time.sleep(0.005)
    raise RuntimeError(f"{url} did not answer")


def env(**extra: str) -> dict[str, str]:
    return {"PATH": os.environ.get("PATH", ""), "HOME": os.environ.get("HOME", "/tmp"), **extra}


def start_sim() -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, str(HERE / "slack_sim_server.py"), str(port)],
        env=env(),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    wait_http(f"{url}/_sim/stats", proc)
    return proc, url


def start_opsbot(
    sim_url: str, database_url: str | None = None, *, args: tuple[str, ...] = (), **extra_env: str
) -> tuple[subprocess.Popen[bytes], str, float]:
    """`opsbot serve [args]`; returns the process, its base URL and its start-to-ready seconds."""
    port = free_port()
    db = database_url or f"sqlite:///{tempfile.mkdtemp(prefix='opsbot-bench-')}/bench.db"
    proc = subprocess.Popen(
        [sys.executable, "-m", "bot", "serve", *args],
        env=env(
            PORT=str(port),
            HOST="127.0.0.1",
            SLACK_BOT_TOKEN="xoxb-benchmark",
            SLACK_SIGNING_SECRET=SECRET,
            SLACK_API_URL=f"{sim_url}/api/",
            DATABASE_URL=db,
            STATUS_PAGES="[]",
            LOG_LEVEL="WARNING",
            **extra_env,
        ),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        ready = wait_http(f"{base}/healthz", proc)
    except RuntimeError:
        stop(proc)  # never leave a server behind
        raise
    return proc, base, ready


def start_stock_bolt(sim_url: str, *, before_response: bool = False) -> tuple[subprocess.Popen[bytes], str]:
    """Stock Bolt acking ``/incident``; ``before_response`` runs it with ``process_before_response=True``."""
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, str(HERE / "stock_bolt.py"), str(port), *(["pbr"] if before_response else [])],
        env=env(SLACK_SIGNING_SECRET=SECRET, SLACK_API_URL=f"{sim_url}/api/"),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    wait_http(f"{base}/slack/events", proc)
    return proc, base


def signed_command(text: str, *, sim_url: str, n: int) -> tuple[bytes, dict[str, str]]:
    body = payloads.slash_command(
        "/incident", text, response_url=f"{sim_url}/response/bench", trigger_id=f"{n}.{time.time_ns()}.bench"
    )
    headers = payloads.signed_headers(SECRET, body, content_type="application/x-www-form-urlencoded")
    return body.encode(), headers


def percentile(values: list[float], pct: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    index = min(len(ordered) - 1, max(0, round(pct / 100 * (len(ordered) - 1))))
    return ordered[index]


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def cpu_seconds(pid: int) -> float:
    """User plus system CPU time the process (all its threads) has used so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def descendants(pid: int) -> list[int]:
    """``pid`` and every process below it (``serve --workers``: the parent and its workers)."""
    found = [pid]
    with contextlib.suppress(FileNotFoundError):  # ended meanwhile
        for task in Path(f"/proc/{pid}/task").iterdir():
            for child in (task / "children").read_text().split():
                found += descendants(int(child))
    return found


def pool_cpu_seconds(pid: int) -> float:
    """CPU time of ``pid`` and every process below it (those running now)."""
    total = 0.0
    for each in descendants(pid):
        with contextlib.suppress(FileNotFoundError):  # ended since it was listed
            total += cpu_seconds(each)
    return total


def stop(*procs: subprocess.Popen[bytes]) -> None:
    for proc in procs:
        proc.terminate()
    for proc in procs:
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
