"""Housekeeping as a recurring job: forget what no redelivery or restart can need any more."""

from __future__ import annotations

import logging
from collections.abc import Callable

from bot.jobs.scheduler import Handler, Recurring, Timer
from bot.store import Tx, queue, repo

log = logging.getLogger("opsbot.jobs")

KIND = "housekeeping"
KEEP_FOR = 7 * 24 * 3600.0  # Slack redelivers within minutes; a week is plenty
HOURLY = Recurring(kind=KIND, cron="17 * * * *")  # off the hour, away from everyone else's cron jobs

HOLD_FOR = 600.0  # a thread message no card claimed in ten minutes belongs to another thread


def prune(*, clock: Callable[[], float], keep_for: float = KEEP_FOR) -> Handler:
    """The handler: drop delivery keys and sent (or superseded) outbox items older than ``keep_for``,
    and the finished diagnostics records of incidents resolved between two and one ``keep_for`` ago
    (a bounded window, so each run reads only what it deletes; a reopened incident writes its record
    again)."""

    async def handle(tx: Tx, timer: Timer) -> None:
        before = clock() - keep_for
        keys = await repo.forget_deliveries(tx, before=before)
        items = await queue.forget_sent(tx, before=before)
        await queue.forget_held_messages(tx, before=clock() - HOLD_FOR)
        diags = await repo.forget_finished_diagnostics(
            tx, resolved_from=before - keep_for, resolved_before=before
        )
        if keys or items or diags:
            log.info(
                "housekeeping: forgot %d delivery key(s), %d sent outbox item(s), %d diagnostics record(s)",
                keys,
                items,
                diags,
            )

    return handle
