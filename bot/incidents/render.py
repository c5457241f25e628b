"""Block Kit and plain-text fallbacks from domain objects. Pure: same input, same dict out.

Blocks are built with slack_sdk.models.blocks, whose ``to_dict`` checks Slack's size limits, so a
message that Slack would reject fails here, in tests, rather than at 3 a.m.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from slack_sdk.models.blocks import (
    ActionsBlock,
    Block,
    ButtonElement,
    ConfirmObject,
    ContextBlock,
    DividerBlock,
    MarkdownTextObject,
    SectionBlock,
)

from bot.clock.messages import ACTION_ACK
from bot.incidents.model import Incident, Status, allowed_moves, format_duration
from bot.slack import ids
from bot.slack.blocks import Message, _utc, chunk_lines, clip, escape, timestamp, to_dicts, user
from bot.store.repo import TimelineEvent

CARD_TITLE = 150  # a pasted error line is cut here on the card; the timeline keeps all of it


def short_title(inc: Incident, limit: int = CARD_TITLE) -> str:
    """The title as the card and lists show it: one line, at most ``limit`` characters."""
    return clip(" ".join(inc.title.split()), limit)


def _resolve_confirm(inc: Incident) -> ConfirmObject | None:
    """A P0 or P1 is resolved from a button only after a second, deliberate click."""
    if not inc.severity.pages_oncall:
        return None
    return ConfirmObject(
        title="Resolve this incident?",
        text=f"{inc.ref} is {inc.severity.value} ({inc.severity.label}). Resolving tells all it is over.",
        confirm="Resolve",
        deny="Not yet",
    )


@dataclass(frozen=True)
class CardClock:
    """What the card shows of the clock: the escalation path's level names and the response target."""

    levels: tuple[str, ...] = ()
    response_target: float | None = None  # seconds to acknowledge, for this incident's severity


def incident_card(inc: Incident, *, clock: CardClock | None = None) -> Message:
    """The runbook's incident template as a card: the one message that always shows the truth.

    It pages nobody: Slack does not notify for mentions added by an edit, so pages are messages of
    their own (``bot.clock``)."""
    clock = clock or CardClock()
    title = escape(short_title(inc))
    impact = escape(inc.impact) if inc.impact else "Unknown"
    eta = escape(inc.eta) if inc.eta else "Unknown"
    updates = escape(inc.latest_update) if inc.latest_update else "No updates yet"
    head = f":rotating_light: *INCIDENT: {title}*  ·  {inc.ref}"
    if not inc.is_open:
        head = f":white_check_mark: *RESOLVED: {title}*  ·  {inc.ref}"
    fields = [
        f"*Severity:* {inc.severity.value} ({inc.severity.label})",
        f"*Status:* {inc.status.emoji} {inc.status.title}",
        f"*Impact:* {impact}",
        f"*ETA:* {eta}",
        f"*Commander:* {user(inc.commander)}",
        f"*Scenario:* {inc.scenario or 'general'}",
        f"*Acknowledged:* {_acknowledged(inc, clock)}",
        f"*Escalation:* {_level(inc, clock)}",
    ]
    blocks: list[Block] = [
        SectionBlock(text=MarkdownTextObject(text=head)),
        SectionBlock(fields=[MarkdownTextObject(text=f) for f in fields]),
        SectionBlock(text=MarkdownTextObject(text=f"*Updates:* {updates}")),
        ContextBlock(elements=[MarkdownTextObject(text=_card_context(inc))]),
    ]
    buttons = _card_buttons(inc)
    blocks.append(ActionsBlock(block_id=ids.card_block(inc.number), elements=buttons))
    text = "\n".join(
        [
            f"🚨 INCIDENT: {title} ({inc.ref})",
            f"Severity: {inc.severity.value}",
            f"Status: {inc.status.title}",
            f"Impact: {impact}",
            f"ETA: {eta}",
            f"Commander: {user(inc.commander)}",
            f"Acknowledged: {_acknowledged(inc, clock)}",
            f"Escalation: {_level(inc, clock)}",
            f"Updates: {updates}",
            "",
            f"Last updated: {_utc(inc.updated_at)}",
        ]
    )
    return Message(text=text, blocks=to_dicts(blocks))


