"""``opsbot serve --workers N``: N serving processes on one port, under a parent that supervises them.

Each worker is a whole ``opsbot serve`` (its own event loop, store connections and outbox) that binds
the port with SO_REUSEPORT, so the kernel spreads new connections over the workers. They share the
store like separate instances do: any of them answers any request, the outbox lease makes one of them
the deliverer, and timers fire once. The parent serves nothing: it migrates the store once, starts the
workers, starts another when one dies, and on SIGTERM or SIGINT passes SIGTERM on to each, so every
worker stops gracefully as a lone ``opsbot serve`` does, and waits for them.
"""

from __future__ import annotations

import logging
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from types import FrameType

log = logging.getLogger("opsbot.workers")

# A worker that exits sooner than this after its start failed to start (bad settings, the port taken,
# the store unreachable): starting it again would fail the same way, so the parent stops instead.
SETTLE_S = 10.0
RESTART_DELAY_S = 1.0


def worker_command(number: int, count: int) -> list[str]:
    """The command line of worker ``number`` (1-based) of ``count``: ``opsbot serve`` as a worker."""
    return [sys.executable, "-m", "bot", "serve", "--worker", f"{number}/{count}"]


def parse_worker(text: str) -> tuple[int, int]:
    """``"2/4"`` -> (2, 4); raises ValueError for anything else."""
    number, _, count = text.partition("/")
    parsed = int(number), int(count)
    if not 1 <= parsed[0] <= parsed[1]:
        raise ValueError(f"not a worker of a pool: {text!r}")
    return parsed


@dataclass
class _Worker:
    number: int
    proc: subprocess.Popen[bytes]
    started: float


class Supervisor:
    """Starts ``count`` workers, keeps them running, and stops them all on SIGTERM or SIGINT."""

    def __init__(
        self,
        *,
        count: int,
        stop_within: float,
        command: Callable[[int, int], Sequence[str]] = worker_command,
        settle: float = SETTLE_S,
        poll: float = 0.2,
    ) -> None:
        self.count = count
        self.stop_within = stop_within
        self._command = command
        self._settle = settle
        self._poll = poll
        self._stopping = False
        self._workers: dict[int, _Worker] = {}

    def _spawn(self, number: int) -> _Worker:
        # Workers inherit the environment, stdout and stderr: their logs go where the parent's go.
        # The command is this interpreter running opsbot itself (worker_command), never outside input.
        proc = subprocess.Popen(list(self._command(number, self.count)))  # noqa: S603
        log.info("opsbot: worker %d of %d started (pid %d)", number, self.count, proc.pid)
        return _Worker(number, proc, time.monotonic())

    def _on_signal(self, signum: int, frame: FrameType | None) -> None:
        self.stop()

    def stop(self) -> None:
        """Stop every worker and return from ``run`` (what SIGTERM and SIGINT do)."""
        self._stopping = True

    def run(self) -> int:
        """Supervise until a signal (exit 0 once every worker has stopped) or a failed start (its code)."""
        previous = {sig: signal.signal(sig, self._on_signal) for sig in (signal.SIGTERM, signal.SIGINT)}
        status = 0
        try:
            for number in range(1, self.count + 1):
                self._workers[number] = self._spawn(number)
            while not self._stopping:
                time.sleep(self._poll)
                status = self._reap()
                if status:
                    break
        finally:
            self._stop_all()
            for sig, handler in previous.items():
                signal.signal(sig, handler)
        return status

    def _reap(self) -> int:
        """Start another worker for each one that died; a non-zero status when one failed to start."""
        for number, worker in list(self._workers.items()):
            code = worker.proc.poll()
            if code is None or self._stopping:
                continue
            if time.monotonic() - worker.started < self._settle:
                log.error(
                    "opsbot: worker %d exited with %d during start-up; stopping the others", number, code
                )
                return code or 1
            log.warning(
                "opsbot: worker %d (pid %d) exited with %d; starting another", number, worker.proc.pid, code
            )
            time.sleep(RESTART_DELAY_S)
            self._workers[number] = self._spawn(number)
        return 0

    def _stop_all(self) -> None:
        """SIGTERM to every worker (each stops gracefully on its own); SIGKILL to any that outlives
        ``stop_within``."""
        log.info("opsbot: stopping %d worker(s)", len(self._workers))
        for worker in self._workers.values():
            if worker.proc.poll() is None:
                worker.proc.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + self.stop_within
        for worker in self._workers.values():
            try:
                worker.proc.wait(timeout=max(0.0, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                log.error(
                    "opsbot: worker %d did not stop within %.0f s; killed", worker.number, self.stop_within
                )
                worker.proc.kill()
                worker.proc.wait()
