"""The runbook's routine checks: daily, weekly and monthly digests, on schedule and by ``/ops routine``.

Each run keeps its figures (database size, new Sentry issues, slowest query...) in the store, so the
weekly and monthly digests can say how they grew. Runs are recurring jobs of the scheduler: a slot
missed while every instance was down runs once after start.
"""

from __future__ import annotations

import re
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Literal, get_args

from slack_sdk.models.blocks import MarkdownTextObject, SectionBlock

from bot.deps import Deps
from bot.jobs import scheduler
from bot.jobs.scheduler import Handler, Recurring, Timer
from bot.outbox import Post, Respond, owe
from bot.probes import Result, gather, sort_results
from bot.probes.specs import Check, ProbeSpec, StatusPage
from bot.settings import Settings
from bot.slack.blocks import Message, chunk_lines, escape, timestamp, to_dicts
from bot.store import Tx

Routine = Literal["daily", "weekly", "monthly"]
ROUTINES: tuple[Routine, ...] = get_args(Routine)
DAY = 86400.0

# What each digest checks: the runbook's Routine Maintenance, as far as probes reach.
PROBES: dict[Routine, tuple[ProbeSpec, ...]] = {
    # Sentry critical errors, app and function health, the critical path Shop -> Add to cart -> Checkout
    # (the shop's endpoints and Stripe), and Sentry's error rate.
    "daily": (
        Check.SENTRY_ISSUES,
        Check.SENTRY_SPIKE,
        Check.APP,
        StatusPage("Stripe"),
        Check.STRIPE_CHARGES,
        Check.STRIPE_WEBHOOKS,
    ),
    "weekly": (
        Check.DB_SLOW_QUERIES,
        Check.DB_SIZE,
        Check.DB_TABLE_SIZES,
        Check.SENTRY_ISSUES,
        Check.SENTRY_SPIKE,
    ),
    "monthly": (Check.DB_SIZE, Check.DB_TABLE_SIZES, Check.DB_INDEX_HINTS, Check.DB_CONNECTIONS),
}
# Which results become stored figures (name -> figure key), and how far back growth is measured.
FIGURES = {
    "Database size": "db.size_mb",
    "Sentry new issues (24h)": "sentry.new_issues",
    "Slowest statements": "db.slowest_mean_ms",
    "Largest tables": "db.top_tables_mb",
}
GROWTH_SINCE: dict[Routine, float] = {"daily": DAY, "weekly": 7 * DAY, "monthly": 30 * DAY}
REMINDERS: dict[Routine, tuple[str, ...]] = {
    "daily": (),
    "weekly": ("Run the checkout load test (`node scripts/loadtest-checkout.js`).", "Review `npm outdated`."),
    "monthly": (
        "Verify backups are running and test a restore (Cloud → Database → Backups).",
        "Run a dependency audit (`npm audit`).",
        "Review the runbook: is it still current?",
        "Capacity: does the instance size need an increase?",
    ),
}
_NUMBER = re.compile(r"-?\d+(?:\.\d+)?")


def kind(routine: Routine) -> str:
    """The scheduler kind of a routine's recurring job."""
    return f"routine.{routine}"


def recurring(settings: Settings) -> list[Recurring]:
    """The routine checks as recurring jobs, from ``routine_schedule`` in ``timezone``."""
    return [
        Recurring(kind=kind(r), cron=getattr(settings.routine_schedule, r), timezone=settings.timezone)
        for r in ROUTINES
    ]


def handlers(deps: Deps) -> dict[str, Handler]:
    """A handler per routine: record that it ran (in the claiming transaction), then run it."""

    def handler_for(routine: Routine) -> Handler:
        async def handler(tx: Tx, timer: Timer) -> None:
            deps.spawn_soon(lambda: run(deps, routine), name=f"routine:{routine}")

        return handler

    return {kind(r): handler_for(r) for r in ROUTINES}


def figures(results: Sequence[Result]) -> dict[str, float]:
    """The numbers worth keeping from a run's results (the first number of each figure). Pure."""
    found: dict[str, float] = {}
    for r in results:
        key = FIGURES.get(r.name)
        match = _NUMBER.search(r.figure or "") if key else None
        if key and match:
            found[key] = float(match.group(0))
    return found


@dataclass(frozen=True)
class Growth:
    name: str
    now: float
    then: float | None
    since: float | None


