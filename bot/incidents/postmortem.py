"""A post-mortem draft in Markdown, from an incident and its timeline. Pure: same input, same text out.

What the record knows is filled in (milestones, durations, the timeline, the diagnostics); what only
people know is left as prompts. The draft goes to the incident's thread as a file
(``/incident postmortem INC-n``) or to stdout (``opsbot postmortem INC-n``).
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass

from bot.incidents.model import Incident, Status, TimelineKind, format_duration
from bot.store.repo import TimelineEvent

DIAGNOSTICS: TimelineKind = "diagnostics"  # the checks run at declaration
FINAL_DIAGNOSTICS: TimelineKind = "diagnostics_final"  # the checks re-run at resolve

LABELS: dict[str, str] = {  # every TimelineKind (a test checks); older rows may hold others
    "declared": "Declared",
    "status": "Status",
    "ack": "Acknowledged",
    "note": "Note",
    "severity": "Severity",
    "commander": "Commander",
    "impact": "Impact",
    "eta": "ETA",
    "scenario": "Scenario",
    "checklist": "Checklist",
    "diagnostics": "Diagnostics",
    FINAL_DIAGNOSTICS: "Diagnostics at resolve",
    "earlier": "Earlier event",
    "message": "Thread",
    "escalated": "Escalated",
    "nudged": "Reminder",
    "snoozed": "Snoozed",
    "watch": "Monitoring watch",
    "alert": "Alert",
    "confidential": "Confidential",
}


@dataclass(frozen=True)
class Milestone:
    name: str
    at: float | None

    def after(self, start: float) -> str:
        return format_duration(self.at - start) if self.at is not None else "—"


def milestones(inc: Incident) -> list[Milestone]:
    """Declared, then the time to acknowledge, identify, mitigate (first Monitoring) and resolve."""
    times = inc.status_times
    return [
        Milestone("Acknowledged", inc.acknowledged_at),
        Milestone("Identified", times.get(Status.IDENTIFIED.value)),
        Milestone("Mitigated (first Monitoring)", times.get(Status.MONITORING.value)),
        Milestone("Resolved", times.get(Status.RESOLVED.value) if not inc.is_open else None),
    ]


def filename(inc: Incident) -> str:
    return f"{inc.ref}-postmortem.md"


def draft(inc: Incident, events: Sequence[TimelineEvent], *, scenario_title: str | None = None) -> str:
    """The whole draft."""
    lines = [
        f"# Post-mortem: {inc.ref} {_one_line(inc.title)}",
        "",
        "_Draft written by opsbot from the incident record. Edit freely; prompts are in italics._",
        "",
        f"- **Severity:** {inc.severity.value} ({inc.severity.label})",
        f"- **Scenario:** {scenario_title or inc.scenario or 'general'}",
        f"- **Commander:** @{inc.commander}",
        f"- **Declared:** {_utc(inc.created_at)} by @{inc.declared_by}",
        f"- **Status:** {inc.status.title}" + (f", {_utc(inc.updated_at)}" if not inc.is_open else ""),
        f"- **Duration:** {format_duration(inc.duration(inc.updated_at))}",
        "",
        *_summary(inc),
        *_milestones(inc),
        *_timeline(events),
        *_diagnostics(events),
        *_prompts(),
    ]
    return "\n".join(lines) + "\n"


def _summary(inc: Incident) -> list[str]:
    return [
        "## Summary",
        "",
        f"{inc.title}",
        "",
        f"_Latest update:_ {inc.latest_update or '_what happened, in two sentences_'}",
        "",
        "## Impact",
        "",
        f"{inc.impact or '_who and what was affected, for how long, how many users or orders_'}",
        "",
    ]


def _milestones(inc: Incident) -> list[str]:
    lines = ["## Milestones", "", "| Milestone | At (UTC) | After declaration |", "| --- | --- | --- |"]
    lines.append(f"| Declared | {_utc(inc.created_at)} | 0s |")
    for m in milestones(inc):
        lines.append(f"| {m.name} | {_utc(m.at) if m.at else '—'} | {m.after(inc.created_at)} |")
    return [*lines, ""]


def label(kind: str) -> str:
    """A timeline kind in the post-mortem's words."""
    return LABELS.get(kind, kind.capitalize())


def _timeline(events: Sequence[TimelineEvent]) -> list[str]:
    lines = ["## Timeline", "", "| Time (UTC) | What | Who | Detail |", "| --- | --- | --- | --- |"]
    for ev in events:
        if ev.deleted_at is not None:
            continue
        kind = label(ev.kind)
        text = ev.text.splitlines()[0] if ev.kind in (DIAGNOSTICS, FINAL_DIAGNOSTICS) else ev.text
        lines.append(f"| {_utc(ev.created_at)} | {kind} | @{ev.actor} | {_cell(text)} |")
    if len(lines) == 4:
        lines.append("| — | — | — | nothing recorded |")
    return [*lines, ""]


def _diagnostics(events: Sequence[TimelineEvent]) -> list[str]:
    first = next((ev for ev in events if ev.kind == DIAGNOSTICS), None)
    final = next((ev for ev in reversed(events) if ev.kind == FINAL_DIAGNOSTICS), None)
    lines = ["## Diagnostics", ""]
    for label, ev in (("At declaration", first), ("At resolution", final)):
        if ev is None:
            lines += [f"- {label}: _not recorded_"]
            continue
        head, *results = ev.text.splitlines()
        lines += [f"- {label} ({_utc(ev.created_at)}): {_one_line(head)}"]
        lines += [f"    - {_one_line(r)}" for r in results if r.strip() and not r.startswith(" ")]
    return [*lines, ""]


def _prompts() -> list[str]:
    sections = {
        "Root cause": "What broke, and why? Ask why until the answer is a decision, not a person.",
        "Contributing factors": "What made it more likely, last longer or harder to see?",
        "What went well": "Detection, tools, people, runbook steps that helped.",
        "What went wrong": "Where time was lost; what the runbook or alerts missed.",
        "Where we got lucky": "What could have made this much worse, and did not.",
    }
    lines: list[str] = []
    for title, prompt in sections.items():
        lines += [f"## {title}", "", f"_{prompt}_", ""]
    lines += [
        "## Action items",
        "",
        "| Action | Owner | Due |",
        "| --- | --- | --- |",
        "| _what will prevent or shorten the next one_ | @owner | YYYY-MM-DD |",
    ]
    return lines


def _utc(at: float) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(at))


def _one_line(text: str) -> str:
    return " ".join(text.split())


def _cell(text: str) -> str:
    """User text inside a Markdown table cell: one line, pipes escaped."""
    return _one_line(text).replace("|", "\\|")
