"""The soak's processes: the Slack stand-in, `opsbot serve` / `opsbot socket`, and PostgreSQL.

Every one listens on loopback only; logs go to files in the run's folder, kept for reading after.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import psycopg

from benchmarks.common import HERE, env, free_port, wait_http
from tests.pgcluster import Cluster, create_database

ROOT = HERE.parent
SECRET = "soak-signing-secret"
# Probes that would reach the internet point at a closed loopback port instead: the soak stays local.
NOWHERE = "http://127.0.0.1:9"


class Sim:
    """The Slack stand-in in its own process, calls checked against the OpenAPI spec."""

    def __init__(self, folder: Path) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "benchmarks.slack_sim_server", str(self.port), "--check"],
            env=env(PYTHONPATH=str(ROOT)),
            cwd=ROOT,
            stdout=(folder / "sim.log").open("ab"),
            stderr=subprocess.STDOUT,
        )
        wait_http(f"{self.url}/_sim/stats", self.proc)
        self.http = httpx.Client(base_url=self.url, timeout=60)

    def post(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        return dict(self.http.post(path, json=body).json())

    def get(self, path: str, **params: str) -> dict[str, Any]:
        return dict(self.http.get(path, params=params).json())

    def stop(self) -> None:
        self.http.close()
        self.proc.terminate()
        self.proc.wait(timeout=10)


class Bot:
    """One `opsbot serve` or `opsbot socket`; restartable, killable, freezable."""

    def __init__(
        self, name: str, mode: str, *, database_url: str, sim: Sim, channel: str, folder: Path
    ) -> None:
        self.name = name
        self.mode = mode
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.log = folder / f"{name}.log"
        self.database_url = database_url
        self.env = env(
            PYTHONPATH=str(ROOT),
            PORT=str(self.port),
            HOST="127.0.0.1",
            SLACK_BOT_TOKEN="xoxb-soak",
            SLACK_APP_TOKEN="xapp-1-soak",
            SLACK_SIGNING_SECRET=SECRET,
            SLACK_API_URL=f"{sim.url}/api/",
            DATABASE_URL=database_url,
            INCIDENT_CHANNEL=channel,
            STATUS_PAGES="[]",
            STRIPE_API_URL=NOWHERE,
            SENTRY_API_URL=NOWHERE,
            GITHUB_API_URL=NOWHERE,
            PROBE_TIMEOUT_S="2",
            LOG_LEVEL="INFO",
        )
        self.proc: subprocess.Popen[bytes] | None = None
        self.up = False
        self.frozen = False
        self.kills = 0

    @property
    def pid(self) -> int | None:
        return self.proc.pid if self.proc is not None else None

    def start(self) -> None:
        """Start and wait until ready (serve: /healthz answers; socket: it says it is connected)."""
        offset = self.log.stat().st_size if self.log.exists() else 0
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "bot", self.mode],
            env=self.env,
            cwd=ROOT,
            stdout=self.log.open("ab"),
            stderr=subprocess.STDOUT,
        )
        try:
            if self.mode == "serve":
                wait_http(f"{self.base}/healthz", self.proc, within=60)
            else:
                self._wait_logged("opsbot ready", offset)
        except RuntimeError:
            # Not ready in time (seen: a start-up during a store outage that hangs instead of exiting):
            # kill it, so the next attempt gets the port and nothing outlives the soak.
            self.proc.kill()
            self.proc.wait(timeout=10)
            raise
        self.up = True

    def _wait_logged(self, text: str, offset: int, within: float = 60) -> None:
        deadline = time.monotonic() + within
        assert self.proc is not None
        while time.monotonic() < deadline:
            with self.log.open("rb") as f:
                f.seek(offset)
                if text.encode() in f.read():
                    return
            if self.proc.poll() is not None:
                raise RuntimeError(f"{self.name} exited with {self.proc.returncode}; see {self.log}")
            time.sleep(0.05)
        raise RuntimeError(f"{self.name} did not become ready; see {self.log}")

    def kill(self) -> None:
        """SIGKILL: no goodbye, no lease released, whatever was mid-send stays mid-send."""
        assert self.proc is not None
        self.up = False
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(timeout=10)
        self.kills += 1

    def freeze(self) -> None:
        assert self.pid is not None
        self.frozen = True
        os.kill(self.pid, signal.SIGSTOP)

    def thaw(self) -> None:
        assert self.pid is not None
        os.kill(self.pid, signal.SIGCONT)
        self.frozen = False

    def stop(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        if self.frozen:
            self.thaw()
        self.proc.terminate()
        try:
            self.proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=10)


class Postgres:
    """A throwaway cluster (or TEST_DATABASE_URL's server, which the soak cannot restart)."""

    def __init__(self) -> None:
        self.cluster: Cluster | None = None
        self.admin = os.environ.get("TEST_DATABASE_URL") or ""
        if not self.admin:
            self.cluster = Cluster()
            self.admin = self.cluster.start()

    def database(self, prefix: str) -> str:
        return create_database(self.admin, prefix)

    @property
    def restartable(self) -> bool:
        return self.cluster is not None

    def restart(self) -> None:
        assert self.cluster is not None
        self.cluster.restart()

    def terminate_backends(self, database_url: str) -> int:
        """pg_terminate_backend every other session on the bots' database."""
        name = database_url.rsplit("/", 1)[1]
        with psycopg.connect(self.admin, autocommit=True) as conn:
            rows = conn.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                " WHERE datname = %s AND pid <> pg_backend_pid()",
                (name,),
            ).fetchall()
        return sum(1 for (done,) in rows if done)

    def stop(self, *, keep_log_in: Path | None = None) -> None:
        if self.cluster is None:
            return
        log = self.cluster.root / "log"
        if keep_log_in is not None and log.exists():
            # PostgreSQL's own account (deadlocks, terminated sessions) outlives the throwaway cluster.
            shutil.copy(log, keep_log_in / "postgresql.log")
        self.cluster.stop()


@contextmanager
def connect(database_url: str) -> Iterator[psycopg.Connection[tuple[Any, ...]]]:
    with psycopg.connect(database_url, autocommit=True, connect_timeout=5) as conn:
        yield conn


def lease_holder_pid(database_url: str) -> int | None:
    """The pid in the outbox lease's holder (host:pid:nonce), if the schema still has it."""
    try:
        with connect(database_url) as conn:
            row = conn.execute("SELECT holder FROM leases WHERE name = 'outbox'").fetchone()
    except psycopg.Error:
        return None
    if row is None:
        return None
    parts = str(row[0]).rsplit(":", 2)
    return int(parts[1]) if len(parts) == 3 and parts[1].isdigit() else None
