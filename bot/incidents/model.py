"""Incidents, severities, statuses and the transition table: pure, no I/O."""

from __future__ import annotations

import dataclasses
import enum
from dataclasses import dataclass, field
from typing import Literal, get_args

from bot.errors import InvalidTransition

# What a timeline entry records: a command's change, a thread message, or something opsbot did itself.
TimelineKind = Literal[
    "declared",
    "status",
    "note",
    "severity",
    "commander",
    "impact",
    "eta",
    "scenario",
    "earlier",  # something that happened before it was recorded, with its own time
    "message",  # a person's message in the incident's thread
    "checklist",
    "diagnostics",
    "diagnostics_final",  # the checks re-run at resolve, for the post-mortem
    "ack",
    "escalated",
    "nudged",
    "snoozed",
    "watch",
    "alert",
    "confidential",
]
TIMELINE_KINDS: tuple[TimelineKind, ...] = get_args(TimelineKind)
OPSBOT: str = "opsbot"  # the actor of what opsbot does by itself, on the timeline and in the audit


class Severity(enum.StrEnum):
    """The runbook's alert severities, with their response times."""

    P0 = "P0"
    P1 = "P1"
    P2 = "P2"
    P3 = "P3"

    @property
    def label(self) -> str:
        return {"P0": "Critical", "P1": "High", "P2": "Medium", "P3": "Low"}[self.value]

    @property
    def response_target(self) -> str:
        """The runbook's alert response time, as it words it."""
        return {"P0": "immediate", "P1": "< 2 hours", "P2": "< 1 day", "P3": "< 1 week"}[self.value]

    @property
    def response_seconds(self) -> int:
        """The runbook's response time (SLA); P0 is immediate, counted here as 15 minutes."""
        return {"P0": 15 * 60, "P1": 2 * 3600, "P2": 24 * 3600, "P3": 7 * 24 * 3600}[self.value]

    @property
    def pages_oncall(self) -> bool:
        return self in (Severity.P0, Severity.P1)

    @classmethod
    def parse(cls, word: str) -> Severity | None:
        """``P1``, ``p1`` or the runbook's word for it (``High``, ``critical``)."""
        word = word.strip().upper()
        if word in cls.__members__:
            return cls(word)
        return next((s for s in cls if s.label.upper() == word), None)


class Status(enum.StrEnum):
    """The runbook's incident statuses, in order."""

    INVESTIGATING = "investigating"
    IDENTIFIED = "identified"
    MONITORING = "monitoring"
    RESOLVED = "resolved"

    @property
    def title(self) -> str:  # type: ignore[override]
        return self.value.capitalize()

    @property
    def emoji(self) -> str:
        return {
            "investigating": ":mag:",
            "identified": ":bulb:",
            "monitoring": ":eyes:",
            "resolved": ":white_check_mark:",
        }[self.value]

    @classmethod
    def parse(cls, word: str) -> Status | None:
        """A status by name or by a word responders use for it (``mitigated``, ``fixed``, ``closed``)."""
        word = word.strip().lower()
        return next((s for s in cls if s.value == word), None) or STATUS_SYNONYMS.get(word)


# What people type at 3 a.m. for the runbook's statuses.
STATUS_SYNONYMS: dict[str, Status] = {
    "mitigated": Status.MONITORING,
    "fixed": Status.RESOLVED,
    "closed": Status.RESOLVED,
    "resolve": Status.RESOLVED,
}

ORDER = list(Status)

# Forward moves may skip steps; reopening is the button's way back. These are the card's buttons.
TRANSITIONS: dict[Status, tuple[Status, ...]] = {
    Status.INVESTIGATING: (Status.IDENTIFIED, Status.MONITORING, Status.RESOLVED),
    Status.IDENTIFIED: (Status.MONITORING, Status.RESOLVED),
    Status.MONITORING: (Status.RESOLVED,),
    Status.RESOLVED: (Status.INVESTIGATING,),
}