async def run(deps: Deps, routine: Routine, *, response_url: str | None = None) -> Message:
    """Run a routine check now: probes, figures kept, the digest owed to the routine channel."""
    started = time.monotonic()
    probes = deps.catalog.probes(PROBES[routine])
    results = await gather(probes, deps.catalog.timeout)
    found = figures(results)
    now = deps.clock()
    async with deps.store.transaction() as tx:
        growth = [
            await _growth(tx, name, value, now=now, back=GROWTH_SINCE[routine])
            for name, value in found.items()
        ]
        for name, value in found.items():
            await tx.write(
                "INSERT INTO routine_figures (routine, name, value, measured_at) VALUES (?,?,?,?)",
                (routine, name, value, now),
            )
        runs = await last_runs(tx)
        _, late = await scheduler.due_counts(tx, now=now)
        message = digest(
            routine, results, growth, runs=runs, late_timers=late, at=now, elapsed=time.monotonic() - started
        )
        await tx.write(
            "INSERT INTO routine_runs (routine, started_at, summary) VALUES (?,?,?)",
            (routine, now, _tally(results)),
        )
        text, blocks = message.text, message.blocks
        await owe(tx, Post(f"routine:{routine}", text, blocks, channel=deps.settings.routine_channel), at=now)
        if response_url:
            await owe(tx, Respond.answer(response_url, text, blocks), at=now)  # `/ops routine`'s ack
    deps.outbox.notify()
    return message


async def _growth(tx: Tx, name: str, value: float, *, now: float, back: float) -> Growth:
    row = await tx.fetchone(
        "SELECT value, measured_at FROM routine_figures WHERE name = ? AND measured_at <= ?"
        " ORDER BY measured_at DESC LIMIT 1",
        (name, now - back + 3600),  # an hour's slack: a run a little early still compares
    )
    if row is None:
        return Growth(name, value, None, None)
    return Growth(name, value, float(row["value"]), float(row["measured_at"]))


async def last_runs(tx: Tx) -> dict[str, float]:
    """When each routine last ran (one indexed lookup per routine)."""
    found: dict[str, float] = {}
    for r in ROUTINES:
        row = await tx.fetchone(
            "SELECT started_at FROM routine_runs WHERE routine = ? ORDER BY started_at DESC LIMIT 1", (r,)
        )
        if row is not None:
            found[r] = float(row["started_at"])
    return found


def _tally(results: Sequence[Result]) -> str:
    counts: dict[str, int] = {}
    for r in results:
        counts[r.state.value] = counts.get(r.state.value, 0) + 1
    return ", ".join(f"{n} {state}" for state, n in sorted(counts.items()))


def digest(
    routine: Routine,
    results: Sequence[Result],
    growth: Sequence[Growth],
    *,
    runs: Mapping[str, float],
    late_timers: int,
    at: float,
    elapsed: float,
) -> Message:
    """The digest a routine check posts. Pure."""
    lines = [
        f":clipboard: *{routine.capitalize()} checks* · {timestamp(at)} · {_tally(results)} ({elapsed:.1f}s)"
    ]
    for r in sort_results(results):
        figure = f" ({escape(r.figure)})" if r.figure else ""
        lines.append(f"{r.state.emoji} *{escape(r.name)}*: {escape(r.summary)}{figure}")
        lines.extend(f"      {escape(d)}" for d in r.details[:3])
    if growth:
        lines.append("*Figures*")
        lines.extend(_growth_line(g) for g in growth)
    if routine == "daily":
        ran = ", ".join(f"{name} {timestamp(when)}" for name, when in runs.items()) or "none yet"
        jobs = "all on time" if late_timers == 0 else f"*{late_timers} overdue by more than a minute*"
        lines.append(f"*Scheduled jobs*: opsbot's timers {jobs}; last routine runs: {ran}.")
    if REMINDERS[routine]:
        lines.append("*Reminders*")
        lines.extend(f"• {text}" for text in REMINDERS[routine])
    chunks = chunk_lines(lines)
    blocks = [SectionBlock(text=MarkdownTextObject(text=c)) for c in chunks[:45]]
    return Message(text="\n".join(lines)[:3900], blocks=to_dicts(blocks))


def _growth_line(g: Growth) -> str:
    if g.then is None or g.since is None:
        return f"• {g.name}: {g.now:g} (first measurement)"
    change = g.now - g.then
    pct = f", {change / g.then * 100:+.1f}%" if g.then else ""
    return f"• {g.name}: {g.now:g} ({change:+g}{pct} since {timestamp(g.since)})"
