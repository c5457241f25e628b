"""Statistics, pure: counts, medians and means per severity, weeks; the chart is a real PNG."""

from __future__ import annotations

from bot.incidents.chart import png
from bot.incidents.model import Severity
from bot.incidents.stats import Facts, compute, summary_lines
from tests.harness import Harness

NOW = 1_800_000_000.0
DAY = 86400.0


def fact(n: int, severity: Severity, *, age_days: float, ack: float | None, resolve: float | None) -> Facts:
    created = NOW - age_days * DAY
    return Facts(
        n,
        severity,
        "checkout" if n % 2 else None,
        created,
        created + ack if ack is not None else None,
        created + resolve if resolve is not None else None,
    )


FACTS = [
    fact(1, Severity.P1, age_days=1, ack=60, resolve=3600),
    fact(2, Severity.P1, age_days=2, ack=180, resolve=7200),
    fact(3, Severity.P1, age_days=3, ack=None, resolve=None),  # still open, never acknowledged
    fact(4, Severity.P0, age_days=10, ack=30, resolve=900),
    fact(5, Severity.P3, age_days=40, ack=10, resolve=10),  # outside a 30-day window
]


def test_counts_medians_and_means_by_severity() -> None:
    stats = compute(FACTS, since=NOW - 30 * DAY, until=NOW)
    assert stats.total == 4
    assert stats.by_severity == {Severity.P0: 1, Severity.P1: 3, Severity.P2: 0, Severity.P3: 0}
    assert stats.by_scenario == {"checkout": 2, "general": 2}
    p1_ack, p1_res = stats.to_acknowledge[Severity.P1], stats.to_resolve[Severity.P1]
    assert (p1_ack.count, p1_ack.median, p1_ack.mean) == (2, 120.0, 120.0)
    assert (p1_res.count, p1_res.median, p1_res.mean) == (2, 5400.0, 5400.0)
    assert stats.to_resolve[Severity.P2].median is None
    # five weeks from 30 days ago, oldest first; the last is two days long
    assert [n for _, n in stats.per_week] == [0, 0, 1, 1, 2]


def test_summary_lines_say_what_a_person_wants_to_read() -> None:
    lines = summary_lines(compute(FACTS, since=NOW - 30 * DAY, until=NOW))
    text = "\n".join(lines)
    assert "Incidents in the last 30 days" in text and ": 4" in lines[0]
    assert "P1: 2m 00s · 2m 00s  /  1h 30m · 1h 30m  (2 resolved)" in text
    assert "P2" not in text.split("By severity")[1].split("\n", 1)[1]  # no line for a severity with nothing


def test_chart_is_a_png() -> None:
    picture = png(compute(FACTS, since=NOW - 30 * DAY, until=NOW))
    assert picture.startswith(b"\x89PNG\r\n\x1a\n") and len(picture) > 10_000
    assert png(compute([], since=NOW - 7 * DAY, until=NOW)).startswith(
        b"\x89PNG"
    )  # nothing to show still draws


async def test_stats_over_slack_reply_privately_and_upload_the_chart_once(bot: Harness) -> None:
    for text in ("P1 checkout broken", "P2 payments slow", "P1 site down"):
        await bot.command(f"open {text}")
    await bot.command("ack INC-1")
    await bot.command("resolve INC-1 fixed")
    await bot.settle()
    reply = await bot.command("stats 30d", trigger_id="1.2.stats")
    assert "Incidents in the last 30 days" in reply["text"] and ": 3" in reply["text"]
    assert "By severity: P0 0, P1 2, P2 1, P3 0" in reply["text"]
    again = await bot.command("stats 30d", trigger_id="1.2.stats")  # Slack sends it again
    assert "delivered twice" in again["text"]
    await bot.settle()
    [upload] = [f for f in bot.sim.uploads.values() if f.filename == "incidents-30d.png"]
    assert upload.content is not None and upload.content.startswith(b"\x89PNG")
    assert upload.channel == "C0INCIDENT"


async def test_stats_window_must_be_days(bot: Harness) -> None:
    reply = await bot.command("stats fortnight")
    assert "is not a window" in reply["text"] and "/incident stats" in reply["text"]
