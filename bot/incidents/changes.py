"""Every ``/incident`` command that changes an incident: its grammar, its pure change, its wording.

One section per command, each ending in its ``Verb``; ``bot.incidents.commands.VERBS`` lists them.
A change function takes the incident and the command and returns the new incident and what to say;
it does no I/O, so each is tested without a store or Slack (tests/incidents/test_changes.py).
"""

from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass
from typing import Literal

from bot.errors import UsageError
from bot.incidents.events import Resolved, ScenarioChanged
from bot.incidents.grammar import Args, clip, did_you_mean, fold, message, parse_user, parse_when
from bot.incidents.model import (
    Incident,
    Severity,
    Status,
    format_duration,
    is_backward,
    touch,
    transition,
)
from bot.incidents.response import ACKNOWLEDGE, ESCALATE, Acknowledge, Escalate, open_only
from bot.incidents.verbs import Change, Context, Verb
from bot.slack.blocks import escape, user

__all__ = ["ACKNOWLEDGE", "ESCALATE", "Acknowledge", "Change", "Context", "Escalate", "Verb"]


# --- status: update / resolve / reopen --------------------------------------------------------


@dataclass(frozen=True)
class Transition:
    number: int
    status: Status
    message: str | None = None


def _parse_update(args: Args) -> Transition:
    if not args.words:
        raise UsageError("Say the new status.", args.usage)
    status = Status.parse(fold(args.words[0]))
    if status is None:
        hint = did_you_mean(args.words[0], [s.value for s in Status])
        maybe = f" Did you mean `{hint}`?" if hint else ""
        raise UsageError(f"`{clip(args.words[0])}` is not a status.{maybe}", args.usage)
    return Transition(args.number, status, message(args.after(1)))


def _transition(inc: Incident, cmd: Transition, ctx: Context) -> Change:
    if cmd.status is Status.INVESTIGATING and not inc.is_open:
        return _reopen(inc, Reopen(cmd.number, cmd.message), ctx)
    open_only(inc)
    who = user(ctx.actor)
    new = transition(inc, cmd.status, now=ctx.now, reason=cmd.message)
    if cmd.message:
        new = dataclasses.replace(new, latest_update=cmd.message)
    said = f": {escape(cmd.message)}" if cmd.message else ""
    plain = f": {cmd.message}" if cmd.message else ""
    if cmd.status is Status.RESOLVED:
        took = format_duration(new.duration(ctx.now))
        return Change(
            new,
            "status",
            f"resolved{plain}",
            f":white_check_mark: {who} resolved *{inc.ref}* after {took}{said}"
            f" · Draft the post-mortem: `/incident postmortem {inc.ref}`",
            broadcast=True,
            events=(Resolved(new, ctx.actor),),
        )
    back = " (back)" if is_backward(inc.status, cmd.status) else ""
    return Change(
        new,
        "status",
        f"{inc.status.title} → {cmd.status.title}{back}{plain}",
        f"{cmd.status.emoji} {who} changed status {inc.status.title} → *{cmd.status.title}*{back}{said}",
    )


UPDATE = Verb(
    name="update",
    usage="/incident update <INC-n> <investigating|identified|monitoring|resolved> [message...]",
    example="/incident update INC-12 identified Stripe API timeouts",
    command=Transition,
    parse=_parse_update,
    apply=_transition,
    in_thread=False,  # in a thread the status word alone does it: `@opsbot identified ...`
)

RESOLVE = Verb(
    name="resolve",
    usage="/incident resolve <INC-n> [message...]",
    example="/incident resolve INC-12 Stripe recovered, orders flowing",
    command=Transition,
    parse=lambda args: Transition(args.number, Status.RESOLVED, message(args.raw)),
    apply=_transition,
)


@dataclass(frozen=True)
class Reopen:
    number: int
    reason: str | None = None


