"""The ports every use case receives: built once in ``bot.runtime``, passed down, never global."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable, Coroutine, Sequence
from dataclasses import InitVar, dataclass, field
from typing import TYPE_CHECKING, Any

from bot.access.security import SecurityChannel
from bot.incidents.events import Subscriber
from bot.incidents.routing import NoRouter, Router
from bot.settings import Settings
from bot.store import Store

if TYPE_CHECKING:
    from bot.access.directory import Directory
    from bot.outbox import Outbox
    from bot.probes.catalog import Catalog

log = logging.getLogger("opsbot.deps")


@dataclass
class Deps:
    settings: Settings
    store: Store
    outbox: Outbox
    catalog: Catalog
    directory: Directory  # who is a guest, who is in a user group (Slack, cached)
    clock: Callable[[], float] = time.time
    redact: Callable[[str], str] = str  # removes secrets from what people type, before it is stored
    router: Router = field(default_factory=NoRouter)  # titles to runbook scenarios
    subscribers: Sequence[Subscriber] = ()  # told what the incident core did, inside its transaction
    tasks: set[asyncio.Task[Any]] = field(default_factory=set)
    loop: asyncio.AbstractEventLoop | None = None  # the serving loop: the one Deps is built on
    # Whether the security channel is known private: the runtime's, checked with Slack; without one, an
    # unchecked channel (never known private, so confidential incidents show only their stub).
    security_channel: InitVar[SecurityChannel | None] = None
    security: SecurityChannel = field(init=False)

    def stop_delivery(self, cause: str) -> None:
        """Stop delivering (owed items stay in the store) until a restart with a working token."""
        self.outbox.stop_for(cause)

    @property
    def delivery_stopped(self) -> str | None:
        """Why delivery stopped for good (until a restart), if it did."""
        return self.outbox.health().stopped

    def __post_init__(self, security_channel: SecurityChannel | None) -> None:
        self.security = (
            security_channel
            if security_channel is not None
            else SecurityChannel(self.settings.security_channel)
        )
        if self.loop is None:
            with contextlib.suppress(RuntimeError):  # built outside a running loop: spawn_soon asks then
                self.loop = asyncio.get_running_loop()

    def spawn(self, work: Coroutine[Any, Any, Any], *, name: str) -> None:
        """Run slow work after the ack (diagnostics, reports), keeping a handle so it is not lost."""
        task = asyncio.create_task(work, name=name)
        self.tasks.add(task)
        task.add_done_callback(self._finished)

    def spawn_soon(self, work: Callable[[], Coroutine[Any, Any, Any]], *, name: str) -> None:
        """From inside a store transaction (a timer handler): start slow work on the serving loop.

        SQLite runs transaction bodies on its own thread and loop, so the work is handed over rather than
        started there. It may start before the transaction commits: it should first lock what the
        transaction changed (the incident's row), which waits for the commit."""
        loop = self.loop or asyncio.get_running_loop()
        loop.call_soon_threadsafe(lambda: self.spawn(work(), name=name))

    def _finished(self, task: asyncio.Task[Any]) -> None:
        self.tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            from bot.logs import report_unexpected

            report_unexpected(task.exception())  # type: ignore[arg-type]

    async def settle(self, within: float = 30.0) -> bool:
        """Wait for background work and then for the outbox to drain (console, tests)."""
        deadline = time.monotonic() + within
        while self.tasks and time.monotonic() < deadline:
            await asyncio.wait(set(self.tasks), timeout=max(0.01, deadline - time.monotonic()))
        return await self.outbox.wait_idle(within=max(0.5, deadline - time.monotonic()))

    async def cancel_background(self) -> None:
        for task in list(self.tasks):
            task.cancel()
        if self.tasks:
            await asyncio.wait(set(self.tasks), timeout=5)
