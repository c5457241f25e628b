"""What is due when: acknowledgement, escalation along the path, nudges. Pure, no I/O.

Timers are named here (kind + subject) and carry the escalation level they were scheduled for, so a
timer that fires after the incident moved on (acknowledged, escalated by hand, resolved) drops itself,
as grafana/oncall's escalation steps compare their id with the alert group's active one.
"""

from __future__ import annotations

import dataclasses
import enum
from collections.abc import Sequence
from dataclasses import dataclass

from bot.clock.config import EscalationLevel
from bot.errors import UsageError
from bot.incidents.model import Incident, Severity, TimelineKind
from bot.settings import Settings

# Timer kinds owned by the clock (the scheduler's handler registry is keyed by these).
RESPOND = "incident.respond"  # the response target: unacknowledged by then -> next level
RESOLVE = "incident.resolve"  # the resolve target: still open by then -> next level
NUDGE = "incident.nudge"  # quiet for update_every -> nudge the commander
WATCH = "incident.watch"  # a monitoring-watch round
KINDS = (RESPOND, RESOLVE, NUDGE, WATCH)

# What counts as an update for nudges: timeline kinds people make.
UPDATE_KINDS: tuple[TimelineKind, ...] = (
    "note",
    "status",
    "severity",
    "commander",
    "impact",
    "eta",
    "message",
    "ack",
)

SNOOZES = (30 * 60.0, 3600.0)


def subject(number: int) -> str:
    """A timer's subject for an incident."""
    return f"INC-{number}"


def subject_number(value: str) -> int | None:
    """The incident number in a timer subject, or None when it names no incident."""
    head, _, digits = value.partition("-")
    return int(digits) if head == "INC" and digits.isdigit() else None


@dataclass(frozen=True)
class Policy:
    """The clock's settings as the rules read them."""

    response_targets: dict[Severity, float]
    update_every: dict[Severity, float]
    resolve_targets: dict[Severity, float]
    path: tuple[EscalationLevel, ...]
    watch_every: float = 300.0
    watch_for: float = 1800.0

    @classmethod
    def from_settings(cls, settings: Settings) -> Policy:
        """The policy the settings describe."""
        return cls(
            response_targets={s: settings.response_targets.of(s) for s in Severity},
            update_every={s: settings.update_every.of(s) for s in Severity},
            resolve_targets={s: settings.resolve_targets.of(s) for s in Severity},
            path=tuple(settings.escalation_path),
            watch_every=settings.monitoring_watch_every,
            watch_for=settings.monitoring_watch_for,
        )

    def level(self, number: int) -> EscalationLevel:
        """Level ``number`` (1-based) of the escalation path."""
        return self.path[number - 1]

    @property
    def top(self) -> int:
        return len(self.path)


@dataclass(frozen=True)
class Due:
    """A timer to (re)schedule: kind, when, and the payload that lets it tell it is stale."""

    kind: str
    due: float
    level: int | None = None


def acknowledge(inc: Incident, *, actor: str, now: float) -> Incident | None:
    """``inc`` acknowledged by ``actor``; None if it already was (the first acknowledgement stands)."""
    if inc.acknowledged:
        return None
    return dataclasses.replace(inc, acknowledged_by=actor, acknowledged_at=now)


def acknowledges(before: Incident, after: Incident, *, actor: str, kind: str) -> bool:
    """Whether a change counts as acknowledging: a status change, or someone taking command themselves."""
    if before.acknowledged:
        return False
    return kind == "status" or (kind == "commander" and after.commander == actor)


def first_page(inc: Incident) -> bool:
    """Whether ``inc`` (new, or just raised) must page level 1 now: P0/P1 and nobody paged yet."""
    return inc.is_open and inc.severity.pages_oncall and inc.escalation_level == 0


def escalate(inc: Incident, policy: Policy) -> Incident:
    """``inc`` one level up the path, or UsageError at the top."""
    if not inc.is_open:
        raise UsageError(f"{inc.ref} is resolved; reopen it first.", f"/incident reopen {inc.ref}")
    if inc.escalation_level >= policy.top:
        top = policy.level(policy.top)
        raise UsageError(f"{inc.ref} is already at the top of the escalation path ({top.name}).")
    return dataclasses.replace(inc, escalation_level=inc.escalation_level + 1)


def on_declared(inc: Incident, policy: Policy, *, now: float) -> list[Due]:
    """The timers a new incident starts: response and resolve targets, and the first nudge."""
    return [
        respond_due(inc, policy, since=inc.created_at),
        Due(RESOLVE, inc.created_at + policy.resolve_targets[inc.severity]),
        Due(NUDGE, now + policy.update_every[inc.severity]),
    ]


def respond_due(inc: Incident, policy: Policy, *, since: float) -> Due:
    """The response-target timer for the level ``inc`` is at now."""
    return Due(RESPOND, since + policy.response_targets[inc.severity], level=inc.escalation_level)


class Verdict(enum.StrEnum):
    """What a fired timer does."""

    DROP = "drop"  # stale: the incident moved on since it was scheduled
    ESCALATE = "escalate"  # call the next level
    AT_TOP = "at_top"  # missed, but nobody is left above: say so, once
    NUDGE = "nudge"
    LATER = "later"  # not yet: there was an update since; come back one cadence after it


def respond_verdict(inc: Incident | None, policy: Policy, *, level: int | None) -> Verdict:
    """The response target passed: escalate unless acknowledged, resolved or already moved on."""
    if inc is None or not inc.is_open or inc.acknowledged or inc.escalation_level != level:
        return Verdict.DROP
    return Verdict.ESCALATE if inc.escalation_level < policy.top else Verdict.AT_TOP


def resolve_verdict(inc: Incident | None, policy: Policy) -> Verdict:
    """The resolve target passed: escalate once unless resolved."""
    if inc is None or not inc.is_open:
        return Verdict.DROP
    return Verdict.ESCALATE if inc.escalation_level < policy.top else Verdict.AT_TOP


def nudge_verdict(
    inc: Incident | None, policy: Policy, *, last_update: float, now: float
) -> tuple[Verdict, float]:
    """Nudge when quiet for a cadence; otherwise when the next nudge is due (one cadence after the
    last update). After a nudge, the next comes one cadence later."""
    if inc is None or not inc.is_open:
        return Verdict.DROP, now
    cadence = policy.update_every[inc.severity]
    quiet_until = last_update + cadence
    if now < quiet_until:
        return Verdict.LATER, quiet_until
    return Verdict.NUDGE, now + cadence


def mention(level: EscalationLevel) -> str:
    """The Slack token that notifies a level: ``<@U…>`` or ``<!subteam^S…>``; its name if none is set."""
    if level.mention is None:
        return f"*{level.name}*"
    if level.mention.startswith("S"):
        return f"<!subteam^{level.mention}>"
    return f"<@{level.mention}>"


def channels(level: EscalationLevel, incident_channel: str) -> Sequence[str]:
    """Where a page goes besides the incident thread: the level's channel, unless it is the card's own."""
    return [level.channel] if level.channel and level.channel != incident_channel else []