def _card_buttons(inc: Incident) -> list[ButtonElement]:
    buttons = [
        ButtonElement(
            text=("Reopen" if move is Status.INVESTIGATING else move.title),
            action_id=ids.status_action(move.value),
            value=ids.CardButton(inc.number, inc.version, move.value).encode(),
            style="primary" if move is Status.RESOLVED else None,
            confirm=_resolve_confirm(inc) if move is Status.RESOLVED else None,
        )
        for move in allowed_moves(inc.status)
    ]
    if inc.is_open and not inc.acknowledged:
        buttons.append(
            ButtonElement(
                text="Acknowledge",
                action_id=ACTION_ACK,
                value=ids.CardButton(inc.number, inc.version).encode(),
                style="danger",
            )
        )
    if inc.is_open:
        buttons.append(
            ButtonElement(
                text="Take command",
                action_id=ids.ACTION_TAKE_COMMAND,
                value=ids.CardButton(inc.number, inc.version).encode(),
            )
        )
    return buttons


def _acknowledged(inc: Incident, clock: CardClock) -> str:
    if inc.acknowledged_at is not None:
        who = (
            user(inc.acknowledged_by) if inc.acknowledged_by else "yes"
        )  # rows acknowledged before the clock
        return f"{who} {timestamp(inc.acknowledged_at)}"
    if not inc.is_open or clock.response_target is None:
        return "no"
    due = inc.created_at + clock.response_target
    return f"not yet (target {format_duration(clock.response_target)}, by {timestamp(due)})"


def _level(inc: Incident, clock: CardClock) -> str:
    if inc.escalation_level == 0:
        return "nobody paged"
    names = clock.levels
    name = f" · {escape(names[inc.escalation_level - 1])}" if inc.escalation_level <= len(names) else ""
    of = f" of {len(names)}" if names else ""
    return f"level {inc.escalation_level}{of}{name}"


def _card_context(inc: Incident) -> str:
    return (
        f"Last updated: {timestamp(inc.updated_at)}  ·  declared {timestamp(inc.created_at)}"
        f" by {user(inc.declared_by)}  ·  {inc.severity.value} response: {inc.severity.response_target}"
    )


def declared_reply(inc: Incident, *, channel: str) -> str:
    where = f"<#{channel}>" if channel.startswith(("C", "G")) else escape(channel)
    return f"{_declared(inc)} Posting its card in {where}."


def _declared(inc: Incident) -> str:
    return f"Declared *{inc.ref}* ({inc.severity.value}): {escape(short_title(inc))}."


def card_link(inc: Incident, permalink: str | None) -> str:
    """The follow-up to a declaration (it takes the place of ``declared_reply``, so it repeats it)."""
    link = f"<{permalink}|the card>" if permalink else "the card in the incident channel"
    return (
        f"{_declared(inc)} *{inc.ref}* is live: follow {link}."
        " Updates go in its thread; mention me there to change it."
    )


def invite_needed(channel: str) -> str:
    return (
        f"I can't post in {escape(channel)} yet: I'm not a member and can't join it by myself "
        "(it is private or archived). Invite me there with `/invite @opsbot`; the incident is recorded "
        "and its card will be posted as soon as I'm in."
    )


@dataclass(frozen=True)
class More:
    """How many incidents a list page left out (``capped``: at least that many)."""

    count: int
    capped: bool = False


def channel_archived(inc: Incident, channel: str) -> str:
    """Told to the declarer when the incident channel is archived: the incident exists, its card does not."""
    where = f"<#{channel}>" if channel.startswith(("C", "G")) else escape(channel)
    return (
        f"{_declared(inc)} I can't post the incident card in {where}: the channel is archived."
        " The incident is recorded; unarchive the channel (or set INCIDENT_CHANNEL to a live one)"
        " and follow it with `/incident show`."
    )


