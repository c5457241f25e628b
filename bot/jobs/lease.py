"""A lease that dies with its holder, with a fencing token.

Leadership rests on a store lock the operating system or the database drops when the holder dies (see
``bot.store.locks``), never on process ids. Each time the lock changes hands the lease starts a new
*term*, a number that only grows and is kept in the store; everything the holder writes checks in the
same transaction that its term is still the current one (``check``), so a holder that lost the lease
without noticing (a dropped connection, a long pause) can no longer change what the next holder owns.
The holder also stops trusting itself when it has not confirmed its lock lately (``held``).

Confirming the lock uses the lock's own connection, never the store's pool: a pool exhausted by load
must not make a live holder doubt itself (and keep its lock while delivering nothing). On PostgreSQL the
server ends the lock's session once it has been idle ``ttl`` seconds, so a frozen holder loses the lock
to the other instances; it trusts itself only ``TRUST`` of that time after it last confirmed, so when it
wakes it knows it may have been replaced before it sends anything.
"""

from __future__ import annotations

import contextlib
import logging
import os
import socket
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass

from bot.errors import StoreUnavailable
from bot.store import Store, Tx, queue

log = logging.getLogger("opsbot.jobs.lease")

TRUST = 0.8  # share of ``ttl`` a confirmation is trusted for: short of when the server ends an idle lock


class LeaseLost(Exception):
    """This holder's term is over: whatever it was doing now belongs to the next holder."""


@dataclass(frozen=True)
class Term:
    """A term that has just started: its number and who held the lease before (a label, for logs)."""

    number: int
    previous_holder: str | None


def holder_label() -> str:
    """A name for this process in logs and in the store (host:pid:nonce); never used to decide anything."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


class Lease:
    """One named lease over ``store``: ``acquire`` (or renew), ``check`` inside fenced writes, ``release``."""

    def __init__(
        self,
        store: Store,
        name: str,
        *,
        ttl: float = 15.0,
        holder: str | None = None,
        clock: Callable[[], float] = time.time,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.store = store
        self.name = name
        self.ttl = ttl
        self.holder = holder or holder_label()
        self.clock = clock
        self.monotonic = monotonic
        self.term: int | None = None
        self._lock = store.session_lock(name, idle_timeout=ttl)
        self._confirmed_at = 0.0  # when the last confirmation was *asked* (earlier than answered)

    @property
    def held(self) -> bool:
        """True while this holder has a term and confirmed its lock lately (``TRUST`` of ``ttl``)."""
        return self.term is not None and self.monotonic() - self._confirmed_at < self.ttl * TRUST

    async def acquire(self) -> Term | None:
        """Take the lease if free, or renew it when due. Returns the Term when this call started one."""
        if self.term is not None:
            if self.monotonic() - self._confirmed_at >= self.ttl / 3:
                await self.renew()
            return None
        asked = self.monotonic()
        if not await self._lock.try_acquire():
            return None
        try:
            async with self.store.transaction() as tx:
                before = await queue.current_term(tx, self.name)
                number = await queue.next_term(tx, self.name, self.holder, at=self.clock())
        except BaseException:
            await self._lock.release()
            raise
        self.term = number
        self._confirmed_at = asked
        return Term(number, before[1] if before else None)

    async def renew(self) -> bool:
        """Confirm the lock still stands (on its own connection); False, and let go, when it does not.

        While the lock stands no other holder can have started a term, so an unreachable store (a full
        pool) takes nothing away; the store only records that the holder is alive, when it can."""
        term = self.term
        if term is None:
            return False
        asked = self.monotonic()
        if not await self._lock.alive():
            log.warning(
                "lease %s: term %d is over (lock lost: its connection ended or stopped answering); stopping",
                self.name,
                term,
            )
            await self._let_go()
            return False
        self._confirmed_at = asked
        try:
            async with self.store.transaction() as tx:
                current = await queue.beat(tx, self.name, term, at=self.clock())
        except StoreUnavailable as exc:
            log.info("lease %s: term %d confirmed by its lock; not recorded (%s)", self.name, term, exc)
            return True
        if not current:
            log.warning(
                "lease %s: term %d is over (another holder started a newer term); stopping", self.name, term
            )
            await self._let_go()
            return False
        return True

    async def check(self, tx: Tx) -> int:
        """Inside a fenced write: raise LeaseLost unless this holder's term is still the current one.

        On PostgreSQL the term row stays share-locked until ``tx`` ends, so no new term can start (and
        reset what this one claimed) between the check and the commit."""
        term = self.term
        if term is None or not self.held:
            raise LeaseLost(f"lease {self.name}: not held")
        current = await queue.current_term(tx, self.name, hold=True)
        if current is None or current[0] != term:
            raise LeaseLost(f"lease {self.name}: term {term} superseded by {current[0] if current else '?'}")
        return term

    async def lost(self) -> None:
        """Called when a fenced write found the term over: give up the lock."""
        await self._let_go()

    async def release(self) -> None:
        """Give the lease up (at shutdown), so another instance can take it at once."""
        await self._let_go()

    async def _let_go(self) -> None:
        self.term = None
        with contextlib.suppress(Exception):
            await self._lock.release()
