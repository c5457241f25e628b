"""Every query about alerts: one row per (source, key), upserted as the source repeats itself."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any

from bot.alerts.model import Alert, AlertStatus, Link, Source
from bot.store import Row, Tx


@dataclass(frozen=True)
class AlertRecord:
    """An alert as opsbot keeps it: the latest state the source told, how often, and what people did."""

    id: int
    source: Source
    key: str
    status: AlertStatus
    title: str
    severity: str | None
    scenario: str | None
    summary: str
    labels: dict[str, str]
    links: tuple[Link, ...]
    seen: int
    first_seen: float
    last_seen: float
    event_at: float
    resolved_at: float | None
    incident: int | None
    dismissed_by: str | None
    dismissed_reason: str | None
    version: int

    @property
    def firing(self) -> bool:
        return self.status is AlertStatus.FIRING

    @property
    def open_for_action(self) -> bool:
        """Still waiting for someone: not attached to an incident and not dismissed."""
        return self.incident is None and self.dismissed_by is None


def dedup(key: str) -> str:
    """Keys (Alertmanager group keys) can be long; the unique index holds a fixed-size digest."""
    return hashlib.sha256(key.encode()).hexdigest()


def _record(row: Row) -> AlertRecord:
    details: dict[str, Any] = json.loads(row["details"])
    return AlertRecord(
        id=int(row["id"]),
        source=row["source"],
        key=row["alert_key"],
        status=AlertStatus(row["status"]),
        title=row["title"],
        severity=row["severity"],
        scenario=row["scenario"],
        summary=row["summary"],
        labels=dict(details.get("labels", {})),
        links=tuple(Link(text, url) for text, url in details.get("links", [])),
        seen=int(row["seen"]),
        first_seen=float(row["first_seen"]),
        last_seen=float(row["last_seen"]),
        event_at=float(row["event_at"]),
        resolved_at=row["resolved_at"],
        incident=row["incident"],
        dismissed_by=row["dismissed_by"],
        dismissed_reason=row["dismissed_reason"],
        version=int(row["version"]),
    )


def _details(alert: Alert) -> str:
    return json.dumps({"labels": dict(alert.labels), "links": [[lk.text, lk.url] for lk in alert.links]})


async def insert_new(tx: Tx, alert: Alert, *, scenario: str | None, event_at: float, now: float) -> bool:
    """Insert the alert unless its (source, key) is known; True when this call inserted it."""
    resolved_at = now if not alert.firing else None
    touched = await tx.execute(
        "INSERT INTO alerts (source, dedup, alert_key, status, title, severity, scenario, summary, details,"
        " seen, first_seen, last_seen, event_at, resolved_at, version)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 1, ?, ?, ?, ?, 1) ON CONFLICT (source, dedup) DO NOTHING",
        (
            alert.source,
            dedup(alert.key),
            alert.key,
            alert.status.value,
            alert.title,
            alert.severity,
            scenario,
            alert.summary,
            _details(alert),
            now,
            now,
            event_at,
            resolved_at,
        ),
    )
    return touched > 0


async def get(tx: Tx, alert_id: int, *, for_update: bool = False) -> AlertRecord | None:
    lock = " FOR UPDATE" if for_update and tx.dialect == "postgres" else ""
    row = await tx.fetchone(f"SELECT * FROM alerts WHERE id = ?{lock}", (alert_id,))
    return _record(row) if row else None


async def by_key(tx: Tx, source: Source, key: str) -> AlertRecord | None:
    """The alert's row, locked for this transaction on PostgreSQL (SQLite's write lock covers it)."""
    lock = " FOR UPDATE" if tx.dialect == "postgres" else ""
    row = await tx.fetchone(
        f"SELECT * FROM alerts WHERE source = ? AND dedup = ?{lock}", (source, dedup(key))
    )
    return _record(row) if row else None


async def apply(tx: Tx, rec: AlertRecord, alert: Alert, *, event_at: float, now: float) -> AlertRecord:
    """The source said it again (repeat, resolve or fire anew): keep its latest words, count the repeat."""
    resolved_at = rec.resolved_at if not alert.firing and not rec.firing else (None if alert.firing else now)
    await tx.execute(
        "UPDATE alerts SET status = ?, title = ?, severity = ?, summary = ?, details = ?, seen = seen + 1,"
        " last_seen = ?, event_at = ?, resolved_at = ?, version = version + 1 WHERE id = ?",
        (
            alert.status.value,
            alert.title,
            alert.severity,
            alert.summary,
            _details(alert),
            now,
            max(event_at, rec.event_at),
            resolved_at,
            rec.id,
        ),
    )
    fresh = await get(tx, rec.id)
    assert fresh is not None
    return fresh


async def count_seen(tx: Tx, rec: AlertRecord, *, now: float) -> AlertRecord:
    """An out-of-order or identical report: counted and timed, its state left as it was."""
    await tx.execute(
        "UPDATE alerts SET seen = seen + 1, last_seen = ?, version = version + 1 WHERE id = ?", (now, rec.id)
    )
    fresh = await get(tx, rec.id)
    assert fresh is not None
    return fresh


async def link_incident(tx: Tx, alert_id: int, number: int) -> None:
    await tx.execute("UPDATE alerts SET incident = ?, version = version + 1 WHERE id = ?", (number, alert_id))


async def dismiss(tx: Tx, alert_id: int, *, by: str, reason: str) -> None:
    await tx.execute(
        "UPDATE alerts SET dismissed_by = ?, dismissed_reason = ?, version = version + 1 WHERE id = ?",
        (by, reason, alert_id),
    )


async def firing_of_incident(tx: Tx, number: int) -> int:
    """How many of the incident's alerts still fire (index on incident: flat in history)."""
    row = await tx.fetchone(
        "SELECT count(*) AS n FROM alerts WHERE incident = ? AND status = 'firing'", (number,)
    )
    return int(row["n"]) if row else 0


async def vendor_for_update(tx: Tx, name: str) -> str | None:
    """A vendor's stored state, its row locked for this transaction (created empty if it was absent, so
    two watchers that overlap queue on the lock instead of both seeing nothing)."""
    key = f"vendor:{name}"
    await tx.execute("INSERT INTO kv (key, value) VALUES (?, '') ON CONFLICT (key) DO NOTHING", (key,))
    lock = " FOR UPDATE" if tx.dialect == "postgres" else ""
    row = await tx.fetchone(f"SELECT value FROM kv WHERE key = ?{lock}", (key,))
    return str(row["value"]) if row and row["value"] else None


async def set_vendor(tx: Tx, name: str, value: str) -> None:
    await tx.execute("UPDATE kv SET value = ? WHERE key = ?", (value, f"vendor:{name}"))
