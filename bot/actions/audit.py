"""The audit log: every preview, confirm, refusal and outcome, in the store and, when the action is
for an incident, one line in that incident's thread (in the same transaction)."""

from __future__ import annotations

from dataclasses import dataclass

from bot.actions import render
from bot.actions.model import AuditEvent
from bot.incidents import card
from bot.outbox import owe
from bot.slack.blocks import escape, user
from bot.store import Tx, remediation
from bot.store.remediation import AuditRow

_VERBS: dict[AuditEvent, str] = {
    "preview": "previewed",
    "confirm": "confirmed",
    "refusal": "was refused",
    "outcome": "ran",
}


@dataclass(frozen=True)
class Entry:
    """What happened; ``params`` is the action's arguments, already redacted."""

    event: AuditEvent
    actor: str
    action: str
    params: str
    incident: int | None = None
    affected: str = ""
    result: str = ""


async def record(tx: Tx, entry: Entry, *, at: float) -> None:
    """Write the entry; owe its line to the incident's thread when there is one."""
    row = AuditRow(
        at=at,
        actor=entry.actor,
        event=entry.event,
        action=entry.action,
        params=entry.params,
        incident=entry.incident,
        affected=entry.affected,
        result=entry.result,
    )
    await remediation.add_audit(tx, row)
    if entry.incident is not None:  # the use case checked the incident exists
        await owe(tx, card.reply(entry.incident, thread_line(entry)), at=at)


def thread_line(entry: Entry) -> str:
    """``:shield: <@U1> confirmed `db cancel 42`: pid 42 — cancelled``."""
    affected = f": {escape(entry.affected)}" if entry.affected else ""
    # A refusal's reason names who may (user-group mentions): private replies only, never the thread.
    result = f" — {escape(entry.result)}" if entry.result and entry.event != "refusal" else ""
    return (
        f":shield: {user(entry.actor)} {_VERBS[entry.event]} "
        f"{render.action_text(entry.action)}{affected}{result}"
    )


async def incident_actions(tx: Tx, incident: int) -> list[str]:
    """The incident's remediation, oldest first, one line each: what the post-mortem includes."""
    return [render.audit_line(row) for row in await remediation.incident_audit(tx, incident)]
