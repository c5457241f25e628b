"""What the clock says in Slack: pages, escalations, nudges, the monitoring watch. Pure.

Action IDs and button values of the clock's buttons are encoded and decoded here only.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from slack_sdk.models.blocks import ActionsBlock, Block, ButtonElement, MarkdownTextObject, SectionBlock

from bot.clock.config import EscalationLevel
from bot.clock.durations import format_target
from bot.clock.rules import mention
from bot.errors import UsageError
from bot.incidents.model import Incident, format_duration
from bot.probes import Result, State
from bot.slack.blocks import Message, escape, timestamp, to_dicts, user

ACTION_ACK = "incident_ack"
ACTION_POST_UPDATE = "incident_nudge_update"
ACTION_SNOOZE = "incident_nudge_snooze"
PAGE_BLOCK = "incident_page"
NUDGE_BLOCK = "incident_nudge"


def ack_value(number: int) -> str:
    return str(number)


def snooze_value(number: int, seconds: float) -> str:
    return f"{number}:{int(seconds)}"


def parse_ack(value: str) -> int:
    """The incident an Acknowledge button names (the card's carries ``n:version``; a page's ``n``)."""
    head = value.split(":", 1)[0]
    if not head.isdigit():
        raise UsageError("That button is from an old message; use `/incident ack INC-n`.")
    return int(head)


def parse_snooze(value: str) -> tuple[int, float]:
    """(incident, seconds) from a Snooze button."""
    number, _, seconds = value.partition(":")
    if not number.isdigit() or not seconds.isdigit() or not 0 < int(seconds) <= 86400:
        raise UsageError("That button is from an old message.")
    return int(number), float(seconds)


def _where(channel: str) -> str:
    return f"<#{channel}>" if channel[:1] in {"C", "G"} else escape(channel)


def page(
    inc: Incident,
    level: EscalationLevel,
    *,
    number: int,
    why: str,
    incident_channel: str,
    in_thread: bool,
    confidential: bool = False,
) -> Message:
    """A page: a NEW message (Slack notifies mentions only in new messages) with an Acknowledge button.

    ``confidential``: out of its private thread, a security incident's page says neither title nor why."""
    secret = confidential and not in_thread
    title = "_a confidential incident_" if secret else escape(inc.title)
    head = f"{mention(level)} :rotating_light: *{inc.ref}* ({inc.severity.value}) needs you: {title}"
    detail = f"Level {number}, {escape(level.name)}" + ("." if secret else f": {escape(why)}")
    if not in_thread:
        detail += f"\nThe card and its thread are in {_where(incident_channel)}."
    blocks: list[Block] = [
        SectionBlock(text=MarkdownTextObject(text=f"{head}\n{detail}")),
        ActionsBlock(
            block_id=f"{PAGE_BLOCK}:{inc.number}",
            elements=[
                ButtonElement(
                    text="Acknowledge", action_id=ACTION_ACK, value=ack_value(inc.number), style="danger"
                )
            ],
        ),
    ]
    return Message(text=f"{head}\n{detail}", blocks=to_dicts(blocks))


def at_top(inc: Incident, level: EscalationLevel, *, why: str) -> Message:
    """A missed target with nobody left above: the top level is told once more, loudly."""
    text = (
        f"{mention(level)} :rotating_light: *{inc.ref}* {escape(why)}, and {escape(level.name)} is the top "
        "of the escalation path."
    )
    return Message(text=text)


def acknowledged(inc: Incident, *, actor: str, how: str) -> str:
    """The thread line for an acknowledgement."""
    return f":raised_hand: {user(actor)} acknowledged *{inc.ref}* ({how}); the response target is met."


