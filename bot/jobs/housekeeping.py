"""Housekeeping as a recurring job: forget what no redelivery or restart can need any more."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass

from bot.jobs.scheduler import Handler, Recurring, Timer
from bot.store import Tx, queue, repo, retention

log = logging.getLogger("opsbot.jobs")

KIND = "housekeeping"
KEEP_FOR = 7 * 24 * 3600.0  # Slack redelivers within minutes; a week is plenty
HOURLY = Recurring(kind=KIND, cron="17 * * * *")  # off the hour, away from everyone else's cron jobs

HOLD_FOR = 600.0  # a thread message no card claimed in ten minutes belongs to another thread


@dataclass(frozen=True)
class IncidentRecord:
    """How long resolved incidents are kept (None: for ever), and the Slack refs and small values that
    belong to one (their forms are owned elsewhere: the runtime names them)."""

    keep_days: float | None = None
    refs: Callable[[int], Sequence[str]] = lambda number: ()
    keys: Callable[[int], Sequence[str]] = lambda number: ()
    diagnostics: Callable[[int], Sequence[str]] = lambda number: ()  # its diagnostics records' keys
    # Told of each firing alert unlinked from a forgotten incident (its message names the incident).
    alert_unlinked: Callable[[Tx, int, float], Awaitable[None]] | None = None


async def forget_incidents(tx: Tx, record: IncidentRecord, *, now: float) -> int:
    """One batch of resolved incidents older than the record's ``keep_days``, deleted whole."""
    if record.keep_days is None:
        return 0
    numbers = await retention.old_resolved_incidents(tx, before=now - record.keep_days * 86400.0)
    refs = [ref for n in numbers for ref in record.refs(n)]
    keys = [key for n in numbers for key in record.keys(n)]
    runs = [key for n in numbers for key in record.diagnostics(n)]
    done = await retention.forget_incidents(tx, numbers, refs=refs, keys=keys, diagnostics=runs)
    if record.alert_unlinked is not None:
        for alert_id in done.unlinked_alerts:
            await record.alert_unlinked(tx, alert_id, now)
    return done.incidents


def prune(
    *, clock: Callable[[], float], keep_for: float = KEEP_FOR, incidents: IncidentRecord | None = None
) -> Handler:
    """The handler: drop delivery keys and sent (or superseded) outbox items older than ``keep_for``,
    and the finished diagnostics records of incidents resolved between two and one ``keep_for`` ago
    (a bounded window, so each run reads only what it deletes; a reopened incident writes its record
    again), resolved and dismissed alerts older than ``keep_for``, and with ``incidents`` one batch of
    old resolved incidents."""

    async def handle(tx: Tx, timer: Timer) -> None:
        before = clock() - keep_for
        keys = await repo.forget_deliveries(tx, before=before)
        items = await queue.forget_sent(tx, before=before)
        await queue.forget_held_messages(tx, before=clock() - HOLD_FOR)
        record = incidents or IncidentRecord()
        resolved = await repo.resolved_between(tx, start=before - keep_for, end=before)
        keys_of = [key for number in resolved for key in record.diagnostics(number)]
        diags = await repo.forget_finished_diagnostics(tx, keys_of)
        alerts = await retention.forget_alerts(tx, before=before)
        gone = await forget_incidents(tx, record, now=clock())
        if keys or items or diags or alerts or gone:
            log.info(
                "housekeeping: forgot %d delivery key(s), %d sent outbox item(s), %d diagnostics record(s),"
                " %d alert(s), %d resolved incident(s)",
                keys,
                items,
                diags,
                alerts,
                gone,
            )

    return handle
