"""The clock's pure parts: durations and settings, rules, PagerDuty events, watch regressions, figures."""

from __future__ import annotations

import dataclasses

import pytest

from bot.clock import messages, pagerduty, rules
from bot.clock.durations import format_target, parse_duration
from bot.clock.rules import Policy, Verdict
from bot.clock.watch import regressions
from bot.errors import UsageError
from bot.incidents.model import Incident, Severity, Status
from bot.probes import Result, State
from bot.runbook.routine import figures
from bot.settings import Settings, SettingsError, load_settings


def inc(**kw: object) -> Incident:
    base = dict(
        number=4,
        title="site down",
        severity=Severity.P0,
        status=Status.INVESTIGATING,
        commander="U0DANA",
        declared_by="U0DANA",
        created_at=1000.0,
        updated_at=1000.0,
        escalation_level=1,
    )
    base.update(kw)
    return Incident(**base)  # type: ignore[arg-type]


POLICY = Policy.from_settings(Settings())


@pytest.mark.parametrize(
    ("text", "seconds"), [("90s", 90), ("15m", 900), ("2h", 7200), ("1d", 86400), ("1w", 604800), (30, 30)]
)
def test_durations(text: object, seconds: float) -> None:
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("bad", ["", "15", "15 minutes", "1y", "-5m", "0s", True])
def test_bad_durations(bad: object) -> None:
    with pytest.raises(ValueError, match="duration"):
        parse_duration(bad)


def test_format_target() -> None:
    assert [format_target(s) for s in (300, 7200, 90, 86400 * 14)] == ["5m", "2h", "90s", "2w"]


@pytest.mark.parametrize(
    ("override", "line"),
    [
        ({"response_targets": {"P1": "2x"}}, "RESPONSE_TARGETS.P1: '2x' is not a duration"),
        ({"update_every": {"P5": "1h"}}, "UPDATE_EVERY.P5: is not a setting opsbot knows"),
        ({"timezone": "Mars/Base"}, "TIMEZONE: 'Mars/Base' is not a time zone"),
        ({"routine_schedule": {"daily": "61 * * * *"}}, "ROUTINE_SCHEDULE.DAILY: '61 * * * *' is not a cron"),
        (
            {"escalation_path": [{"name": "x", "mention": "#ops"}]},
            "ESCALATION_PATH.0.MENTION: must be a Slack",
        ),
        ({"escalation_path": []}, "ESCALATION_PATH: List should have at least 1 item"),
        ({"monitoring_watch_every": "soon"}, "MONITORING_WATCH_EVERY: 'soon' is not a duration"),
    ],
)
def test_a_bad_setting_is_one_line_naming_the_key(override: dict[str, object], line: str) -> None:
    with pytest.raises(SettingsError) as caught:
        load_settings(**override)
    assert str(caught.value).startswith(line) and "\n" not in str(caught.value)


def test_defaults_from_the_runbook_and_partial_maps() -> None:
    s = load_settings(response_targets={"P1": "1h"}, oncall_usergroup="S0ONCALL")
    assert [s.response_targets.of(v) for v in Severity] == [300, 3600, 86400, 604800]
    assert s.resolve_targets.of(Severity.P0) == 900
    assert [lvl.name for lvl in s.escalation_path] == [
        "On-call engineer",
        "Engineering manager",
        "CTO/VP Engineering",
    ]
    assert (
        s.escalation_path[0].channel == "#engineering-oncall" and s.escalation_path[0].mention == "S0ONCALL"
    )


