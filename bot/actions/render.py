"""Previews, outcomes and the audit list as Block Kit. Pure: same input, same message out."""

from __future__ import annotations

import time
from collections.abc import Sequence

from slack_sdk.models.blocks import (
    ActionsBlock,
    ButtonElement,
    ConfirmObject,
    ContextBlock,
    MarkdownTextObject,
    PlainTextObject,
    SectionBlock,
)

from bot.actions.ids import ACTION_CONFIRM
from bot.actions.model import AuthChange, Done, Preview, RunNamed, Session, SignalLong, SignalPid, describe
from bot.incidents.model import format_duration
from bot.slack.blocks import Message, chunk_lines, escape, to_dicts, user
from bot.store.remediation import AuditRow

PROTECTED_NOTE = (
    "Superuser, replication and opsbot's own sessions are never signalled, whatever the command asks."
)


def action_text(preview_or_action: Preview | str) -> str:
    """The action as typed, in a code span, escaped once (arguments are user text)."""
    text = preview_or_action if isinstance(preview_or_action, str) else describe(preview_or_action.action)
    return code(text)


def code(text: str) -> str:
    """User text in a code span: escaped once, and a backtick cannot end the span early."""
    return "`" + escape(text.replace("`", "'")) + "`"


def session_line(s: Session) -> str:
    """``pid 4242 app_user (psql) active 6m 02s — blocked by 17 · blocking 88: SELECT pg_sleep(N)``."""
    links = []
    if s.blocked_by:
        links.append("blocked by " + ", ".join(str(p) for p in s.blocked_by))
    if s.blocking:
        links.append("blocking " + ", ".join(str(p) for p in s.blocking))
    linked = f" — {' · '.join(links)}" if links else ""
    skip = f" *not signalled: {escape(s.protected)}*" if s.protected else ""
    app = f" ({escape(s.application)})" if s.application else ""
    return (
        f"• pid {s.pid} {escape(s.user)}{app} {escape(s.state)} {format_duration(s.age_s)}{linked}{skip}"
        f"\n      {code(s.query)}"
    )


def _what(preview: Preview) -> list[str]:
    action = preview.action
    if isinstance(action, SignalPid | SignalLong):
        verb = "cancel the query of" if action.signal == "cancel" else "terminate"
        lines = [f"Would {verb} {len(preview.targets)} session(s) as `{escape(preview.role)}`:"]
        lines += [session_line(s) for s in preview.sessions]
        if any(s.blocked_by for s in preview.targets):
            lines.append("_Some are waiting on others: end the blocker, not the blocked._")
        if action.signal == "terminate":
            lines.append("_Cancel first is the gentler order: it stops the query and keeps the session._")
        lines.append(f"_{PROTECTED_NOTE}_")
        return lines
    lines = []
    if isinstance(action, RunNamed) and preview.confirm_text:
        lines.append(f"*{escape(preview.confirm_text)}*")
    if isinstance(action, AuthChange):
        lines.append(f"User `{action.user_id}`:")
    lines.append(f"Would run as `{escape(preview.role)}`, in one transaction:")
    lines += [f"• `{escape(s.sql)}` → {s.rows} row(s)" for s in preview.statements]
    if preview.params:
        bound = ", ".join(f"{escape(k)} = `{escape(v)}`" for k, v in preview.params.items())
        lines.append(f"Bound parameters (never spliced into the SQL): {bound}")
    lines.append("_Rows counted in a transaction that was rolled back; nothing has changed yet._")
    return lines


def preview_message(
    preview: Preview, *, token: str | None, expires_at: float, incident: int | None
) -> Message:
    """The private preview; a Confirm button only when there is something to confirm."""
    title = f":mag: *Preview* of {action_text(preview)}" + (f" for INC-{incident}" if incident else "")
    lines = [title, *_what(preview)]
    if preview.problem:
        lines.append(f":no_entry_sign: {escape(preview.problem)} Nothing will run.")
    sections = [SectionBlock(text=MarkdownTextObject(text=chunk)) for chunk in chunk_lines(lines)]
    blocks: list[SectionBlock | ActionsBlock | ContextBlock] = [*sections[:40]]
    if token is not None and not preview.problem:
        until = time.strftime("%H:%M UTC", time.gmtime(expires_at))
        button = ButtonElement(
            text=PlainTextObject(text="Confirm"),
            action_id=ACTION_CONFIRM,
            value=token,
            style="danger",
            confirm=ConfirmObject(
                title="Run it now?",
                text=(preview.confirm_text or f"This runs {describe(preview.action)} on production.")[:300],
                confirm="Run it",
                deny="Cancel",
            ),
        )
        blocks.append(ActionsBlock(block_id="action_confirm", elements=[button]))
        blocks.append(
            ContextBlock(elements=[MarkdownTextObject(text=f"Only you can confirm, once, until {until}.")])
        )
    return Message(text="\n".join(lines)[:3000], blocks=to_dicts(blocks))


def outcome_message(action: str, done: Done, *, actor: str) -> Message:
    """What ran, shown in place of the preview."""
    mark = ":white_check_mark:" if done.ok else ":x:"
    text = f"{mark} {action_text(action)} by {user(actor)}: {escape(done.result)}"
    if done.affected:
        text += f" ({escape(done.affected)})"
    return Message(text=text)


def unknown_outcome_message(action: str, *, actor: str, why: str) -> Message:
    """A confirmed action whose outcome was never recorded, shown in place of the preview."""
    text = f":warning: {action_text(action)} by {user(actor)}: {escape(why)}"
    return Message(text=f"{text}; see `/ops audit`, and check before running it again.")


def audit_line(row: AuditRow) -> str:
    """``2026-11-27 16:02 UTC confirm <@U1> `db cancel 42` INC-3: pids 42 — cancelled``."""
    at = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(row.at))
    incident = f" INC-{row.incident}" if row.incident else ""
    affected = f": {escape(row.affected)}" if row.affected else ""
    result = f" — {escape(row.result)}" if row.result else ""
    return f"{at} *{row.event}* {user(row.actor)} {action_text(row.action)}{incident}{affected}{result}"


def audit_message(rows: Sequence[AuditRow]) -> Message:
    """``/ops audit``: the newest entries first."""
    if not rows:
        return Message(text="The remediation audit log is empty.")
    lines = [f"*Remediation audit log* (latest {len(rows)}, newest first)", *map(audit_line, rows)]
    blocks = [SectionBlock(text=MarkdownTextObject(text=c)) for c in chunk_lines(lines)][:45]
    return Message(text="\n".join(lines)[:3000], blocks=to_dicts(blocks))
