"""What retention forgets: old alerts (``retention_days``) and, when ``incident_retention_days`` is set,
old resolved incidents with everything that hangs off them. Each call deletes one bounded batch, found
through an index (tests/store/test_plans.py), so an hourly run never reads the history it keeps.

Kept on purpose: the remediation audit (``action_audit``: who changed production, and how, outlives the
incident record; it is small and has its own index) and the incident counter (numbers are never reused).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from bot.store import Tx

ALERT_BATCH = 500
INCIDENT_BATCH = 50  # an incident may carry thousands of timeline events: fewer per run


def _marks(values: Sequence[object]) -> str:
    return ",".join("?" * len(values))


async def forget_alerts(tx: Tx, *, before: float, limit: int = ALERT_BATCH) -> int:
    """Delete up to ``limit`` resolved alerts resolved before ``before`` and as many dismissed ones last
    seen before it, with their Slack message refs. Returns how many alerts were deleted."""
    # The literal predicates match the partial indexes' own (migration 120).
    resolved = await tx.fetchall(
        "SELECT id FROM alerts WHERE status = 'resolved' AND resolved_at < ? ORDER BY resolved_at LIMIT ?",
        (before, limit),
    )
    dismissed = await tx.fetchall(
        "SELECT id FROM alerts WHERE dismissed_by IS NOT NULL AND last_seen < ? ORDER BY last_seen LIMIT ?",
        (before, limit),
    )
    ids = sorted({int(r["id"]) for r in [*resolved, *dismissed]})
    return await _delete_alerts(tx, ids)


async def _delete_alerts(tx: Tx, ids: Sequence[int]) -> int:
    if not ids:
        return 0
    refs = [f"alert:{i}" for i in ids]  # bot.slack.ids.alert_ref's form
    await tx.execute(f"DELETE FROM slack_refs WHERE ref IN ({_marks(refs)})", tuple(refs))
    return await tx.execute(f"DELETE FROM alerts WHERE id IN ({_marks(ids)})", tuple(ids))


async def old_resolved_incidents(tx: Tx, *, before: float, limit: int = INCIDENT_BATCH) -> list[int]:
    """Up to ``limit`` incidents resolved before ``before`` (and still resolved), oldest first, locked
    until the caller's transaction ends: one being reopened right now is skipped, not deleted under it
    (PostgreSQL; SQLite's writers take turns)."""
    lock = " FOR UPDATE SKIP LOCKED" if tx.dialect == "postgres" else ""
    rows = await tx.fetchall(
        "SELECT number FROM incidents WHERE resolved_at < ? AND status = 'resolved'"
        f" ORDER BY resolved_at LIMIT ?{lock}",
        (before, limit),
    )
    return [int(r["number"]) for r in rows]


@dataclass(frozen=True)
class Forgotten:
    """What one batch of incident retention did: incidents deleted, and the firing alerts it unlinked
    (their messages still say which incident they were linked to)."""

    incidents: int = 0
    unlinked_alerts: tuple[int, ...] = ()


async def forget_incidents(
    tx: Tx,
    numbers: Sequence[int],
    *,
    refs: Sequence[str],
    keys: Sequence[str],
    diagnostics: Sequence[str] = (),
) -> Forgotten:
    """Delete incidents ``numbers`` and what hangs off them: timeline, checklist, finished alerts linked
    to them (and their refs; firing ones are only unlinked), timers, publications (drafts, updates,
    the public record), the Slack refs ``refs``, the small values ``keys`` and the diagnostics runs
    ``diagnostics`` the caller names for them."""
    if not numbers:
        return Forgotten()
    nums = tuple(numbers)
    marks = _marks(nums)
    await tx.execute(f"DELETE FROM timeline WHERE incident IN ({marks})", nums)
    await tx.execute(f"DELETE FROM checklist WHERE incident IN ({marks})", nums)
    # An alert still firing outlives the incident it was attached to (unlinked, its message kept, so its
    # next repeat edits that message rather than posting anew); a finished one goes with the incident.
    linked = await tx.fetchall(
        f"SELECT id FROM alerts WHERE incident IN ({marks})"
        " AND (status = 'resolved' OR dismissed_by IS NOT NULL)",
        nums,
    )
    await _delete_alerts(tx, [int(r["id"]) for r in linked])
    unlinked = await tx.fetchall(
        f"UPDATE alerts SET incident = NULL WHERE incident IN ({marks}) RETURNING id", nums
    )
    subjects = tuple(f"INC-{n}" for n in nums)  # bot.clock.rules.subject's form
    await tx.execute(f"DELETE FROM timers WHERE subject IN ({_marks(subjects)})", subjects)
    for table in ("publications", "publication_drafts", "public_incidents"):
        await tx.execute(f"DELETE FROM {table} WHERE incident IN ({marks})", nums)
    if refs:
        await tx.execute(f"DELETE FROM slack_refs WHERE ref IN ({_marks(refs)})", tuple(refs))
    if keys:
        await tx.execute(f"DELETE FROM kv WHERE key IN ({_marks(keys)})", tuple(keys))
    if diagnostics:
        await tx.execute(
            f"DELETE FROM diagnostic_runs WHERE key IN ({_marks(diagnostics)})", tuple(diagnostics)
        )
    gone = await tx.execute(f"DELETE FROM incidents WHERE number IN ({marks})", nums)
    return Forgotten(gone, tuple(sorted(int(r["id"]) for r in unlinked)))
