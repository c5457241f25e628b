"""The changing commands of the response itself: acknowledge and escalate (one section each, as in
``bot.incidents.changes``, which re-exports them). Pure."""

from __future__ import annotations

from dataclasses import dataclass

from bot.errors import UsageError
from bot.incidents.events import Escalated
from bot.incidents.grammar import Args, message
from bot.incidents.model import Incident, format_duration, touch
from bot.incidents.verbs import Change, Context, Verb
from bot.slack.blocks import escape, user


def open_only(inc: Incident) -> None:
    """Refuse a change to a resolved incident, saying how to reopen it."""
    if not inc.is_open:
        raise UsageError(
            f"{inc.ref} is resolved; reopen it first.", f"/incident reopen {inc.ref} [reason...]"
        )


# --- acknowledge ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Acknowledge:
    number: int
    how: str = "with the ack command"  # the card's button says "pressed Acknowledge"


def _acknowledge(inc: Incident, cmd: Acknowledge, ctx: Context) -> Change:
    open_only(inc)
    if inc.acknowledged_at is not None:
        by = f" by {user(inc.acknowledged_by)}" if inc.acknowledged_by else ""
        raise UsageError(f"{inc.ref} was already acknowledged{by}; the first acknowledgement stands.")
    new = touch(inc, now=ctx.now, acknowledged_at=ctx.now, acknowledged_by=ctx.actor)
    took = format_duration(ctx.now - inc.created_at)
    return Change(
        new,
        "ack",
        f"acknowledged ({cmd.how})",
        f":raised_hand: {user(ctx.actor)} acknowledged *{inc.ref}* ({escape(cmd.how)}) after {took}",
    )


def _parse_ack(args: Args) -> Acknowledge:
    if args.words:
        raise UsageError("`ack` takes only the incident.", args.usage)
    return Acknowledge(args.number)


ACKNOWLEDGE = Verb(
    name="ack",
    usage="/incident ack <INC-n>",
    example="/incident ack INC-12",
    command=Acknowledge,
    parse=_parse_ack,
    apply=_acknowledge,
    aliases=("acknowledge",),
)


# --- escalate -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Escalate:
    number: int
    reason: str | None = None


def _escalate(inc: Incident, cmd: Escalate, ctx: Context) -> Change:
    open_only(inc)
    levels = ctx.escalation_levels
    if inc.escalation_level >= len(levels):
        top = f" ({escape(levels[-1])})" if levels else ""
        raise UsageError(f"{inc.ref} is already at the top of the escalation path{top}.")
    number = inc.escalation_level + 1
    new = touch(inc, now=ctx.now, escalation_level=number)
    name = levels[number - 1]
    why = f": {cmd.reason}" if cmd.reason else ""
    return Change(
        new,
        "escalated",
        f"called level {number} ({name}){why}",
        f"called level {number} ({escape(name)}) for {inc.ref}.",
        events=(Escalated(new, ctx.actor, cmd.reason),),
    )


def _parse_escalate(args: Args) -> Escalate:
    return Escalate(args.number, message(args.raw))


ESCALATE = Verb(
    name="escalate",
    usage="/incident escalate <INC-n> [reason...]",
    example="/incident escalate INC-12 on-call not answering",
    command=Escalate,
    parse=_parse_escalate,
    apply=_escalate,
)
