"""An alert's message in Slack, its buttons and their values (pure; the one owner of these strings)."""

from __future__ import annotations

from dataclasses import dataclass

from slack_sdk.models.blocks import (
    ActionsBlock,
    Block,
    ButtonElement,
    ContextBlock,
    MarkdownTextObject,
    Option,
    SectionBlock,
    StaticSelectElement,
)

from bot.slack.blocks import Message, clip, escape, timestamp, to_dicts, user
from bot.store.alerts import AlertRecord

ACTION_OPEN = "alert_open"
ACTION_ATTACH = "alert_attach"
ACTION_ATTACH_TO = "alert_attach_to"
ACTION_DISMISS = "alert_dismiss"
SOURCE_NAMES = {"sentry": "Sentry", "alertmanager": "Alertmanager", "grafana": "Grafana"}
DISMISS_REASONS = {
    "false_alarm": "false alarm",
    "duplicate": "duplicate of another alert",
    "expected": "expected (maintenance or a planned change)",
    "not_actionable": "not actionable",
}
MAX_LABELS = 8


@dataclass(frozen=True)
class AlertChoice:
    """What a button names: the alert, and for attach-to, the incident."""

    alert_id: int
    incident: int | None = None
    reason: str | None = None


def encode(choice: AlertChoice) -> str:
    """A button's value: ``alert_id`` or ``alert_id:incident`` or ``alert_id:reason``."""
    extra = choice.incident if choice.incident is not None else choice.reason
    return f"{choice.alert_id}" if extra is None else f"{choice.alert_id}:{extra}"


def decode(value: str, *, with_incident: bool = False) -> AlertChoice:
    """The inverse of ``encode``; ValueError for anything a Slack client could not have sent us."""
    head, _, tail = value.partition(":")
    alert_id = int(head)
    if with_incident:
        return AlertChoice(alert_id, incident=int(tail))
    if tail and tail not in DISMISS_REASONS:
        raise ValueError(f"unknown dismiss reason {tail[:30]!r}")
    return AlertChoice(alert_id, reason=tail or None)


def alert_message(rec: AlertRecord) -> Message:
    """One message per alert, edited as it repeats, resolves or is acted on."""
    source = SOURCE_NAMES.get(rec.source, rec.source)
    icon = ":rotating_light:" if rec.firing else ":white_check_mark:"
    state = "Firing" if rec.firing else "Resolved"
    head = f"{icon} *{state}* · {source} alert: *{escape(rec.title)}*"
    facts = [
        f"*Severity:* {escape(rec.severity or 'not given')}",
        f"*Runbook scenario:* {escape(rec.scenario or 'none matched')}",
        f"*Seen:* {rec.seen} time{'s' if rec.seen != 1 else ''}, first {timestamp(rec.first_seen)}, "
        f"last {timestamp(rec.last_seen)}",
    ]
    if rec.resolved_at is not None and not rec.firing:
        facts.append(f"*Resolved:* {timestamp(rec.resolved_at)}")
    blocks: list[Block] = [SectionBlock(text=MarkdownTextObject(text=clip(head, 3000)))]
    body = "\n".join(facts + ([escape(rec.summary)] if rec.summary else []))
    blocks.append(SectionBlock(text=MarkdownTextObject(text=clip(body, 3000))))
    context = _context(rec)
    if context:
        blocks.append(ContextBlock(elements=[MarkdownTextObject(text=clip(context, 3000))]))
    blocks.extend(_actions(rec))
    return Message(text=clip(f"{state}: {source} alert: {rec.title}", 3000), blocks=to_dicts(blocks))


def _context(rec: AlertRecord) -> str:
    parts = [f"<{link.url}|{escape(link.text)}>" for link in rec.links]
    labels = [f"`{escape(k)}={escape(v)}`" for k, v in list(rec.labels.items())[:MAX_LABELS]]
    if rec.incident is not None:
        parts.append(f"Linked to *INC-{rec.incident}*")
    if rec.dismissed_by is not None:
        parts.append(f"Dismissed by {user(rec.dismissed_by)}: {escape(rec.dismissed_reason or '')}")
    return "  ·  ".join(parts + labels)


def _actions(rec: AlertRecord) -> list[Block]:
    if not rec.open_for_action:
        return []
    value = encode(AlertChoice(rec.id))
    reasons = [
        Option(text=text, value=encode(AlertChoice(rec.id, reason=key)))
        for key, text in DISMISS_REASONS.items()
    ]
    return [
        ActionsBlock(
            block_id=f"alert:{rec.id}",
            elements=[
                ButtonElement(text="Open incident", action_id=ACTION_OPEN, value=value, style="primary"),
                ButtonElement(text="Attach to an open incident", action_id=ACTION_ATTACH, value=value),
                StaticSelectElement(placeholder="Dismiss…", action_id=ACTION_DISMISS, options=reasons),
            ],
        )
    ]


def attach_choices(alert_id: int, incidents: list[tuple[int, str]]) -> Message:
    """A private list of open incidents to attach the alert to (newest first)."""
    if not incidents:
        return Message(text="There is no open incident to attach this alert to. Open one instead.")
    buttons = [
        ButtonElement(
            text=clip(f"INC-{number}: {title}", 75),
            action_id=f"{ACTION_ATTACH_TO}_{number}",
            value=encode(AlertChoice(alert_id, incident=number)),
        )
        for number, title in incidents[:25]
    ]
    rows: list[Block] = [SectionBlock(text=MarkdownTextObject(text="Attach this alert to which incident?"))]
    rows.extend(ActionsBlock(elements=list(buttons[i : i + 5])) for i in range(0, len(buttons), 5))
    return Message(text="Attach this alert to which incident?", blocks=to_dicts(rows))


def thread_note(rec: AlertRecord, *, what: str) -> str:
    """A line in an incident's thread about one of its alerts (attached, fired again, resolved)."""
    source = SOURCE_NAMES.get(rec.source, rec.source)
    links = " ".join(f"<{link.url}|{escape(link.text)}>" for link in rec.links)
    return clip(f":bell: {source} alert *{escape(rec.title)}* {what}. {links}".rstrip(), 3000)


VENDOR_ICONS = {
    "operational": ":large_green_circle:",
    "degraded": ":large_yellow_circle:",
    "outage": ":red_circle:",
}


def vendor_message(*, name: str, state: str, summary: str, url: str, since: float) -> Message:
    """A vendor's trouble, from its status page: one message per episode, edited as it changes."""
    icon = VENDOR_ICONS.get(state, ":grey_question:")
    word = "back to operational" if state == "operational" else state
    link = f" <{url}|status page>" if url.startswith(("https://", "http://")) else ""
    text = f"{icon} *{escape(name)}* is {word} since {timestamp(since)}: {escape(summary)}{link}"
    return Message(
        text=clip(f"{name} is {word}: {summary}", 3000),
        blocks=to_dicts([SectionBlock(text=MarkdownTextObject(text=clip(text, 3000)))]),
    )


def vendor_note(*, name: str, state: str, url: str) -> str:
    """The line an open incident's thread gets when a vendor it depends on changes state."""
    icon = VENDOR_ICONS.get(state, ":grey_question:")
    word = "back to operational" if state == "operational" else state
    link = f" <{url}|status page>" if url.startswith(("https://", "http://")) else ""
    return f"{icon} {escape(name)}'s status page says it is {word}.{link}"
