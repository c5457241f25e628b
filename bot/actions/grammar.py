"""The ``/ops`` words for remediation and the audit log. Pure: text in, typed command out."""

from __future__ import annotations

import re
from dataclasses import dataclass

from bot.actions.model import AUTH_OPS, Action, AuthChange, RunNamed, SignalKind, SignalLong, SignalPid
from bot.errors import UsageError

USAGE = {
    "db-action": "/ops db cancel|terminate <pid> | cancel-long|terminate-long [minutes] [for INC-n]",
    "auth": "/ops auth clear-sessions|confirm-email|disable <user-id> [for INC-n]",
    "run": "/ops run <action> [arguments] [for INC-n]",
    "audit": "/ops audit [n]",
}
DB_VERBS = ("cancel", "terminate", "cancel-long", "terminate-long")
DEFAULT_MINUTES = 5.0  # the runbook's "older than 5 minutes"
MAX_AUDIT = 50
# A user id is a UUID in its canonical form; nothing else reaches the database.
_UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
_INCIDENT = re.compile(r"^(?:inc-?)?(\d{1,9})$", re.IGNORECASE)


def shown(word: str, limit: int = 40) -> str:
    """A word the user typed, echoed in a code span: cut, escaped once, unable to end the span."""
    cut = word[:limit].replace("`", "'")
    return "`" + cut.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;") + "`"


@dataclass(frozen=True)
class ActionCommand:
    """A production-changing action, optionally on behalf of an incident (``… for INC-3``)."""

    action: Action
    incident: int | None = None


@dataclass(frozen=True)
class AuditCommand:
    """``/ops audit [n]``: the latest ``limit`` audit entries."""

    limit: int = 10


def _split_incident(words: list[str], usage: str) -> tuple[list[str], int | None]:
    if len(words) >= 2 and words[-2].lower() == "for":
        match = _INCIDENT.match(words[-1])
        if match is None:
            raise UsageError(f"{shown(words[-1], 20)} is not an incident; write `for INC-3`.", usage)
        return words[:-2], int(match.group(1))
    return words, None


def _no_public(public: bool, usage: str) -> None:
    if public:
        raise UsageError("Remediation previews are always private; drop `public`.", usage)


def parse_db_action(rest: list[str], *, public: bool) -> ActionCommand:
    """``cancel 123``, ``terminate-long 10 for INC-3``: ``rest`` starts with one of DB_VERBS."""
    usage = USAGE["db-action"]
    _no_public(public, usage)
    words, incident = _split_incident(rest, usage)
    verb, args = words[0].lower(), words[1:]
    signal: SignalKind = "terminate" if verb.startswith("terminate") else "cancel"
    if verb.endswith("-long"):
        if len(args) > 1:
            raise UsageError(f"{shown(verb)} takes at most a number of minutes.", usage)
        minutes = _minutes(args[0], usage) if args else DEFAULT_MINUTES
        return ActionCommand(SignalLong(signal, minutes), incident)
    if len(args) != 1 or not 0 < _count(args[0]) < 2**31:
        given = f"{shown(args[0], 20)} is not a backend pid" if args else "Name the backend's pid"
        raise UsageError(f"{given} (see `/ops db long-queries` or `/ops db blocked`).", usage)
    return ActionCommand(SignalPid(signal, int(args[0])), incident)


def _count(word: str) -> int:
    """``word`` as a whole number written in ASCII digits, else -1 (``str.isdigit`` admits ``²``)."""
    return int(word) if word.isascii() and word.isdigit() else -1


def _minutes(word: str, usage: str) -> float:
    try:
        minutes = float(word)
    except ValueError:
        minutes = -1.0
    if not 0 < minutes <= 24 * 60:
        raise UsageError(f"{shown(word, 20)} is not a number of minutes above 0.", usage)
    return minutes


def parse_auth(rest: list[str], *, public: bool) -> ActionCommand:
    """``disable 0b0e…`` for a Supabase-style auth schema; the user id must be a UUID."""
    usage = USAGE["auth"]
    _no_public(public, usage)
    words, incident = _split_incident(rest, usage)
    if not words or words[0].lower() not in AUTH_OPS:
        given = f"{shown(words[0], 30)} is not an auth action" if words else "Name an auth action"
        raise UsageError(f"{given}. Auth actions: {', '.join(AUTH_OPS)}.", usage)
    op = next(o for o in AUTH_OPS if o == words[0].lower())
    if len(words) > 2:
        raise UsageError(f"`{op}` takes one user id.", usage)
    if len(words) != 2 or not _UUID.match(words[1].lower()):
        given = f"{shown(words[1])} is not a user id" if len(words) > 1 else "Name the user id"
        raise UsageError(
            f"{given}: give the user's UUID, such as 0b0e3c1e-8f6a-4c1e-9d1a-3f1b2c3d4e5f.", usage
        )
    return ActionCommand(AuthChange(op, words[1].lower()), incident)


def parse_run(rest: list[str], *, public: bool) -> ActionCommand:
    """``run <name> [args]``; whether the name and the argument count fit is checked against settings."""
    usage = USAGE["run"]
    _no_public(public, usage)
    words, incident = _split_incident(rest, usage)
    if not words:
        raise UsageError("Name the action to run (`/ops run` lists them in `/ops help`).", usage)
    return ActionCommand(RunNamed(words[0].lower(), tuple(words[1:])), incident)


def parse_audit(rest: list[str]) -> AuditCommand:
    """``audit`` or ``audit 20``."""
    if not rest:
        return AuditCommand()
    if len(rest) == 1 and 0 < _count(rest[0]) <= MAX_AUDIT:
        return AuditCommand(int(rest[0]))
    raise UsageError(f"{shown(' '.join(rest), 20)} is not a number from 1 to {MAX_AUDIT}.", USAGE["audit"])