def incident_list(
    incidents: Sequence[Incident], *, now: float, include_resolved: bool, more: More | None = None
) -> Message:
    """``/incident list``: age, severity and status of each; the next page named when there is one."""
    if not incidents:
        scope = "incidents" if include_resolved else "open incidents"
        return Message(text=f"No {scope}. :tada:")
    lines = [f"*{'All' if include_resolved else 'Open'} incidents*"]
    for inc in incidents:
        age = format_duration(inc.duration(now))
        lines.append(
            f"• *{inc.ref}* {inc.severity.value} · {inc.status.emoji} {inc.status.title} · "
            f"{age} · {_list_title(inc)} · {user(inc.commander)}"
        )
    if more is not None:
        scope = "all " if include_resolved else ""
        count = f"{more.count}+" if more.capped else str(more.count)
        lines.append(f"…and {count} more: `/incident list {scope}before {incidents[-1].ref}`")
    text = "\n".join(lines)
    return Message(
        text=text,
        blocks=to_dicts([SectionBlock(text=MarkdownTextObject(text=c)) for c in chunk_lines(lines)]),
    )


def _list_title(inc: Incident) -> str:
    # A list may be asked for anywhere; a security incident's title stays in its own channel.
    return "_confidential (security)_" if inc.restricted else escape(short_title(inc))


_KIND_LABEL: dict[str, str] = {  # every TimelineKind (a test checks)
    "declared": ":rotating_light:",
    "status": ":arrows_counterclockwise:",
    "note": ":memo:",
    "severity": ":warning:",
    "commander": ":bust_in_silhouette:",
    "impact": ":busts_in_silhouette:",
    "eta": ":hourglass:",
    "message": ":speech_balloon:",
    "scenario": ":books:",
    "checklist": ":ballot_box_with_check:",
    "ack": ":raised_hand:",
    "earlier": ":clock3:",
    "diagnostics": ":stethoscope:",
    "diagnostics_final": ":stethoscope:",
    "escalated": ":mega:",
    "nudged": ":hourglass_flowing_sand:",
    "snoozed": ":zzz:",
    "watch": ":eyes:",
    "alert": ":bell:",
    "confidential": ":lock:",
}


def timeline_lines(events: Sequence[TimelineEvent]) -> list[str]:
    lines = []
    for ev in events:
        text = escape(ev.text)
        if ev.deleted_at is not None:
            text = f"~{text}~ (deleted)"
        elif ev.edited_at is not None:
            text += " (edited)"
        lines.append(f"{_utc(ev.created_at)} {_KIND_LABEL.get(ev.kind, '•')} {user(ev.actor)}: {text}")
    return lines


def incident_detail(
    inc: Incident, events: Sequence[TimelineEvent], *, page: int = 1, pages: int = 1, total: int | None = None
) -> Message:
    """``/incident show``: the card, the full title and one page of the timeline, privately."""
    card = incident_card(inc)
    shown = timeline_lines(events)
    total = len(shown) if total is None else total
    header = f"*Timeline* ({total} events"
    if pages > 1:
        header += f", page {page} of {pages}"
        if page < pages:
            header += f"; next: `/incident show {inc.ref} {page + 1}`"
    header += ")"
    chunks = chunk_lines(shown) if shown else ["_Nothing yet._"]
    blocks: list[dict[str, Any]] = card.blocks[:-1]  # no buttons in a private copy
    timeline: list[Block] = []
    if short_title(inc) != inc.title:
        full = chunk_lines([f"*Full title:* {escape(inc.title)}"])[0]
        timeline.append(SectionBlock(text=MarkdownTextObject(text=full)))
    timeline += [DividerBlock(), SectionBlock(text=MarkdownTextObject(text=header))]
    timeline.extend(SectionBlock(text=MarkdownTextObject(text=c)) for c in chunks)
    text = card.text + "\n\nTimeline:\n" + "\n".join(shown)
    return Message(text=text, blocks=blocks + to_dicts(timeline))
