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
