"""Requests Slack is waiting on come first: background work (the outbox) waits for a quiet moment."""

from __future__ import annotations

import asyncio
import contextlib


class Foreground:
    """Counts requests in flight; ``quiet()`` returns when there are none (or after ``at_most``)."""

    def __init__(self) -> None:
        self._busy = 0
        self._quiet = asyncio.Event()
        self._quiet.set()

    def enter(self) -> None:
        self._busy += 1
        self._quiet.clear()

    def leave(self) -> None:
        self._busy -= 1
        if self._busy <= 0:
            self._busy = 0
            self._quiet.set()

    async def quiet(self, at_most: float = 0.02) -> None:
        """Wait until no request is in flight, but never longer than ``at_most`` (no starvation)."""
        if self._quiet.is_set():
            return
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._quiet.wait(), timeout=at_most)