def test_environment_json_maps(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("UPDATE_EVERY", '{"P0": "10m"}')
    monkeypatch.setenv("ESCALATION_PATH", '[{"name": "On-call", "mention": "U0ONE"}]')
    s = load_settings()
    assert s.update_every.of(Severity.P0) == 600 and s.escalation_path[0].mention == "U0ONE"


def test_acknowledging_rules() -> None:
    i = inc()
    assert not rules.acknowledges(i, i, actor="U0BOB", kind="note")
    assert rules.acknowledges(i, i, actor="U0BOB", kind="status")
    assert rules.acknowledges(i, dataclasses.replace(i, commander="U0BOB"), actor="U0BOB", kind="commander")
    assert not rules.acknowledges(
        i, dataclasses.replace(i, commander="U0EVE"), actor="U0BOB", kind="commander"
    )
    acked = rules.acknowledge(i, actor="U0BOB", now=5.0)
    assert acked is not None and acked.acknowledged_by == "U0BOB"
    assert rules.acknowledge(acked, actor="U0EVE", now=6.0) is None  # the first stands
    assert not rules.first_page(inc(escalation_level=0, severity=Severity.P2))
    assert rules.first_page(inc(escalation_level=0, severity=Severity.P1))


def test_verdicts_drop_stale_timers() -> None:
    i = inc()
    assert rules.respond_verdict(i, POLICY, level=1) is Verdict.ESCALATE
    assert rules.respond_verdict(i, POLICY, level=0) is Verdict.DROP  # scheduled for an earlier level
    assert (
        rules.respond_verdict(inc(acknowledged_at=1.0, acknowledged_by="U"), POLICY, level=1) is Verdict.DROP
    )
    assert rules.respond_verdict(inc(status=Status.RESOLVED), POLICY, level=1) is Verdict.DROP
    assert rules.respond_verdict(inc(escalation_level=3), POLICY, level=3) is Verdict.AT_TOP
    assert rules.resolve_verdict(inc(acknowledged_at=1.0, acknowledged_by="U"), POLICY) is Verdict.ESCALATE
    assert rules.resolve_verdict(None, POLICY) is Verdict.DROP
    with pytest.raises(UsageError, match="top of the escalation path"):
        rules.escalate(inc(escalation_level=3), POLICY)


def test_nudge_verdicts() -> None:
    i = inc()  # P0: every 15 min
    assert rules.nudge_verdict(i, POLICY, last_update=1000.0, now=1000.0 + 899) == (Verdict.LATER, 1900.0)
    assert rules.nudge_verdict(i, POLICY, last_update=1000.0, now=2000.0) == (Verdict.NUDGE, 2900.0)
    assert rules.nudge_verdict(inc(status=Status.RESOLVED), POLICY, last_update=0, now=5)[0] is Verdict.DROP


def test_mentions_and_page_button() -> None:
    levels = Settings(
        escalation_path=[{"name": "A", "mention": "S1"}, {"name": "B", "mention": "U2"}]
    ).escalation_path
    assert [rules.mention(level) for level in levels] == ["<!subteam^S1>", "<@U2>"]
    assert rules.mention(Settings().escalation_path[1]) == "*Engineering manager*"
    msg = messages.page(
        inc(title="<!here> down"),
        levels[0],
        number=1,
        why="declared P0",
        incident_channel="#inc",
        in_thread=False,
    )
    assert "&lt;!here&gt; down" in msg.text and "The card and its thread are in #inc." in msg.text
    assert messages.parse_ack(msg.blocks[-1]["elements"][0]["value"]) == 4
    assert messages.parse_snooze("4:1800") == (4, 1800.0)
    with pytest.raises(UsageError):
        messages.parse_snooze("4:forever")


def test_pagerduty_events() -> None:
    trigger = pagerduty.event(inc(title="x" * 2000), "trigger", source="shop.example")
    assert trigger["dedup_key"] == "opsbot-INC-4" and len(trigger["payload"]["summary"]) == 1024
    assert trigger["payload"]["severity"] == "critical" and "routing_key" not in trigger
    assert pagerduty.event(inc(severity=Severity.P1), "trigger", source="s")["payload"]["severity"] == "error"
    assert pagerduty.event(inc(), "resolve", source="s") == {
        "event_action": "resolve",
        "dedup_key": "opsbot-INC-4",
    }


def test_watch_regressions() -> None:
    def r(name: str, state: State) -> Result:
        return Result(name, state, "")

    before = {"App": "OK", "DB": "WARN", "Stripe": "OK", "New": "FAIL"}
    now = [r("App", State.FAIL), r("DB", State.FAIL), r("Stripe", State.UNKNOWN), r("New", State.FAIL)]
    assert regressions(before, now) == ["App OK → FAIL", "DB WARN → FAIL"]
    assert regressions({}, now) == []


def test_routine_figures() -> None:
    results = [
        Result("Database size", State.OK, "", "123.4 MB"),
        Result("Sentry new issues (24h)", State.OK, "", "7"),
        Result("Stripe status", State.OK, "", "up"),
    ]
    assert figures(results) == {"db.size_mb": 123.4, "sentry.new_issues": 7.0}