def _reopen(inc: Incident, cmd: Reopen, ctx: Context) -> Change:
    if inc.is_open:
        raise UsageError(f"{inc.ref} is open ({inc.status.title}); nothing to reopen.")
    new = transition(inc, Status.INVESTIGATING, now=ctx.now)
    if cmd.reason:
        new = dataclasses.replace(new, latest_update=cmd.reason)
    why = f": {escape(cmd.reason)}" if cmd.reason else ""
    return Change(
        new,
        "status",
        f"reopened{': ' + cmd.reason if cmd.reason else ''} (ETA and updates cleared)",
        f":leftwards_arrow_with_hook: {user(ctx.actor)} reopened *{inc.ref}*{why}",
    )


REOPEN = Verb(
    name="reopen",
    usage="/incident reopen <INC-n> [reason...]",
    example="/incident reopen INC-12 errors are back",
    command=Reopen,
    parse=lambda args: Reopen(args.number, message(args.raw)),
    apply=_reopen,
)


# --- note, impact, ETA --------------------------------------------------------------------------


@dataclass(frozen=True)
class Note:
    number: int
    text: str


def _note(inc: Incident, cmd: Note, ctx: Context) -> Change:
    open_only(inc)
    new = touch(inc, now=ctx.now, latest_update=cmd.text)
    return Change(new, "note", cmd.text, f":memo: {user(ctx.actor)}: {escape(cmd.text)}")


NOTE = Verb(
    name="note",
    usage="/incident note <INC-n> <text...>",
    example="/incident note INC-12 rolled back to v41",
    command=Note,
    parse=lambda args: Note(args.number, args.text()),
    apply=_note,
)


@dataclass(frozen=True)
class SetField:
    """Impact or ETA: free text shown on the card."""

    number: int
    field: Literal["impact", "eta"]
    text: str


def _set_field(inc: Incident, cmd: SetField, ctx: Context) -> Change:
    open_only(inc)
    label = "Impact" if cmd.field == "impact" else "ETA"
    new = touch(inc, now=ctx.now, **{cmd.field: cmd.text})
    return Change(
        new, cmd.field, f"{label}: {cmd.text}", f":pencil2: {user(ctx.actor)} set {label}: {escape(cmd.text)}"
    )


IMPACT = Verb(
    name="impact",
    usage="/incident impact <INC-n> <text...>",
    example="/incident impact INC-12 All card payments fail at checkout",
    command=SetField,
    parse=lambda args: SetField(args.number, "impact", args.text()),
    apply=_set_field,
)

ETA = Verb(
    name="eta",
    usage="/incident eta <INC-n> <text...>",
    example="/incident eta INC-12 30 minutes",
    command=SetField,
    parse=lambda args: SetField(args.number, "eta", args.text()),
    apply=_set_field,
)


# --- severity, commander ------------------------------------------------------------------------


@dataclass(frozen=True)
class SetSeverity:
    number: int
    severity: Severity


def _parse_severity(args: Args) -> SetSeverity:
    severity = Severity.parse(fold(args.words[0])) if len(args.words) == 1 else None
    if severity is None:
        raise UsageError(f"`{clip(' '.join(args.words)) or 'nothing'}` is not a severity.", args.usage)
    return SetSeverity(args.number, severity)


def _set_severity(inc: Incident, cmd: SetSeverity, ctx: Context) -> Change:
    open_only(inc)
    if cmd.severity is inc.severity:
        raise UsageError(f"{inc.ref} is already {cmd.severity.value}.")
    new = touch(inc, now=ctx.now, severity=cmd.severity)
    return Change(
        new,
        "severity",
        f"{inc.severity.value} → {cmd.severity.value}",
        f":warning: {user(ctx.actor)} changed severity {inc.severity.value} → *{cmd.severity.value}*",
    )


SEVERITY = Verb(
    name="severity",
    usage="/incident severity <INC-n> <P0|P1|P2|P3|Critical|High|Medium|Low>",
    example="/incident severity INC-12 P0",
    command=SetSeverity,
    parse=_parse_severity,
    apply=_set_severity,
)


@dataclass(frozen=True)
class SetCommander:
    number: int
    user_id: str


