"""The /incident grammar, pure."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.errors import UsageError
from bot.incidents import commands as c
from bot.incidents.model import Severity, Status


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("open P1 checkout broken", c.Open(Severity.P1, "checkout broken")),
        ("OPEN p0   site   down", c.Open(Severity.P0, "site down")),
        (
            "update INC-12 identified Stripe API timeouts",
            c.Transition(12, Status.IDENTIFIED, "Stripe API timeouts"),
        ),
        ("update #12 Monitoring", c.Transition(12, Status.MONITORING)),
        ("update 12 resolved done", c.Transition(12, Status.RESOLVED, "done")),
        ("resolve inc-3", c.Transition(3, Status.RESOLVED)),
        ("resolve INC3 all good now", c.Transition(3, Status.RESOLVED, "all good now")),
        ("note INC-2 rolled back\nsecond line", c.Note(2, "rolled back\nsecond line")),
        ("severity 4 p2", c.SetSeverity(4, Severity.P2)),
        ("commander 4 <@U024BE7LH|dana>", c.SetCommander(4, "U024BE7LH")),
        ("commander 4 <@W024BE7LH>", c.SetCommander(4, "W024BE7LH")),
        ("commander 4 U024BE7LH", c.SetCommander(4, "U024BE7LH")),
        ("impact 4 EU customers cannot pay", c.SetField(4, "impact", "EU customers cannot pay")),
        ("eta 4 ~30 min", c.SetField(4, "eta", "~30 min")),
        ("reopen 4", c.Reopen(4)),
        ("list", c.ListIncidents(False)),
        ("list OPEN", c.ListIncidents(False)),
        ("list all", c.ListIncidents(True)),
        ("show INC-9", c.Show(9)),
        ("help", c.Help()),
        ("", c.Help()),
    ],
)
def test_parses(text: str, expected: c.Command) -> None:
    assert c.parse_command(text) == expected


@pytest.mark.parametrize(
    ("text", "problem", "usage"),
    [
        ("bogus", "is not an incident command", "/incident help"),
        ("open P9 x", "is not a severity", c.USAGE["open"]),
        ("open P1", "needs a title", c.USAGE["open"]),
        ("open P1 " + "y" * 3001, "3001 characters", c.USAGE["open"]),
        ("update INC-0 identified", "is not an incident", c.USAGE["update"]),
        ("update INC-1", "Say the new status", c.USAGE["update"]),
        ("update INC-1 done", "is not a status", c.USAGE["update"]),
        ("note 1", "needs some text", c.USAGE["note"]),
        ("severity 1", "is not a severity", c.USAGE["severity"]),
        ("severity 1 P1 P2", "is not a severity", c.USAGE["severity"]),
        ("commander 1 @dana", "Name the new commander", c.USAGE["commander"]),
        ("list some", "is not a list scope", c.USAGE["list"]),
        ("reopen", "needs an incident", c.USAGE["reopen"]),
    ],
)
def test_usage_errors_say_what_and_show_form(text: str, problem: str, usage: str) -> None:
    with pytest.raises(UsageError) as err:
        c.parse_command(text)
    assert problem in err.value.problem
    assert err.value.usage == usage
    assert usage in err.value.user_message()


def test_a_long_title_is_kept_whole() -> None:
    """A pasted error line is never refused; the card shortens it, the timeline keeps it."""
    assert c.parse_command("open P3 " + "z" * 900) == c.Open(Severity.P3, "z" * 900)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("identified Stripe API timeouts", c.Transition(5, Status.IDENTIFIED, "Stripe API timeouts")),
        ("Monitoring", c.Transition(5, Status.MONITORING)),
        ("resolve", c.Transition(5, Status.RESOLVED)),
        ("resolved fixed by rollback", c.Transition(5, Status.RESOLVED, "fixed by rollback")),
        ("note rolled back", c.Note(5, "rolled back")),
        ("severity P0", c.SetSeverity(5, Severity.P0)),
        ("commander <@U0DANA>", c.SetCommander(5, "U0DANA")),
        ("eta 10 min", c.SetField(5, "eta", "10 min")),
        ("reopen", c.Reopen(5)),
        ("show", c.Show(5)),
    ],
)
def test_thread_commands_imply_the_incident(text: str, expected: c.Command) -> None:
    assert c.parse_thread_command(text, 5) == expected


def test_help_has_every_form_and_example() -> None:
    text = c.help_text()
    for name in c.USAGE:
        assert c.USAGE[name] in text and c.EXAMPLES[name] in text


@settings(max_examples=500, deadline=None)
@given(st.text(max_size=300))
def test_fuzz_never_crashes_always_explains(text: str) -> None:
    """Whatever is typed, the parser returns a command or a UsageError with a message."""
    try:
        c.parse_command(text)
    except UsageError as err:
        assert err.user_message().strip()
    try:
        c.parse_thread_command(text, 1)
    except UsageError as err:
        assert err.user_message().strip()


@settings(max_examples=300, deadline=None)
@given(
    st.lists(
        st.sampled_from(
            [
                "open",
                "update",
                "note",
                "P1",
                "P9",
                "INC-1",
                "#2",
                "x",
                "identified",
                "resolve",
                "list",
                "all",
                "<@U1>",
                "commander",
                "severity",
                "",
                "🚨",
            ]
        ),
        max_size=8,
    )
)
def test_fuzz_command_shaped_input(words: list[str]) -> None:
    try:
        c.parse_command(" ".join(words))
    except UsageError as err:
        assert err.user_message().strip()


NOW = 1_764_254_400.0  # 2025-11-27 14:40 UTC


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("open high checkout broken", c.Open(Severity.P1, "checkout broken")),
        ("open CRITICAL site down", c.Open(Severity.P0, "site down")),
        ("severity INC-4 low", c.SetSeverity(4, Severity.P3)),
        ("update INC-4 mitigated rolled back", c.Transition(4, Status.MONITORING, "rolled back")),
        ("update INC-4 fixed", c.Transition(4, Status.RESOLVED)),
        ("update INC-4 closed", c.Transition(4, Status.RESOLVED)),
        ("ack INC-4", c.Acknowledge(4)),
        ("acknowledge 4", c.Acknowledge(4)),
        ("reopen INC-4 errors are back", c.Reopen(4, "errors are back")),
        ("scenario INC-4 Payments", c.SetScenario(4, "payments")),
        ("timeline INC-4 14:02 deploy of v2026.11.3", c.AddEarlier(4, NOW - 38 * 60, "deploy of v2026.11.3")),
        ("timeline INC-4 2025-11-27 09:30 first alert", c.AddEarlier(4, NOW - 5 * 3600 - 600, "first alert")),
        (
            "timeline INC-4 2025-11-27T09:30Z first alert",
            c.AddEarlier(4, NOW - 5 * 3600 - 600, "first alert"),
        ),
        ("timeline INC-4 25m ago pager fired", c.AddEarlier(4, NOW - 1500, "pager fired")),
        ("timeline INC-4 2 h ago deploy", c.AddEarlier(4, NOW - 7200, "deploy")),
        (
            "timeline INC-4 20:15 nightly job",
            c.AddEarlier(4, NOW - 86400 + 5 * 3600 + 35 * 60, "nightly job"),
        ),
        ("show INC-4 3", c.Show(4, 3)),
        ("show INC-4 page 2", c.Show(4, 2)),
    ],
)
def test_forgiving_forms(text: str, expected: c.Command) -> None:
    assert c.parse_command(text, now=NOW) == expected


@pytest.mark.parametrize(
    ("text", "hint"),
    [
        ("updte INC-1 identified", "Did you mean `update`?"),
        ("reslove INC-1", "Did you mean `resolve`?"),
        ("lst", "Did you mean `list`?"),
        ("update INC-1 identifed", "Did you mean `identified`?"),
    ],
)
def test_near_misses_get_a_did_you_mean(text: str, hint: str) -> None:
    with pytest.raises(UsageError) as err:
        c.parse_command(text, now=NOW)
    assert hint in err.value.user_message()


def test_near_miss_in_a_thread() -> None:
    with pytest.raises(UsageError) as err:
        c.parse_thread_command("identifed the cause", 3, now=NOW)
    assert "Did you mean `identified`?" in err.value.user_message()
    assert c.parse_thread_command("ack", 3) == c.Acknowledge(3)
    assert c.parse_thread_command("mitigated", 3) == c.Transition(3, Status.MONITORING)


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("timeline INC-4", "Say when it happened"),
        ("timeline INC-4 14:02", "Say what happened"),
        ("timeline INC-4 soon deploy", "is not a time"),
        ("timeline INC-4 25:00 deploy", "is not a time"),
        ("timeline INC-4 2025-02-30 10:00 deploy", "is not a time"),
        ("timeline INC-4 2026-01-01 10:00 deploy", "has not happened yet"),
        ("timeline INC-4 45d ago deploy", "more than 30 days ago"),
        ("show INC-4 two", "is not a page number"),
        ("scenario INC-4", "Name one runbook scenario"),
    ],
)
def test_bad_forms_say_what(text: str, problem: str) -> None:
    with pytest.raises(UsageError) as err:
        c.parse_command(text, now=NOW)
    assert problem in err.value.problem


@settings(max_examples=300, deadline=None)
@given(
    st.lists(
        st.sampled_from(
            ["14:02", "25:61", "2025-11-27", "09:30", "3m", "ago", "2", "h", "T", "Z", "x", "-1"]
        ),
        max_size=5,
    ),
)
def test_times_never_crash_and_never_lie_in_the_future(words: list[str]) -> None:
    try:
        cmd = c.parse_command("timeline 4 " + " ".join(words) + " text", now=NOW)
    except UsageError as err:
        assert err.user_message().strip()
    else:
        assert isinstance(cmd, c.AddEarlier) and NOW - 30 * 86400 <= cmd.at <= NOW


def test_new_forms_read_any_width() -> None:
    """NFKC before matching: fullwidth words mean the same (the edge branch's rule, on every verb)."""
    assert c.parse_command("ａｃｋ ＩＮＣ－４") == c.Acknowledge(4)
    assert c.parse_command("ｕｐｄａｔｅ 4 ｍｉｔｉｇａｔｅｄ") == c.Transition(4, Status.MONITORING)
    assert c.parse_command("scenario 4 Ｐａｙｍｅｎｔｓ") == c.SetScenario(4, "payments")
    with pytest.raises(UsageError, match="cannot command"):
        c.parse_command("commander 4 <@U0OPSBOT>", bot_user_id="U0OPSBOT")


def test_a_usage_with_its_own_code_spans_is_not_wrapped_in_another() -> None:
    # Wrapped in backticks, the thread usage's own `…` spans would pair up the wrong way in Slack.
    with pytest.raises(UsageError) as caught:
        c.parse_thread_command("frobnicate", 1, now=0.0)
    shown = caught.value.user_message()
    assert "Usage: In an incident's thread, mention me with one of: `investigating|" in shown
    assert shown.count("`") % 2 == 0 and "``" not in shown
    assert UsageError("No.", "/incident list").user_message() == "No.\nUsage: `/incident list`"
