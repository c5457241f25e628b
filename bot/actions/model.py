"""What an action is, what its preview shows and what Confirm runs. Pure."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

SignalKind = Literal["cancel", "terminate"]
AuthOp = Literal["clear-sessions", "confirm-email", "disable"]
AUTH_OPS: tuple[AuthOp, ...] = ("clear-sessions", "confirm-email", "disable")
AuditEvent = Literal["preview", "confirm", "refusal", "outcome"]


@dataclass(frozen=True)
class SignalPid:
    """Cancel or terminate one backend."""

    signal: SignalKind
    pid: int


@dataclass(frozen=True)
class SignalLong:
    """Cancel or terminate every query running longer than ``minutes``."""

    signal: SignalKind
    minutes: float


@dataclass(frozen=True)
class AuthChange:
    """One of the runbook's account fixes for one user id (a UUID)."""

    op: AuthOp
    user_id: str


@dataclass(frozen=True)
class RunNamed:
    """A named SQL action from the configuration, with its positional arguments."""

    name: str
    args: tuple[str, ...] = ()


Action = SignalPid | SignalLong | AuthChange | RunNamed


def describe(action: Action) -> str:
    """The action as typed: ``db terminate-long 5``, ``auth disable <uuid>``, ``run requeue 42``."""
    if isinstance(action, SignalPid):
        return f"db {action.signal} {action.pid}"
    if isinstance(action, SignalLong):
        return f"db {action.signal}-long {action.minutes:g}"
    if isinstance(action, AuthChange):
        return f"auth {action.op} {action.user_id}"
    return " ".join(("run", action.name, *action.args))


@dataclass(frozen=True)
class Session:
    """A backend as the preview shows it; ``protected`` says why it is never signalled."""

    pid: int
    user: str
    application: str
    state: str
    age_s: float
    query: str  # already redacted
    started_us: int  # backend start, so a pid reused by a new session is not signalled
    blocked_by: tuple[int, ...] = ()
    blocking: tuple[int, ...] = ()
    protected: str | None = None


@dataclass(frozen=True)
class Statement:
    """One SQL statement of an action and the rows it would change (counted, then rolled back)."""

    sql: str
    rows: int


@dataclass(frozen=True)
class SignalPlan:
    """Exactly the backends the preview listed; none other is signalled."""

    signal: SignalKind
    targets: tuple[tuple[int, int], ...]  # (pid, backend start in µs)


@dataclass(frozen=True)
class SqlPlan:
    """The statements the preview counted, with their bound parameters."""

    statements: tuple[str, ...]
    params: tuple[tuple[str, str], ...]

    @property
    def bound(self) -> dict[str, str]:
        return dict(self.params)


Plan = SignalPlan | SqlPlan


def encode_plan(plan: Plan) -> str:
    """The plan as stored with its confirmation token."""
    if isinstance(plan, SignalPlan):
        return json.dumps({"kind": "signal", "signal": plan.signal, "targets": list(plan.targets)})
    return json.dumps({"kind": "sql", "statements": list(plan.statements), "params": dict(plan.params)})


def decode_plan(text: str) -> Plan:
    data = json.loads(text)
    if data["kind"] == "signal":
        signal: SignalKind = "terminate" if data["signal"] == "terminate" else "cancel"
        return SignalPlan(signal, tuple((int(p), int(s)) for p, s in data["targets"]))
    return SqlPlan(tuple(data["statements"]), tuple(sorted(data["params"].items())))


@dataclass(frozen=True)
class Preview:
    """Exactly what Confirm would do; ``problem`` set means there is nothing to confirm."""

    action: Action
    role: str
    plan: Plan | None = None
    sessions: tuple[Session, ...] = ()
    statements: tuple[Statement, ...] = ()
    params: Mapping[str, str] = field(default_factory=dict)
    confirm_text: str | None = None
    problem: str | None = None

    @property
    def targets(self) -> tuple[Session, ...]:
        return tuple(s for s in self.sessions if s.protected is None)


@dataclass(frozen=True)
class Done:
    """What an action did: ``affected`` names pids or counts rows; ``ok`` False when it failed."""

    ok: bool
    affected: str
    result: str