def nudge(inc: Incident, *, quiet_for: float) -> Message:
    """A thread nudge to the commander: post an update, or snooze."""
    text = (
        f"{user(inc.commander)} :hourglass_flowing_sand: *{inc.ref}* has had no update for "
        f"{format_duration(quiet_for)}. Post an update (note, status, impact or ETA) so everyone knows "
        "where it stands."
    )
    buttons = [
        ButtonElement(
            text="Post update", action_id=ACTION_POST_UPDATE, value=ack_value(inc.number), style="primary"
        ),
        ButtonElement(
            text="Snooze 30 min", action_id=f"{ACTION_SNOOZE}_30", value=snooze_value(inc.number, 1800)
        ),
        ButtonElement(
            text="Snooze 1 h", action_id=f"{ACTION_SNOOZE}_60", value=snooze_value(inc.number, 3600)
        ),
    ]
    blocks: list[Block] = [
        SectionBlock(text=MarkdownTextObject(text=text)),
        ActionsBlock(block_id=f"{NUDGE_BLOCK}:{inc.number}", elements=buttons),
    ]
    return Message(text=text, blocks=to_dicts(blocks))


def snoozed(inc: Incident, *, actor: str, seconds: float, until: float) -> Message:
    """The nudge after someone snoozed it: no buttons left to press twice."""
    return Message(
        text=f":zzz: {user(actor)} snoozed update reminders for *{inc.ref}* for "
        f"{format_target(seconds)} (until {timestamp(until)})."
    )


def update_prompt(inc: Incident) -> str:
    """The private answer to Post update: the ways to post one."""
    return (
        f"Post an update for *{inc.ref}*: `/incident note {inc.ref} <what changed>`, "
        f"`/incident update {inc.ref} <status> [message]`, or mention me in its thread: "
        "`@opsbot note <what changed>`."
    )


def escalated_line(inc: Incident, level: EscalationLevel, *, number: int, actor: str | None, why: str) -> str:
    """The timeline text of an escalation."""
    who = f" by {actor}" if actor else ""
    return f"escalated to level {number} ({level.name}){who}: {why}"


@dataclass(frozen=True)
class WatchRound:
    """One round of the monitoring watch, for its report."""

    round: int
    rounds: int
    results: Sequence[Result]
    regressions: Sequence[str]
    ends_at: float
    finished: bool


def watch_report(inc: Incident, state: WatchRound) -> Message:
    """The one report the monitoring watch keeps editing in the thread."""
    worst = sorted(state.results, key=lambda r: r.state.rank)
    lines = [f"{r.state.emoji} *{escape(r.name)}*: {escape(r.summary)}" for r in worst[:30]]
    green = all_green(state.results)
    if state.finished:
        head = f":eyes: *Monitoring watch for {inc.ref}: finished* after {state.rounds} rounds."
    else:
        head = (
            f":eyes: *Monitoring watch for {inc.ref}*: round {state.round} of {state.rounds},"
            f" until {timestamp(state.ends_at)}."
        )
    verdict = ":large_green_circle: All green." if green else ":warning: Not all green."
    if state.regressions:
        verdict = ":red_circle: *Regression:* " + ", ".join(escape(r) for r in state.regressions)
    body = "\n".join([head, verdict, *lines])[:2900]
    return Message(text=body, blocks=to_dicts([SectionBlock(text=MarkdownTextObject(text=body))]))


def regression_alert(inc: Incident, regressions: Sequence[str]) -> str:
    """Said loudly, as a new message that notifies the commander."""
    names = ", ".join(escape(r) for r in regressions)
    return (
        f"{user(inc.commander)} :rotating_light: *Regression while monitoring {inc.ref}*: {names}. "
        f"Consider moving it back: `/incident update {inc.ref} identified`."
    )


def suggest_resolve(inc: Incident, *, watched_for: float) -> str:
    return (
        f"{user(inc.commander)} :large_green_circle: *{inc.ref}* is all green at the end of "
        f"{format_target(watched_for)} of monitoring. Consider resolving it: `/incident resolve {inc.ref}` "
        "or Resolved on the card."
    )


def all_green(results: Sequence[Result]) -> bool:
    """Nothing failing or warning (checks that are not configured do not count against it)."""
    return all(r.state in (State.OK, State.NOT_CONFIGURED) for r in results)
