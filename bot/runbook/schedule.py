"""``/ops schedule``: the next routine runs and every pending timer (which incident, what, when)."""

from __future__ import annotations

from collections.abc import Sequence

from slack_sdk.models.blocks import MarkdownTextObject, SectionBlock

from bot.clock import rules
from bot.deps import Deps
from bot.incidents.model import format_duration
from bot.jobs import scheduler
from bot.jobs.scheduler import Timer
from bot.runbook import routine
from bot.slack.blocks import Message, chunk_lines, timestamp, to_dicts

LIMIT = 50
WHAT = {
    rules.RESPOND: "response target: unacknowledged by then, level {next} is called",
    rules.RESOLVE: "resolve target: still open by then, the next level is called",
    rules.NUDGE: "update reminder to the commander",
    rules.WATCH: "monitoring watch: next diagnostics round",
}


async def listing(deps: Deps) -> Message:
    """The schedule as it stands: routine runs from their cron, then the soonest pending timers."""
    now = deps.clock()
    async with deps.store.transaction() as tx:
        timers = await scheduler.pending(tx, limit=LIMIT + len(routine.ROUTINES) + 1)
    nexts = {job.kind: job.next_due(now) for job in routine.recurring(deps.settings)}
    return render(timers, routine_runs=nexts, now=now)


def describe(timer: Timer, *, now: float) -> str:
    """One line for a timer. Pure."""
    number = rules.subject_number(timer.subject)
    what = WHAT.get(timer.kind, timer.kind)
    level = timer.payload.get("level")
    what = what.format(next=(level + 1) if isinstance(level, int) else "the next")
    whose = f"*INC-{number}*" if number is not None else timer.subject or timer.kind
    return f"• {whose} · {what} · {_when(timer.due, now)}"


def _when(due: float, now: float) -> str:
    if due <= now:
        return f"{timestamp(due)} (due now)"
    return f"{timestamp(due)} (in {format_duration(due - now)})"


def render(timers: Sequence[Timer], *, routine_runs: dict[str, float], now: float) -> Message:
    """The ``/ops schedule`` answer. Pure."""
    lines = ["*Routine checks*"]
    for kind, due in sorted(routine_runs.items(), key=lambda item: item[1]):
        lines.append(f"• {kind.removeprefix('routine.').capitalize()} checks · {_when(due, now)}")
    pending = [t for t in timers if t.kind not in routine_runs]
    lines.append(f"*Pending timers* ({len(pending[:LIMIT])}{'+' if len(pending) > LIMIT else ''})")
    lines.extend(describe(t, now=now) for t in pending[:LIMIT])
    if not pending:
        lines.append("• none")
    if len(pending) > LIMIT:
        lines.append(f"…and more after these {LIMIT} (soonest first).")
    text = "\n".join(lines)
    blocks = [SectionBlock(text=MarkdownTextObject(text=c)) for c in chunk_lines(lines)]
    return Message(text=text[:3900], blocks=to_dicts(blocks))
