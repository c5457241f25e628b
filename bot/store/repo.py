"""Every query opsbot runs against its own store, written once for SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from bot.incidents.model import Incident, Severity, Status, TimelineKind
from bot.store import Row, Tx
from bot.store.checklist import checked_items as checked_items
from bot.store.checklist import clear_checks as clear_checks
from bot.store.checklist import set_check as set_check

_STATUS_COLUMNS = {s.value: f"{s.value}_at" for s in Status}


# --- incidents -------------------------------------------------------------------------------


async def next_incident_number(tx: Tx) -> int:
    row = await tx.fetchone("UPDATE counters SET value = value + 1 WHERE name = 'incident' RETURNING value")
    assert row is not None, "migrations not applied"
    return int(row["value"])


async def insert_incident(tx: Tx, inc: Incident) -> None:
    await tx.write(
        "INSERT INTO incidents (number, title, severity, status, scenario, commander, declared_by, impact,"
        " eta, latest_update, card_channel, card_ts, version, created_at, updated_at, investigating_at,"
        " identified_at, monitoring_at, resolved_at, acknowledged_by, acknowledged_at, escalation_level,"
        " restricted)"
        " VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
        _incident_params(inc),
    )


async def update_incident(tx: Tx, inc: Incident) -> None:
    """Write every field of ``inc`` (whose number exists)."""
    params = _incident_params(inc)
    await tx.write(
        "UPDATE incidents SET title=?, severity=?, status=?, scenario=?, commander=?, declared_by=?,"
        " impact=?, eta=?, latest_update=?, card_channel=?, card_ts=?, version=?, created_at=?,"
        " updated_at=?, investigating_at=?, identified_at=?, monitoring_at=?, resolved_at=?,"
        " acknowledged_by=?, acknowledged_at=?, escalation_level=?, restricted=? WHERE number = ?",
        (*params[1:], inc.number),
    )


def _incident_params(inc: Incident) -> tuple[Any, ...]:
    times = inc.status_times
    return (
        inc.number,
        inc.title,
        inc.severity.value,
        inc.status.value,
        inc.scenario,
        inc.commander,
        inc.declared_by,
        inc.impact,
        inc.eta,
        inc.latest_update,
        inc.card_channel,
        inc.card_ts,
        inc.version,
        inc.created_at,
        inc.updated_at,
        *(times.get(s.value) for s in Status),
        inc.acknowledged_by,
        inc.acknowledged_at,
        inc.escalation_level,
        int(inc.restricted),
    )


def _incident(row: Row) -> Incident:
    times = {s: float(row[col]) for s, col in _STATUS_COLUMNS.items() if row[col] is not None}
    return Incident(
        number=int(row["number"]),
        title=row["title"],
        severity=Severity(row["severity"]),
        status=Status(row["status"]),
        scenario=row["scenario"],
        commander=row["commander"],
        declared_by=row["declared_by"],
        impact=row["impact"],
        eta=row["eta"],
        latest_update=row["latest_update"],
        card_channel=row["card_channel"],
        card_ts=row["card_ts"],
        version=int(row["version"]),
        created_at=float(row["created_at"]),
        updated_at=float(row["updated_at"]),
        status_times=times,
        acknowledged_by=row["acknowledged_by"],
        acknowledged_at=None if row["acknowledged_at"] is None else float(row["acknowledged_at"]),
        escalation_level=int(row["escalation_level"]),
        restricted=bool(row["restricted"]),
    )


async def get_incident(tx: Tx, number: int, *, for_update: bool = False) -> Incident | None:
    lock = " FOR UPDATE" if for_update and tx.dialect == "postgres" else ""
    row = await tx.fetchone(f"SELECT * FROM incidents WHERE number = ?{lock}", (number,))
    return _incident(row) if row else None


async def incident_by_card(tx: Tx, channel: str, ts: str) -> Incident | None:
    row = await tx.fetchone("SELECT * FROM incidents WHERE card_channel = ? AND card_ts = ?", (channel, ts))
    return _incident(row) if row else None


def _list_filter(include_resolved: bool, before: int | None) -> tuple[str, tuple[Any, ...]]:
    clauses = ["number < ?"]
    params: tuple[Any, ...] = (before if before is not None else 2**62,)
    if not include_resolved:
        clauses.append("status <> 'resolved'")
    return " WHERE " + " AND ".join(clauses), params


async def list_incidents(
    tx: Tx, *, include_resolved: bool, limit: int = 50, before: int | None = None
) -> list[Incident]:
    """Newest first; ``before`` pages on (keyset by number, so a page costs the same however far back)."""
    where, params = _list_filter(include_resolved, before)
    rows = await tx.fetchall(f"SELECT * FROM incidents{where} ORDER BY number DESC LIMIT ?", (*params, limit))
    return [_incident(r) for r in rows]


async def count_incidents(tx: Tx, *, include_resolved: bool, before: int | None, at_most: int) -> int:
    """How many incidents a list has below ``before``, counting no further than ``at_most``."""
    where, params = _list_filter(include_resolved, before)
    row = await tx.fetchone(
        f"SELECT count(*) AS n FROM (SELECT 1 FROM incidents{where} LIMIT ?) AS page", (*params, at_most)
    )
    return int(row["n"]) if row else 0


async def card_unrecorded(tx: Tx, *, declared_from: float, declared_until: float) -> bool:
    """Whether an incident declared in that span has no card ts recorded yet (its post may still land)."""
    row = await tx.fetchone(
        "SELECT 1 AS found FROM incidents WHERE card_ts IS NULL AND created_at BETWEEN ? AND ? LIMIT 1",
        (declared_from, declared_until),
    )
    return row is not None


async def set_card(tx: Tx, number: int, channel: str, ts: str) -> None:
    await tx.write(
        "UPDATE incidents SET card_channel = ?, card_ts = ? WHERE number = ?", (channel, ts, number)
    )


# --- timeline --------------------------------------------------------------------------------


@dataclass(frozen=True)
class TimelineEvent:
    id: int
    incident: int
    kind: str  # a TimelineKind, or one an older version wrote
    actor: str
    text: str
    created_at: float
    slack_ts: str | None = None
    edited_at: float | None = None
    deleted_at: float | None = None


async def add_event(
    tx: Tx,
    *,
    incident: int,
    kind: TimelineKind,
    actor: str,
    text: str,
    at: float,
    slack_ts: str | None = None,
) -> bool:
    """Record a timeline event; a Slack message already recorded (same ts) is not added twice."""
    count = await tx.execute(
        "INSERT INTO timeline (incident, kind, actor, text, slack_ts, created_at) VALUES (?,?,?,?,?,?)"
        " ON CONFLICT DO NOTHING",
        (incident, kind, actor, text, slack_ts, at),
    )
    return count == 1


async def append_event(
    tx: Tx, *, incident: int, kind: TimelineKind, actor: str, text: str, at: float
) -> None:
    """Record a timeline event the caller made itself (no Slack message to deduplicate against)."""
    await tx.write(
        "INSERT INTO timeline (incident, kind, actor, text, created_at) VALUES (?,?,?,?,?)",
        (incident, kind, actor, text, at),
    )


async def edit_message_event(tx: Tx, *, incident: int, slack_ts: str, text: str, at: float) -> bool:
    count = await tx.execute(
        "UPDATE timeline SET text = ?, edited_at = ? WHERE incident = ? AND slack_ts = ?",
        (text, at, incident, slack_ts),
    )
    return count > 0


async def delete_message_event(tx: Tx, *, incident: int, slack_ts: str, at: float) -> bool:
    count = await tx.execute(
        "UPDATE timeline SET deleted_at = ? WHERE incident = ? AND slack_ts = ? AND deleted_at IS NULL",
        (at, incident, slack_ts),
    )
    return count > 0


_EVENT_COLUMNS = "id, incident, kind, actor, text, created_at, slack_ts, edited_at, deleted_at"


def _event(r: Row) -> TimelineEvent:
    return TimelineEvent(
        id=int(r["id"]),
        incident=int(r["incident"]),
        kind=r["kind"],
        actor=r["actor"],
        text=r["text"],
        created_at=float(r["created_at"]),
        slack_ts=r["slack_ts"],
        edited_at=None if r["edited_at"] is None else float(r["edited_at"]),
        deleted_at=None if r["deleted_at"] is None else float(r["deleted_at"]),
    )


async def timeline(
    tx: Tx, incident: int, *, offset: int = 0, limit: int = 10_000, total: int | None = None
) -> list[TimelineEvent]:
    """An incident's events in the order they happened (an event added later for an earlier time
    sorts by that time), ``limit`` of them from ``offset``. Given ``total`` (the count), a page in the
    later half is read backwards from the end along (incident, created_at, id), so the latest page
    reads only its own rows however long the timeline."""
    if total is not None and offset > total - offset - limit:
        back = max(0, total - offset - limit)
        rows = await tx.fetchall(
            f"SELECT {_EVENT_COLUMNS} FROM timeline WHERE incident = ?"
            " ORDER BY created_at DESC, id DESC LIMIT ? OFFSET ?",
            (incident, min(limit, total - offset), back),
        )
        return [_event(r) for r in reversed(rows)]
    rows = await tx.fetchall(
        f"SELECT {_EVENT_COLUMNS} FROM timeline WHERE incident = ? ORDER BY created_at, id LIMIT ? OFFSET ?",
        (incident, limit, offset),
    )
    return [_event(r) for r in rows]


async def timeline_count(tx: Tx, incident: int) -> int:
    """How many events an incident has (counted in the index, never reading the events)."""
    row = await tx.fetchone("SELECT count(*) AS n FROM timeline WHERE incident = ?", (incident,))
    return int(row["n"]) if row else 0


# --- deliveries (idempotency) ----------------------------------------------------------------


async def claim(tx: Tx, key: str, at: float) -> None:
    """Claim ``key`` in this transaction, or raise Conflict (here or at the transaction's next statement)
    when it was claimed before: a redelivery. Costs no round trip of its own."""
    await tx.write("INSERT INTO deliveries (key, received_at) VALUES (?, ?)", (key, at))


async def forget_deliveries(tx: Tx, before: float) -> int:
    return await tx.execute("DELETE FROM deliveries WHERE received_at < ?", (before,))


# --- Slack message references ----------------------------------------------------------------


async def save_ref(tx: Tx, ref: str, channel: str, ts: str) -> None:
    await tx.write(
        "INSERT INTO slack_refs (ref, channel, ts) VALUES (?,?,?)"
        " ON CONFLICT (ref) DO UPDATE SET channel = excluded.channel, ts = excluded.ts",
        (ref, channel, ts),
    )


async def get_ref(tx: Tx, ref: str) -> tuple[str, str] | None:
    row = await tx.fetchone("SELECT channel, ts FROM slack_refs WHERE ref = ?", (ref,))
    return (row["channel"], row["ts"]) if row else None


# --- small values ---------------------------------------------------------------


async def get_value(tx: Tx, key: str) -> str | None:
    row = await tx.fetchone("SELECT value FROM kv WHERE key = ?", (key,))
    return str(row["value"]) if row else None


async def set_value(tx: Tx, key: str, value: str) -> None:
    await tx.write(
        "INSERT INTO kv (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        (key, value),
    )


async def delete_value(tx: Tx, key: str) -> bool:
    return await tx.execute("DELETE FROM kv WHERE key = ?", (key,)) == 1


async def save_diagnostics(tx: Tx, key: str, record: str, *, done: bool) -> None:
    """Create or replace the diagnostics run ``key``: its record (the runbook's own form) and whether it
    has finished."""
    await tx.write(
        "INSERT INTO diagnostic_runs (key, done, record) VALUES (?, ?, ?)"
        " ON CONFLICT (key) DO UPDATE SET done = excluded.done, record = excluded.record",
        (key, int(done), record),
    )


async def get_diagnostics(tx: Tx, key: str) -> str | None:
    """The record of diagnostics run ``key`` (the runbook's own form), if there is one."""
    row = await tx.fetchone("SELECT record FROM diagnostic_runs WHERE key = ?", (key,))
    return str(row["record"]) if row else None


async def unfinished_diagnostics(tx: Tx) -> list[tuple[str, str]]:
    """The records of diagnostics runs not finished, read through the partial index of just those."""
    rows = await tx.fetchall("SELECT key, record FROM diagnostic_runs WHERE done = 0 ORDER BY key")
    return [(r["key"], r["record"]) for r in rows]


async def resolved_between(tx: Tx, *, start: float, end: float) -> list[int]:
    """The numbers of incidents resolved in [start, end) (by the resolution-time index)."""
    rows = await tx.fetchall(
        "SELECT number FROM incidents WHERE resolved_at >= ? AND resolved_at < ? ORDER BY number",
        (start, end),
    )
    return [int(r["number"]) for r in rows]


async def forget_finished_diagnostics(tx: Tx, keys: Sequence[str]) -> int:
    """Drop the diagnostics records named ``keys`` that are finished (by key, so the records kept are
    never read; a running one stays)."""
    forgotten = 0
    for start in range(0, len(keys), _KEYS_PER_STATEMENT):
        chunk = keys[start : start + _KEYS_PER_STATEMENT]
        marks = ", ".join("?" * len(chunk))
        forgotten += await tx.execute(
            f"DELETE FROM diagnostic_runs WHERE key IN ({marks}) AND done = 1", tuple(chunk)
        )
    return forgotten


_KEYS_PER_STATEMENT = 500  # well under SQLite's and psycopg's limits on bound parameters


async def values_with_prefix(tx: Tx, prefix: str) -> list[tuple[str, str]]:
    rows = await tx.fetchall("SELECT key, value FROM kv WHERE key LIKE ? ORDER BY key", (prefix + "%",))
    return [(r["key"], r["value"]) for r in rows]


async def incidents_declared_since(tx: Tx, since: float, *, at_most: int = 10_000) -> list[Incident]:
    """Incidents declared since ``since`` (a window: bounded however long the history), oldest first."""
    rows = await tx.fetchall(
        "SELECT * FROM incidents WHERE created_at >= ? ORDER BY created_at LIMIT ?", (since, at_most)
    )
    return [_incident(r) for r in rows]


async def last_event_at(tx: Tx, incident: int, *, kind: TimelineKind) -> float | None:
    """When the incident's latest event of ``kind`` happened (the newest first, by the time index)."""
    row = await tx.fetchone(
        "SELECT created_at FROM timeline WHERE incident = ? AND kind = ? ORDER BY created_at DESC LIMIT 1",
        (incident, kind),
    )
    return None if row is None else float(row["created_at"])
