"""The remediation tables: pending confirmations (single-use), the audit log, the rate limit."""

from __future__ import annotations

from dataclasses import dataclass

from bot.store import Row, Tx


@dataclass(frozen=True)
class Request:
    """A preview waiting for its Confirm: who asked, what, and the plan that Confirm runs."""

    token: str
    actor: str
    action: str
    spec: str
    incident: int | None
    state: str  # pending | claimed | done | refused
    created_at: float
    expires_at: float
    claimed_at: float | None = None
    result: str | None = None


async def add_request(tx: Tx, req: Request) -> None:
    await tx.write(
        "INSERT INTO action_requests (token, actor, action, spec, incident, state, created_at, expires_at)"
        " VALUES (?,?,?,?,?,?,?,?)",
        (req.token, req.actor, req.action, req.spec, req.incident, req.state, req.created_at, req.expires_at),
    )


async def claim_request(tx: Tx, *, token: str, actor: str, now: float) -> bool:
    """Take a pending, unexpired request of ``actor``'s; exactly one press across instances wins."""
    count = await tx.execute(
        "UPDATE action_requests SET state = 'claimed', claimed_at = ?"
        " WHERE token = ? AND actor = ? AND state = 'pending' AND expires_at >= ?",
        (now, token, actor, now),
    )
    return count == 1


async def get_request(tx: Tx, token: str) -> Request | None:
    row = await tx.fetchone("SELECT * FROM action_requests WHERE token = ?", (token,))
    return _request(row) if row else None


async def finish_request(tx: Tx, *, token: str, state: str, result: str) -> None:
    await tx.write("UPDATE action_requests SET state = ?, result = ? WHERE token = ?", (state, result, token))


def _request(row: Row) -> Request:
    return Request(
        token=row["token"],
        actor=row["actor"],
        action=row["action"],
        spec=row["spec"],
        incident=None if row["incident"] is None else int(row["incident"]),
        state=row["state"],
        created_at=float(row["created_at"]),
        expires_at=float(row["expires_at"]),
        claimed_at=None if row["claimed_at"] is None else float(row["claimed_at"]),
        result=row["result"],
    )


@dataclass(frozen=True)
class AuditRow:
    """One line of the audit log."""

    at: float
    actor: str
    event: str
    action: str
    params: str
    incident: int | None = None
    affected: str = ""
    result: str = ""
    id: int = 0


async def add_audit(tx: Tx, row: AuditRow) -> None:
    await tx.write(
        "INSERT INTO action_audit (at, actor, event, action, params, incident, affected, result)"
        " VALUES (?,?,?,?,?,?,?,?)",
        (row.at, row.actor, row.event, row.action, row.params, row.incident, row.affected, row.result),
    )


async def latest_audit(tx: Tx, *, limit: int) -> list[AuditRow]:
    """The newest ``limit`` entries, newest first (reads only those rows, whatever the history)."""
    rows = await tx.fetchall("SELECT * FROM action_audit ORDER BY id DESC LIMIT ?", (limit,))
    return [_audit(r) for r in rows]


async def incident_audit(tx: Tx, incident: int) -> list[AuditRow]:
    """An incident's entries, oldest first (for its post-mortem)."""
    rows = await tx.fetchall("SELECT * FROM action_audit WHERE incident = ? ORDER BY id", (incident,))
    return [_audit(r) for r in rows]


def _audit(r: Row) -> AuditRow:
    return AuditRow(
        id=int(r["id"]),
        at=float(r["at"]),
        actor=r["actor"],
        event=r["event"],
        action=r["action"],
        params=r["params"],
        incident=None if r["incident"] is None else int(r["incident"]),
        affected=r["affected"],
        result=r["result"],
    )


async def take_rate(tx: Tx, *, actor: str, window_start: int, limit: int) -> bool:
    """Count one destructive action in ``actor``'s window; False when the window is full.
    One conditional upsert, so concurrent instances cannot both take the last slot."""
    row = await tx.fetchone(
        "INSERT INTO action_rate (actor, window_start, used) VALUES (?, ?, 1)"
        " ON CONFLICT (actor, window_start) DO UPDATE SET used = action_rate.used + 1"
        " WHERE action_rate.used < ? RETURNING used",
        (actor, window_start, limit),
    )
    return row is not None


async def rate_used(tx: Tx, *, actor: str, window_start: int) -> int:
    row = await tx.fetchone(
        "SELECT used FROM action_rate WHERE actor = ? AND window_start = ?", (actor, window_start)
    )
    return int(row["used"]) if row else 0
