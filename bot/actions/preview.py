"""Build a preview: exactly what Confirm would do, read from the database without changing it."""

from __future__ import annotations

import re

from bot.actions.model import (
    Action,
    AuthChange,
    Preview,
    RunNamed,
    SignalLong,
    SignalPid,
    SignalPlan,
    SqlPlan,
    Statement,
)
from bot.actions.target import AdminDb
from bot.errors import OpsbotError
from bot.settings import Settings


def auth_statements(settings: Settings, action: AuthChange) -> list[str]:
    """The configured SQL for ``action`` with the schema named (validated as a plain identifier)."""
    schema = settings.auth_schema
    quoted = schema if re.fullmatch(r"[a-z_][a-z0-9_]*", schema) else f'"{schema}"'
    statements = {
        "clear-sessions": settings.auth_sql.clear_sessions,
        "confirm-email": settings.auth_sql.confirm_email,
        "disable": settings.auth_sql.disable,
    }[action.op]
    return [s.replace("{schema}", quoted) for s in statements]


async def build_preview(settings: Settings, db: AdminDb, action: Action) -> Preview:
    """The preview of ``action``; a database problem becomes the preview's ``problem``."""
    try:
        if isinstance(action, SignalPid | SignalLong):
            return await _signal_preview(db, action)
        if isinstance(action, AuthChange):
            return await _sql_preview(
                db, action, auth_statements(settings, action), {"user_id": action.user_id}
            )
        spec = next(a for a in settings.actions if a.name == action.name)
        params = dict(zip(spec.params, action.args, strict=True))
        return await _sql_preview(db, action, spec.sql, params, confirm_text=spec.confirm_text)
    except OpsbotError as exc:
        return Preview(action=action, role=db.role_name, problem=exc.user_message())


async def _signal_preview(db: AdminDb, action: SignalPid | SignalLong) -> Preview:
    if isinstance(action, SignalPid):
        sessions = await db.session(action.pid)
        problem = None
        if not sessions:
            problem = f"No session has pid {action.pid} (it may have ended)."
        elif sessions[0].protected:
            problem = f"pid {action.pid} is {sessions[0].protected}; opsbot never signals it."
    else:
        sessions = await db.long_running(action.minutes, active_only=action.signal == "cancel")
        problem = None
        if not [s for s in sessions if s.protected is None]:
            problem = f"No session that may be signalled has run longer than {action.minutes:g} min."
    targets = tuple((s.pid, s.started_us) for s in sessions if s.protected is None)
    plan = SignalPlan(action.signal, targets) if targets else None
    return Preview(action=action, role=db.role_name, plan=plan, sessions=tuple(sessions), problem=problem)


async def _sql_preview(
    db: AdminDb,
    action: AuthChange | RunNamed,
    statements: list[str],
    params: dict[str, str],
    *,
    confirm_text: str | None = None,
) -> Preview:
    counts = await db.run(statements, params, commit=False)
    counted = tuple(Statement(sql, rows) for sql, rows in zip(statements, counts, strict=True))
    problem = None if sum(counts) else "No row would change (no such user, or it is already done)."
    return Preview(
        action=action,
        role=db.role_name,
        plan=SqlPlan(tuple(statements), tuple(sorted(params.items()))),
        statements=counted,
        params=params,
        confirm_text=confirm_text,
        problem=problem,
    )
