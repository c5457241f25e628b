"""Which incident changes ``incident_admins`` may reserve. Pure."""

from __future__ import annotations

from bot.incidents import commands as c
from bot.incidents.model import Incident, Severity, Status

ChangeCommand = (
    c.Transition
    | c.Acknowledge
    | c.Note
    | c.SetSeverity
    | c.SetCommander
    | c.SetField
    | c.SetScenario
    | c.AddEarlier
    | c.Reopen
)


def admin_only(inc: Incident, cmd: ChangeCommand) -> str | None:
    """What ``cmd`` would do that ``incident_admins`` may reserve: resolving a P0/P1, lowering a P0,
    and lowering a P1 below P1 (else "lower to P2, then resolve" gets round the first rule)."""
    serious = inc.severity in (Severity.P0, Severity.P1)
    if isinstance(cmd, c.Transition) and cmd.status is Status.RESOLVED and serious:
        return f"resolve {inc.severity.value} {inc.ref}"
    order = list(Severity)  # most severe first
    lowered = isinstance(cmd, c.SetSeverity) and order.index(cmd.severity) > order.index(inc.severity)
    if lowered and serious:
        return f"lower the severity of {inc.severity.value} {inc.ref}"
    return None


class AdminCheckNeeded(Exception):
    """The change is reserved for incident admins and the actor is not listed by user id."""

    def __init__(self, what: str) -> None:
        super().__init__(what)
        self.what = what
