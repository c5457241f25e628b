"""A throwaway PostgreSQL cluster from the machine's server binaries, for tests and benchmarks."""

from __future__ import annotations

import contextlib
import glob
import os
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path


def _bindir() -> Path:
    found = shutil.which("pg_ctl")
    if found:
        return Path(os.path.realpath(found)).parent
    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"))
    if not candidates:
        raise RuntimeError("no PostgreSQL server binaries (pg_ctl) found; set TEST_DATABASE_URL")
    return Path(candidates[-1]).parent


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Cluster:
    """initdb + pg_ctl in a temporary folder; as root, it runs as the unprivileged user 'nobody'."""

    def __init__(self) -> None:
        self.bindir = _bindir()
        self.root = Path(tempfile.mkdtemp(prefix="opsbot-pg-"))
        self.data = self.root / "data"
        self.port = _free_port()
        self.as_root = os.geteuid() == 0
        self.preload = (self.bindir.parent / "lib" / "pg_stat_statements.so").exists()

    def _run(self, *args: str) -> None:
        cmd = [str(self.bindir / args[0]), *args[1:]]
        if self.as_root:
            cmd = ["runuser", "-u", "nobody", "--", *cmd]
        subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, cwd=self.root)

    def start(self) -> str:
        if self.as_root:
            os.chmod(self.root, 0o755)
            shutil.chown(self.root, "nobody")
        self._run("initdb", "-D", str(self.data), "-U", "postgres", "-A", "trust", "--no-sync", "-E", "UTF8")
        opts = [
            f"port = {self.port}",
            "listen_addresses = '127.0.0.1'",
            f"unix_socket_directories = '{self.root}'",
            "fsync = off",
            "synchronous_commit = off",
            "full_page_writes = off",
            "max_connections = 200",
        ]
        if self.preload:
            opts += ["shared_preload_libraries = 'pg_stat_statements'", "pg_stat_statements.track = all"]
        with open(self.data / "postgresql.conf", "a") as conf:
            conf.write("\n".join(opts) + "\n")
        self._run("pg_ctl", "-D", str(self.data), "-l", str(self.root / "log"), "-w", "-t", "60", "start")
        return self.url("postgres")

    def restart(self) -> None:
        """Stop the server (fast: connections cut) and start it again on the same port and data."""
        self._run(
            "pg_ctl",
            "-D",
            str(self.data),
            "-l",
            str(self.root / "log"),
            "-m",
            "fast",
            "-w",
            "-t",
            "60",
            "restart",
        )

    def url(self, dbname: str) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{dbname}"

    def stop(self) -> None:
        with contextlib.suppress(Exception):
            self._run("pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "stop")
        shutil.rmtree(self.root, ignore_errors=True)


@contextlib.contextmanager
def running_cluster() -> Iterator[str]:
    """The admin URL of a PostgreSQL server: TEST_DATABASE_URL, or a throwaway cluster."""
    env_url = os.environ.get("TEST_DATABASE_URL")
    if env_url:
        yield env_url
        return
    cluster = Cluster()
    try:
        yield cluster.start()
    finally:
        cluster.stop()


def create_database(admin_url: str, prefix: str = "t") -> str:
    """A fresh empty database on the server; returns its URL."""
    import psycopg

    name = f"{prefix}_{os.getpid()}_{time.monotonic_ns()}"
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}" TEMPLATE template0')
    base, _, _ = admin_url.rpartition("/")
    return f"{base}/{name}"