def allowed_moves(status: Status) -> tuple[Status, ...]:
    return TRANSITIONS[status]


def is_backward(start: Status, to: Status) -> bool:
    """A step back between open statuses (``errors came back``): allowed with a reason."""
    return start is not Status.RESOLVED and to is not Status.RESOLVED and ORDER.index(to) < ORDER.index(start)


@dataclass(frozen=True)
class Incident:
    """One incident as the store holds it."""

    number: int
    title: str
    severity: Severity
    status: Status
    commander: str
    declared_by: str
    created_at: float
    updated_at: float
    scenario: str | None = None
    impact: str | None = None
    eta: str | None = None
    latest_update: str | None = None
    card_channel: str | None = None
    card_ts: str | None = None
    version: int = 1
    status_times: dict[str, float] = field(default_factory=dict)
    acknowledged_by: str | None = None
    acknowledged_at: float | None = None
    escalation_level: int = 0  # 0: nobody paged yet; n: level n of the escalation path was called
    restricted: bool = False  # a security incident: never published, kept in the security channel

    @property
    def ref(self) -> str:
        return f"INC-{self.number}"

    @property
    def is_open(self) -> bool:
        return self.status is not Status.RESOLVED

    @property
    def acknowledged(self) -> bool:
        return self.acknowledged_at is not None

    def duration(self, now: float) -> float:
        end = self.status_times.get(Status.RESOLVED.value) if not self.is_open else None
        return max(0.0, (end or now) - self.created_at)


def transition(incident: Incident, to: Status, *, now: float, reason: str | None = None) -> Incident:
    """Move ``incident`` to ``to`` or raise InvalidTransition listing the allowed moves.

    Milestones keep their first time (time to mitigate is the first Monitoring), except Resolved,
    which is the last. A step back between open statuses needs a ``reason``.
    """
    if to is incident.status:
        raise InvalidTransition(f"{incident.ref} is already {to.title}.", _moves_hint(incident))
    backward = is_backward(incident.status, to)
    if backward and not reason:
        raise InvalidTransition(
            f"Moving {incident.ref} back from {incident.status.title} to {to.title} needs a reason.",
            f"/incident update {incident.ref} {to.value} <what changed...>",
        )
    if to not in TRANSITIONS[incident.status] and not backward:
        raise InvalidTransition(
            f"{incident.ref} cannot go from {incident.status.title} to {to.title}.",
            _moves_hint(incident),
        )
    times = dict(incident.status_times)
    times.setdefault(to.value, now)
    if to is Status.RESOLVED:
        times[to.value] = now
    changes: dict[str, object] = {}
    if incident.status is Status.RESOLVED:  # a reopen: the old resolution, ETA and updates no longer stand
        times.pop(Status.RESOLVED.value, None)
        changes = {"eta": None, "latest_update": None}
    return touch(incident, now=now, status=to, status_times=times, **changes)


def _moves_hint(incident: Incident) -> str:
    if incident.status is Status.RESOLVED:
        return f"/incident reopen {incident.ref} [reason...]"
    moves = [s for s in Status if s is not incident.status]
    return f"/incident update {incident.ref} <{'|'.join(m.value for m in moves)}> [message...]"


def touch(incident: Incident, *, now: float, **changes: object) -> Incident:
    """A copy with ``changes`` applied, Last updated refreshed and the card version bumped."""
    return dataclasses.replace(
        incident,
        updated_at=now,
        version=incident.version + 1,
        **changes,  # type: ignore[arg-type]
    )


def format_duration(seconds: float) -> str:
    """``1h 05m``, ``3m 20s``, ``2d 4h``: how long, to a human."""
    seconds = int(seconds)
    days, rem = divmod(seconds, 86400)
    hours, rem = divmod(rem, 3600)
    minutes, secs = divmod(rem, 60)
    if days:
        return f"{days}d {hours}h"
    if hours:
        return f"{hours}h {minutes:02d}m"
    if minutes:
        return f"{minutes}m {secs:02d}s"
    return f"{secs}s"
