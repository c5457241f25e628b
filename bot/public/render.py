"""What Slack shows about publishing (pure): the preview with its Publish button, the thread's note,
the support channel's line, and the button value's codec."""

from __future__ import annotations

from slack_sdk.models.blocks import (
    ActionsBlock,
    ButtonElement,
    ContextBlock,
    MarkdownTextObject,
    SectionBlock,
)

from bot.public.model import Impact
from bot.slack.blocks import Message, escape, to_dicts, user

ACTION_PUBLISH = "status_publish"
MAX_PUBLIC_TEXT = 2000


def draft_value(draft_id: int) -> str:
    return f"draft:{draft_id}"


def parse_draft_value(value: str) -> int:
    """The draft a Publish button names; ValueError for anything else."""
    kind, _, number = value.partition(":")
    if kind != "draft" or not number.isdigit():
        raise ValueError("not a publish button")
    return int(number)


def preview(
    *, draft_id: int, ref: str, name: str, body: str, status: str, impact: Impact, components: list[str]
) -> Message:
    """Exactly what the status page will show, and the one button that publishes it."""
    affected = ", ".join(escape(c) for c in components) or "no component (only the incident list)"
    text = (
        f"*Preview of the public update for {ref}* (nothing is public until you press Publish)\n"
        f">*{escape(name)}*\n>_{escape(status)}_ — {escape(body)}"
    )
    return Message(
        text=f"Preview of the public update for {ref}: {body}",
        blocks=to_dicts(
            [
                SectionBlock(text=MarkdownTextObject(text=text)),
                ContextBlock(
                    elements=[MarkdownTextObject(text=f"Impact: *{impact.value}* · Components: {affected}")]
                ),
                ActionsBlock(
                    elements=[
                        ButtonElement(
                            text="Publish",
                            action_id=ACTION_PUBLISH,
                            value=draft_value(draft_id),
                            style="primary",
                        )
                    ]
                ),
            ]
        ),
    )


def published_note(*, actor: str, body: str, first: bool) -> str:
    what = "published this incident on the status page" if first else "posted a public update"
    return f":globe_with_meridians: {user(actor)} {what}: “{escape(body)}”"


def support_line(*, ref: str, severity: str, body: str, card_link: str | None) -> str:
    link = f" <{card_link}|{ref}>" if card_link else f" {ref}"
    return f":loudspeaker: Customer-facing ({severity}):{link} — {escape(body)}"
