"""What the last run of opsbot did at its end: a clean stop is recorded, so the next start can say so."""

from __future__ import annotations

import json
import logging
import os
import socket
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass

from bot.logs import iso
from bot.store import Store, Tx, repo

log = logging.getLogger("opsbot.lifecycle")

KEY = "process:lifecycle"
SINGLE = "serve"  # one `opsbot serve`; each worker of `serve --workers N` and `opsbot socket` is its own


def instance_name(mode: str, *, worker: int | None = None, environ: Mapping[str, str] = os.environ) -> str:
    """This process's stable name among those sharing the store: ``serve``, ``serve-2`` (a worker),
    ``socket``; on a platform that names its processes (Heroku's ``DYNO``: ``web.1``), with that name,
    so two hosts do not take each other for a crash. Stable across restarts, so the names stay few."""
    name = f"{mode}-{worker}" if worker is not None else mode
    dyno = environ.get("DYNO", "").strip()
    return f"{name}@{dyno}" if dyno else name


def key(instance: str) -> str:
    """The store key of one instance's record: a restarted worker finds its own previous run, and
    workers or a Socket Mode process sharing the store do not take each other for a crash."""
    return KEY if instance == SINGLE else f"{KEY}:{instance}"


def _me() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


async def record_start(store: Store, *, now: float, instance: str = SINGLE) -> None:
    """Log how ``instance``'s previous run ended, then mark this one running."""

    async def swap(tx: Tx) -> str | None:
        before = await repo.get_value(tx, key(instance))
        await repo.set_value(tx, key(instance), json.dumps({"state": "running", "by": _me(), "at": now}))
        return before

    before = await store.run(swap)
    last = json.loads(before) if before else None
    if last is None:
        log.info("opsbot: first start on this store")
    elif last.get("state") == "stopped":
        log.info("opsbot: the previous run (%s) stopped cleanly at %s", last["by"], iso(float(last["at"])))
    else:
        log.warning(
            "opsbot: the previous run (%s, started %s) recorded no clean stop: it was killed or crashed, "
            "or another instance shares this store",
            last.get("by"),
            iso(float(last["at"])),
        )


async def record_stop(store: Store, *, now: float, instance: str = SINGLE) -> None:
    """Mark a clean stop (after delivery has drained and the lease is released)."""
    async with store.transaction() as tx:
        await repo.set_value(tx, key(instance), json.dumps({"state": "stopped", "by": _me(), "at": now}))
    log.info("opsbot: stopped cleanly")


@dataclass
class Stopping:
    """How this run is ending, read by the stop recorder that runs just before the store closes."""

    instance: str = SINGLE
    clean: bool = False


def stop_recorder(
    store: Store, stopping: Stopping, clock: Callable[[], float]
) -> Callable[[], Awaitable[None]]:
    """What the runtime's exit stack calls just before the store closes: record a clean stop, if it is one."""

    async def record() -> None:
        if stopping.clean:
            try:
                await record_stop(store, now=clock(), instance=stopping.instance)
            except Exception:  # a failed record only means the next start cannot call it clean
                log.warning("could not record the clean stop", exc_info=True)

    return record
