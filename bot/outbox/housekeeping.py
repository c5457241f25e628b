"""Forgetting what no redelivery or restart can need any more (a chore of the delivery lease holder)."""

from __future__ import annotations

import logging
from collections.abc import Callable

from bot.store import Store, queue, repo

log = logging.getLogger("bot.outbox")

KEEP_FOR = 7 * 24 * 3600.0  # Slack redelivers within minutes; a week is plenty
HOLD_FOR = 600.0  # a thread message no card claimed in ten minutes belongs to another thread


async def forget_old(store: Store, clock: Callable[[], float]) -> None:
    """Old delivery keys, sent items, and held thread messages nobody claimed."""
    now = clock()
    async with store.transaction() as tx:
        keys = await repo.forget_deliveries(tx, before=now - KEEP_FOR)
        items = await queue.forget_sent(tx, before=now - KEEP_FOR)
        held = await queue.forget_held_messages(tx, before=now - HOLD_FOR)
    if keys or items or held:
        log.info(
            "outbox: forgot %d delivery key(s), %d sent item(s) older than a week, %d unclaimed thread"
            " message(s)",
            keys,
            items,
            held,
        )
