"""Incident statistics over a window (pure): counts by severity and scenario, times to acknowledge and
to resolve, incidents per week. The chart is drawn by ``bot.incidents.chart``."""

from __future__ import annotations

import statistics
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

from bot.incidents.model import Severity, format_duration

WEEK = 7 * 24 * 3600


@dataclass(frozen=True)
class Facts:
    """What statistics need of one incident."""

    number: int
    severity: Severity
    scenario: str | None
    created_at: float
    acknowledged_at: float | None
    resolved_at: float | None


@dataclass(frozen=True)
class Times:
    """Median and mean of some durations, in seconds; None when there are none."""

    count: int
    median: float | None
    mean: float | None


@dataclass(frozen=True)
class Stats:
    since: float
    until: float
    total: int
    by_severity: dict[Severity, int]
    by_scenario: dict[str, int]
    to_acknowledge: dict[Severity, Times]
    to_resolve: dict[Severity, Times]
    per_week: list[tuple[float, int]]  # (week start, incidents declared that week), oldest first


def _times(values: Sequence[float]) -> Times:
    if not values:
        return Times(0, None, None)
    return Times(len(values), statistics.median(values), statistics.fmean(values))


def compute(facts: Sequence[Facts], *, since: float, until: float) -> Stats:
    """Statistics of the incidents declared in [since, until)."""
    window = [f for f in facts if since <= f.created_at < until]
    by_severity = {s: sum(1 for f in window if f.severity is s) for s in Severity}
    by_scenario = dict(Counter(f.scenario or "general" for f in window).most_common())
    ack = {
        s: _times([f.acknowledged_at - f.created_at for f in window if f.severity is s and f.acknowledged_at])
        for s in Severity
    }
    res = {
        s: _times([f.resolved_at - f.created_at for f in window if f.severity is s and f.resolved_at])
        for s in Severity
    }
    weeks: list[tuple[float, int]] = []
    start = since
    while start < until:
        end = min(start + WEEK, until)
        weeks.append((start, sum(1 for f in window if start <= f.created_at < end)))
        start = end
    return Stats(since, until, len(window), by_severity, by_scenario, ack, res, weeks)


def _fmt(value: float | None) -> str:
    return format_duration(value) if value is not None else "–"


def summary_lines(stats: Stats) -> list[str]:
    """The figures as text lines (Slack mrkdwn), for the message beside the chart."""
    days = round((stats.until - stats.since) / 86400)
    day = time.strftime("%Y-%m-%d", time.gmtime(stats.since))
    lines = [f"*Incidents in the last {days} days* (since {day}): {stats.total}"]
    lines.append("By severity: " + ", ".join(f"{s.value} {n}" for s, n in stats.by_severity.items()))
    if stats.by_scenario:
        lines.append("By scenario: " + ", ".join(f"{k} {n}" for k, n in stats.by_scenario.items()))
    lines.append("*Time to acknowledge / to resolve* (median · mean):")
    for s in Severity:
        ack, res = stats.to_acknowledge[s], stats.to_resolve[s]
        if ack.count or res.count or stats.by_severity[s]:
            acknowledge = f"{_fmt(ack.median)} · {_fmt(ack.mean)}"
            resolve = f"{_fmt(res.median)} · {_fmt(res.mean)}"
            lines.append(f"  {s.value}: {acknowledge}  /  {resolve}  ({res.count} resolved)")
    lines.append("Per week: " + ", ".join(str(n) for _, n in stats.per_week))
    return lines
