"""The outbox's queries, its lease terms and thread messages waiting for their card: written once for
SQLite and PostgreSQL. Every write a deliverer makes is fenced by its lease term (the ``term`` arguments):
a deliverer that lost the lease cannot change what the new holder owns."""

from __future__ import annotations

import functools
import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from bot.store import Row, Tx

# --- outbox ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class OutboxItem:
    id: int
    lane: str
    kind: str
    attempts: int
    next_attempt_at: float
    state: str
    coalesce_key: str | None = None
    created_at: float = 0.0
    in_doubt: bool = False  # an earlier attempt may have reached Slack
    raw: str = "{}"  # the payload as stored (JSON)

    @functools.cached_property
    def payload(self) -> dict[str, Any]:
        """The payload, decoded when first read: a round reads up to ``round_size`` rows to form its
        lanes but sends only the batches they allow. Raises ValueError if it is not a JSON object."""
        value = json.loads(self.raw)
        if not isinstance(value, dict):
            raise ValueError(f"outbox payload is not a JSON object: {self.raw[:80]!r}")
        return value


async def enqueue(
    tx: Tx,
    *,
    lane: str,
    kind: str,
    payload: dict[str, Any],
    at: float,
    coalesce_key: str | None = None,
    dedupe_key: str | None = None,
) -> bool:
    """Owe a message; a pending item with the same coalesce key is superseded (latest wins), and an item
    whose dedupe key was owed before is not owed again (returns False)."""
    if coalesce_key is not None:
        await tx.write(
            "UPDATE outbox SET state = 'superseded' WHERE coalesce_key = ? AND state = 'pending'",
            (coalesce_key,),
        )
    count = await tx.execute(
        "INSERT INTO outbox (lane, kind, payload, coalesce_key, dedupe_key, next_attempt_at, created_at)"
        " VALUES (?,?,?,?,?,?,?) ON CONFLICT DO NOTHING",
        (lane, kind, json.dumps(payload, separators=(",", ":")), coalesce_key, dedupe_key, at, at),
    )
    return count == 1


def _item(row: Row) -> OutboxItem:
    return OutboxItem(
        id=int(row["id"]),
        lane=row["lane"],
        kind=row["kind"],
        attempts=int(row["attempts"]),
        next_attempt_at=float(row["next_attempt_at"]),
        state=row["state"],
        created_at=float(row["created_at"]),
        in_doubt=int(row["attempts"]) > 0 or bool(row["last_error"]),
        coalesce_key=row["coalesce_key"],
        raw=row["payload"],
    )


async def undelivered(tx: Tx, *, limit: int = 500) -> list[OutboxItem]:
    """Items not yet delivered, oldest first (lanes are formed from these in order)."""
    rows = await tx.fetchall(
        "SELECT * FROM outbox WHERE state IN ('pending', 'sending') ORDER BY id LIMIT ?", (limit,)
    )
    return [_item(r) for r in rows]


async def mark_sending(tx: Tx, ids: list[int], *, term: int = 0) -> None:
    """Claim pending items for a delivery round in lease term ``term``: a crash from here on leaves them
    in doubt."""
    for start in range(0, len(ids), 500):
        chunk = ids[start : start + 500]
        await tx.write(
            f"UPDATE outbox SET state = 'sending', term = ? WHERE state = 'pending'"
            f" AND id IN ({','.join('?' * len(chunk))})",
            (term, *chunk),
        )


async def release_item(tx: Tx, item_id: int, *, term: int = 0) -> bool:
    """Back to pending, untried: its lane stopped before reaching it this round."""
    count = await tx.execute(
        "UPDATE outbox SET state = 'pending' WHERE id = ? AND state = 'sending' AND term = ?",
        (item_id, term),
    )
    return count == 1


async def mark_item(
    tx: Tx,
    item_id: int,
    *,
    state: str,
    at: float,
    error: str | None = None,
    retry_at: float | None = None,
    term: int = 0,
    late: bool = False,
) -> bool:
    """Record what became of an item this term claimed; False (nothing written) when the item is no longer
    this term's to settle: another deliverer took over, or it was settled already. ``late``: term
    ``term`` is over, but the item was sent in it; written while the new term has only put it back in
    doubt (not yet taken it up again)."""
    count = await mark_items(
        tx, [item_id], state=state, at=at, error=error, retry_at=retry_at, term=term, late=late
    )
    return count == 1


async def mark_items(
    tx: Tx,
    item_ids: Sequence[int],
    *,
    state: str,
    at: float,
    error: str | None = None,
    retry_at: float | None = None,
    term: int = 0,
    late: bool = False,
) -> int:
    """``mark_item`` for every item one message carried, in one statement per 500; how many were
    written (the others are no longer this term's to settle)."""
    written = 0
    for start in range(0, len(item_ids), 500):
        chunk = tuple(item_ids[start : start + 500])
        ids = f"id IN ({','.join('?' * len(chunk))})"
        if late:
            assert state == "sent"
            written += await tx.execute(
                f"UPDATE outbox SET state = 'sent', sent_at = ?, last_error = NULL WHERE {ids} AND"
                " (state = 'sending' AND term = ?"
                " OR state = 'pending' AND last_error = 'in doubt' AND term = ?)",
                (at, *chunk, term, term),
            )
        elif state == "pending":
            written += await tx.execute(
                "UPDATE outbox SET state = 'pending', attempts = attempts + 1, next_attempt_at = ?,"
                f" last_error = ? WHERE {ids} AND state = 'sending' AND term = ?",
                (retry_at if retry_at is not None else at, error, *chunk, term),
            )
        else:
            written += await tx.execute(
                f"UPDATE outbox SET state = ?, sent_at = ?, last_error = ? WHERE {ids}"
                " AND state = 'sending' AND term = ?",
                (state, at, error, *chunk, term),
            )
    return written