def _set_commander(inc: Incident, cmd: SetCommander, ctx: Context) -> Change:
    open_only(inc)
    if cmd.user_id == inc.commander:
        raise UsageError(f"{user(cmd.user_id)} already commands {inc.ref}.")
    new = touch(inc, now=ctx.now, commander=cmd.user_id)
    return Change(
        new,
        "commander",
        f"commander → {cmd.user_id}",
        f":bust_in_silhouette: {user(ctx.actor)} handed command of *{inc.ref}* to {user(cmd.user_id)}",
    )


COMMANDER = Verb(
    name="commander",
    usage="/incident commander <INC-n> <@user>",
    example="/incident commander INC-12 @dana",
    command=SetCommander,
    parse=lambda args: SetCommander(args.number, parse_user(args.words, args.usage)),
    apply=_set_commander,
)


# --- scenario: re-route to another runbook scenario -----------------------------------------------


@dataclass(frozen=True)
class SetScenario:
    number: int
    scenario: str  # as typed; matched against the runbook's scenarios when applied


def _parse_scenario(args: Args) -> SetScenario:
    if len(args.words) != 1:
        raise UsageError("Name one runbook scenario, e.g. payments.", args.usage)
    return SetScenario(args.number, fold(args.words[0]))


def _set_scenario(inc: Incident, cmd: SetScenario, ctx: Context) -> Change:
    open_only(inc)
    key = cmd.scenario if cmd.scenario in ctx.scenarios else did_you_mean(cmd.scenario, list(ctx.scenarios))
    if key is None:
        raise UsageError(
            f"`{clip(cmd.scenario)}` is not a runbook scenario. Pick one of: {', '.join(ctx.scenarios)}.",
            SCENARIO.usage,
        )
    if key == inc.scenario:
        raise UsageError(f"{inc.ref} already follows the {ctx.scenarios[key]} runbook.")
    # Once confidential, always: what was said while it was is not made public by a re-route.
    new = touch(inc, now=ctx.now, scenario=key, restricted=inc.restricted or key in ctx.confidential)
    before = ctx.scenarios.get(inc.scenario or "", "none")
    return Change(
        new,
        "scenario",
        f"scenario: {before} → {ctx.scenarios[key]}",
        f":books: {user(ctx.actor)} switched *{inc.ref}* to the *{escape(ctx.scenarios[key])}* runbook",
        events=(ScenarioChanged(new, inc.scenario, ctx.actor),),
    )


SCENARIO = Verb(
    name="scenario",
    usage="/incident scenario <INC-n> <scenario>",
    example="/incident scenario INC-12 payments",
    command=SetScenario,
    parse=_parse_scenario,
    apply=_set_scenario,
)


# --- timeline: an event that happened earlier -----------------------------------------------------


@dataclass(frozen=True)
class AddEarlier:
    number: int
    at: float
    text: str


def _parse_earlier(args: Args) -> AddEarlier:
    if not args.words:
        raise UsageError("Say when it happened and what.", args.usage)
    at, used = parse_when(args.words, now=args.now, usage=args.usage)
    text = message(args.after(used))
    if text is None:
        raise UsageError("Say what happened.", args.usage)
    return AddEarlier(args.number, at, text)


def _add_earlier(inc: Incident, cmd: AddEarlier, ctx: Context) -> Change:
    when = f"<!date^{int(cmd.at)}^{{time}}|{_hhmm(cmd.at)} UTC>"
    new = touch(inc, now=ctx.now)
    return Change(
        new,
        "earlier",
        cmd.text,
        f":clock3: {user(ctx.actor)} added to the timeline at {when}: {escape(cmd.text)}",
        at=cmd.at,
    )


def _hhmm(at: float) -> str:
    return time.strftime("%H:%M", time.gmtime(at))


TIMELINE = Verb(
    name="timeline",
    usage="/incident timeline <INC-n> <when> <text...>",
    example="/incident timeline INC-12 14:02 deploy of v2026.11.3",
    command=AddEarlier,
    parse=_parse_earlier,
    apply=_add_earlier,
)
