"""The clock's settings types: durations per severity, the escalation path, the routine schedule.

``bot.settings`` holds them; they live here so the rules that read them sit next to their shape.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from cronsim import CronSim, CronSimError
from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    SecretStr,
    field_validator,
    model_validator,
)

from bot.clock.durations import parse_duration
from bot.incidents.model import Severity

Duration = Annotated[float, BeforeValidator(parse_duration)]


class SeverityDurations(BaseModel):
    """One duration per severity; a key left out keeps its default."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    P0: Duration
    P1: Duration
    P2: Duration
    P3: Duration

    def of(self, severity: Severity) -> float:
        """The duration for ``severity``, in seconds."""
        return float(getattr(self, severity.value))


class ResponseTargets(SeverityDurations):
    """How long until someone must acknowledge: the runbook's alert response times."""

    P0: Duration = 300.0  # "immediate": five minutes to press Acknowledge
    P1: Duration = 2 * 3600.0
    P2: Duration = 86400.0
    P3: Duration = 7 * 86400.0


class UpdateEvery(SeverityDurations):
    """How long an open incident may stay quiet before its commander is nudged."""

    P0: Duration = 15 * 60.0
    P1: Duration = 30 * 60.0
    P2: Duration = 4 * 3600.0
    P3: Duration = 86400.0


class ResolveTargets(SeverityDurations):
    """ "Cannot resolve issue within SLA": past this, the next level is called."""

    P0: Duration = 15 * 60.0  # "site down for > 15 minutes"
    P1: Duration = 4 * 3600.0
    P2: Duration = 3 * 86400.0
    P3: Duration = 14 * 86400.0


class EscalationLevel(BaseModel):
    """One step of the escalation path: who is called and where."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(min_length=1, max_length=80)
    mention: str | None = None  # a user (U…/W…) or a user group (S…)
    channel: str | None = None  # where the page goes besides the incident thread

    @field_validator("mention")
    @classmethod
    def _mention(cls, value: str | None) -> str | None:
        value = (value or "").strip().lstrip("@")
        if value and (value[:1] not in {"U", "W", "S"} or not value[1:].isalnum()):
            raise ValueError("must be a Slack user ID (U0123ABCD) or user group ID (S0123ABCD)")
        return value or None

    @field_validator("channel")
    @classmethod
    def _channel(cls, value: str | None) -> str | None:
        value = (value or "").strip()
        if value and not (value.startswith("#") or value[:1] in {"C", "G"}):
            raise ValueError("must be a channel ID such as C0123ABCD or a name such as #engineering-oncall")
        return value or None


def default_escalation_path() -> list[EscalationLevel]:
    """The runbook's escalation path; level 1 is the on-call in #engineering-oncall."""
    return [
        EscalationLevel(name="On-call engineer", channel="#engineering-oncall"),
        EscalationLevel(name="Engineering manager"),
        EscalationLevel(name="CTO/VP Engineering"),
    ]


class RoutineSchedule(BaseModel):
    """Cron expressions (5 fields, read in the ``timezone`` setting) for the runbook's routine checks."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    daily: str = "0 9 * * *"
    weekly: str = "0 10 * * 1"
    monthly: str = "0 10 1 * *"

    @field_validator("daily", "weekly", "monthly")
    @classmethod
    def _cron(cls, value: str) -> str:
        try:
            next(CronSim(value, datetime(2026, 1, 1, tzinfo=UTC)))
        except (CronSimError, StopIteration, ValueError) as exc:
            raise ValueError(f"{value!r} is not a cron expression such as '0 9 * * *' ({exc})") from None
        return value


def valid_timezone(value: str) -> str:
    """``value`` if it names an IANA time zone (Europe/Berlin, UTC), else ValueError."""
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"{value[:40]!r} is not a time zone such as UTC or Europe/Berlin") from None
    return value


class ClockSettings(BaseModel):
    """The clock's settings, mixed into ``bot.settings.Settings`` (the same keys, env names and file)."""

    # Response and resolve targets, nudges, escalation, paging, routine checks
    response_targets: ResponseTargets = Field(default_factory=ResponseTargets)
    update_every: UpdateEvery = Field(default_factory=UpdateEvery)
    resolve_targets: ResolveTargets = Field(default_factory=ResolveTargets)
    escalation_path: list[EscalationLevel] = Field(default_factory=default_escalation_path, min_length=1)
    pagerduty_routing_key: SecretStr | None = None
    pagerduty_events_url: str = "https://events.pagerduty.com/v2/enqueue"
    monitoring_watch_every: Duration = 300.0
    monitoring_watch_for: Duration = 1800.0
    routine_channel: str = "#engineering-oncall"
    routine_schedule: RoutineSchedule = Field(default_factory=RoutineSchedule)
    timezone: str = "UTC"

    @field_validator("routine_channel")
    @classmethod
    def _routine_channel(cls, value: str) -> str:
        value = value.strip()
        if not value or not (value.startswith("#") or value[:1] in {"C", "G"}):
            raise ValueError("must be a channel ID such as C0123ABCD or a name such as #engineering-oncall")
        return value

    @field_validator("timezone")
    @classmethod
    def _timezone(cls, value: str) -> str:
        return valid_timezone(value)

    @model_validator(mode="after")
    def _oncall_is_level_one(self) -> ClockSettings:
        oncall = getattr(self, "oncall_usergroup", None)
        if self.escalation_path[0].mention is None and oncall:
            # Level 1 is the on-call: the user group already configured for it is who gets paged.
            first = self.escalation_path[0].model_copy(update={"mention": oncall})
            self.escalation_path = [first, *self.escalation_path[1:]]
        return self