async def reset_in_doubt(
    tx: Tx, *, below_term: int, at: float, ids: list[int] | None = None, term: int | None = None
) -> int:
    """Items claimed in an earlier term (or, with ``ids`` and ``term``, these items of this term) go back
    to pending, marked as possibly sent, due at ``at``."""
    if ids is not None:
        if not ids:
            return 0
        marks = ",".join("?" * len(ids))
        return await tx.execute(
            "UPDATE outbox SET state = 'pending', last_error = 'in doubt', next_attempt_at = ?"
            f" WHERE state = 'sending' AND term = ? AND id IN ({marks})",
            (at, term, *ids),
        )
    return await tx.execute(
        "UPDATE outbox SET state = 'pending', last_error = 'in doubt', next_attempt_at = ?"
        " WHERE state = 'sending' AND (term IS NULL OR term < ?)",
        (at, below_term),
    )


async def outbox_counts(tx: Tx, *, states: Sequence[str] | None = None) -> dict[str, int]:
    """Items per state; with ``states``, only those are counted, in the index leading with state (so
    the delivered history is not read unless asked for: tests and the console ask)."""
    if states is None:
        rows = await tx.fetchall("SELECT state, count(*) AS n FROM outbox GROUP BY state")
    else:
        marks = ",".join("?" * len(states))
        rows = await tx.fetchall(
            f"SELECT state, count(*) AS n FROM outbox WHERE state IN ({marks}) GROUP BY state", tuple(states)
        )
    return {r["state"]: int(r["n"]) for r in rows}


async def undelivered_count(tx: Tx) -> int:
    """Items waiting or in flight: counted in an index leading with state (migration 90), so delivered
    history, however long, is never read."""
    row = await tx.fetchone("SELECT count(*) AS n FROM outbox WHERE state IN ('pending', 'sending')")
    return int(row["n"]) if row else 0


async def forget_sent(tx: Tx, before: float) -> int:
    """Drop delivered, superseded and withheld items older than ``before`` (failed ones stay, for
    inspection)."""
    return await tx.execute(
        "DELETE FROM outbox WHERE state IN ('sent', 'superseded', 'withheld') AND created_at < ?", (before,)
    )


# --- lease terms -----------------------------------------------------------------------------


async def next_term(tx: Tx, name: str, holder: str, *, at: float) -> int:
    """Start a new term of lease ``name`` for ``holder`` (whoever holds its lock): terms only grow."""
    await tx.write(
        "INSERT INTO leases (name, holder, expires_at, term) VALUES (?,?,?,1) ON CONFLICT (name) DO UPDATE"
        " SET holder = excluded.holder, expires_at = excluded.expires_at, term = leases.term + 1",
        (name, holder, at),
    )
    row = await tx.fetchone("SELECT term FROM leases WHERE name = ?", (name,))
    assert row is not None
    return int(row["term"])


async def current_term(tx: Tx, name: str, *, hold: bool = False) -> tuple[int, str] | None:
    """The lease's current term and holder. ``hold`` keeps a new term from starting until this
    transaction ends (PostgreSQL row lock; SQLite transactions already exclude each other)."""
    lock = " FOR SHARE" if hold and tx.dialect == "postgres" else ""
    row = await tx.fetchone(f"SELECT term, holder FROM leases WHERE name = ?{lock}", (name,))
    return (int(row["term"]), str(row["holder"])) if row else None


async def beat(tx: Tx, name: str, term: int, *, at: float) -> bool:
    """Note that the holder of ``term`` is alive at ``at``; False when the term is over."""
    count = await tx.execute("UPDATE leases SET expires_at = ? WHERE name = ? AND term = ?", (at, name, term))
    return count == 1


# --- thread messages that arrived before their card's ts was recorded ------------------------


async def lock_thread(tx: Tx, *, channel: str, thread_ts: str) -> None:
    """Serialise, until ``tx`` ends, the transactions that hold a thread's messages and the one that
    records its card's ts: otherwise (PostgreSQL, read committed) a message held while the card's ts is
    being recorded is missed by both. SQLite transactions already exclude each other."""
    if tx.dialect == "postgres":
        await tx.execute(
            "SELECT pg_advisory_xact_lock(hashtextextended(?, 0))", (f"thread:{channel}:{thread_ts}",)
        )


async def hold_message(
    tx: Tx, *, channel: str, thread_ts: str, ts: str, actor: str, text: str, at: float
) -> None:
    """Keep a thread message whose thread is not (yet) known; matched when a card's ts lands."""
    await tx.write(
        "INSERT INTO unmatched_messages (channel, thread_ts, ts, actor, text, received_at)"
        " VALUES (?,?,?,?,?,?) ON CONFLICT DO NOTHING",
        (channel, thread_ts, ts, actor, text, at),
    )


async def take_held_messages(tx: Tx, *, channel: str, thread_ts: str) -> list[Row]:
    """Remove and return the held messages of one thread, oldest first."""
    rows = await tx.fetchall(
        "SELECT ts, actor, text FROM unmatched_messages WHERE channel = ? AND thread_ts = ? ORDER BY ts",
        (channel, thread_ts),
    )
    if rows:
        await tx.write(
            "DELETE FROM unmatched_messages WHERE channel = ? AND thread_ts = ?", (channel, thread_ts)
        )
    return rows


async def forget_held_messages(tx: Tx, *, before: float) -> int:
    """Held messages no card claimed in time belonged to other threads: drop them."""
    return await tx.execute("DELETE FROM unmatched_messages WHERE received_at < ?", (before,))
