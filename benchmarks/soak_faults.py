"""The soak's faults, on a schedule scaled to the run's length (the issue's mix for 8 minutes):
SIGKILL every 20-40 s (restarted a second later, as a supervisor would), one 20 s SIGSTOP of the
outbox lease holder, a PostgreSQL restart, killed backends, Socket Mode hang-ups, and for one
minute 10% of Slack calls answered 429, 500, 5-12 s late, or processed and then answered badly.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from benchmarks.soak_procs import Bot, Postgres, Sim, lease_holder_pid

log = logging.getLogger("soak")
CHAOS = {"fraction": 0.1, "slow": [5, 12], "retry_after": 1}


@dataclass
class Faults:
    """Runs the schedule; ``happened`` lists what was done when (seconds since the start)."""

    bots: list[Bot]
    sim: Sim
    pg: Postgres
    databases: list[str]
    duration: float
    seed: int = 16
    happened: list[tuple[float, str]] = field(default_factory=list)
    started: float = field(default_factory=time.monotonic)

    def say(self, what: str) -> None:
        at = time.monotonic() - self.started
        self.happened.append((round(at, 1), what))
        log.warning("soak %6.1fs: %s", at, what)

    async def _at(self, share: float, what: Callable[[], Awaitable[None]]) -> None:
        await asyncio.sleep(max(0.0, self.started + share * self.duration - time.monotonic()))
        try:
            await what()
        except Exception as exc:  # one fault going wrong must not stop the others
            self.say(f"fault failed: {exc!r}")

    async def run(self) -> None:
        """Every fault, each on its own clock, until the last tenth of the run (left quiet)."""
        plan = [
            self._killer(),
            self._at(0.15, self.kill_backends),
            self._at(0.25, self.freeze_leader),
            self._at(0.35, lambda: self.drop_socket(abort=False)),
            self._at(0.45, self.restart_postgres),
            self._at(0.5, self.slow_slack),
            self._at(0.6, self.kill_backends),
            self._at(0.7, lambda: self.drop_socket(abort=True)),
            self._at(0.8, self.kill_backends),
        ]
        await asyncio.gather(*plan)

    async def _killer(self) -> None:
        rng = random.Random(self.seed)
        while True:
            await asyncio.sleep(rng.uniform(20, 40))
            if time.monotonic() - self.started > 0.9 * self.duration:
                return
            alive = [b for b in self.bots if b.up and not b.frozen]
            if not alive:
                continue
            bot = rng.choices(alive, weights=[2 if b.mode == "serve" else 1 for b in alive])[0]
            await asyncio.to_thread(bot.kill)
            self.say(f"SIGKILL {bot.name}")
            await asyncio.sleep(1.0)
            await self.restart(bot)

    async def restart(self, bot: Bot) -> None:
        """Start ``bot`` again; if the store is down just then, retry as a supervisor would."""
        for attempt in range(30):
            try:
                await asyncio.to_thread(bot.start)
            except RuntimeError as exc:
                self.say(f"{bot.name} failed to start ({exc}); again in 2s")
                await asyncio.sleep(2.0)
                continue
            self.say(f"restarted {bot.name}" + (f" (attempt {attempt + 1})" if attempt else ""))
            return

    async def freeze_leader(self) -> None:
        serve = [b for b in self.bots if b.mode == "serve" and b.up]
        pid = lease_holder_pid(self.databases[0])
        bot = next((b for b in serve if b.pid == pid), serve[0] if serve else None)
        if bot is None:
            return
        seconds = min(20.0, 0.1 * self.duration)
        bot.freeze()
        self.say(f"SIGSTOP {bot.name} ({'the lease holder' if bot.pid == pid else 'holder unknown'})")
        try:
            await asyncio.sleep(seconds)
        finally:
            bot.thaw()
        self.say(f"SIGCONT {bot.name} after {seconds:g}s")

    async def kill_backends(self) -> None:
        killed = 0
        for url in self.databases:
            killed += await asyncio.to_thread(self.pg.terminate_backends, url)
        self.say(f"pg_terminate_backend: {killed} session(s)")

    async def restart_postgres(self) -> None:
        if not self.pg.restartable:
            self.say("PostgreSQL restart skipped (TEST_DATABASE_URL's server is not ours)")
            return
        started = time.monotonic()
        await asyncio.to_thread(self.pg.restart)
        self.say(f"PostgreSQL restarted ({time.monotonic() - started:.1f}s down)")

    async def drop_socket(self, *, abort: bool) -> None:
        answer = await asyncio.to_thread(self.sim.post, "/_sim/socket/drop", {"abort": abort})
        self.say(f"Socket Mode connections {'cut' if abort else 'closed'}: {answer.get('dropped')}")

    async def slow_slack(self) -> None:
        seconds = min(60.0, 0.125 * self.duration)
        await asyncio.to_thread(self.sim.post, "/_sim/chaos", {**CHAOS, "seed": self.seed})
        self.say(f"Slack: 10% of calls 429/500/slow/fail-after for {seconds:g}s")
        try:
            await asyncio.sleep(seconds)
        finally:
            answer = await asyncio.to_thread(self.sim.http.delete, "/_sim/chaos")
            self.say(f"Slack calm again; chaos hit {answer.json().get('counts')}")

    async def calm(self) -> None:
        """Undo whatever is still in force (a cancelled run): thaw, calm Slack."""
        for bot in self.bots:
            if bot.frozen:
                bot.thaw()
        with contextlib.suppress(Exception):
            await asyncio.to_thread(self.sim.http.delete, "/_sim/chaos")
