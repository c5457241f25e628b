"""The /ops grammar, pure, and fuzzed."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.errors import UsageError
from bot.runbook import ops


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", ops.OpsHelp()),
        ("help", ops.OpsHelp()),
        ("status", ops.OpsStatus()),
        ("status public", ops.OpsStatus(public=True)),
        ("check payments", ops.OpsCheck("payments")),
        ("check SITE_DOWN public", ops.OpsCheck("site_down", public=True)),
        ("db connections", ops.OpsDb("connections")),
        ("db long-queries", ops.OpsDb("long-queries")),
        ("db long-queries 0", ops.OpsDb("long-queries", 0.0)),
        ("db long-queries 2.5 public", ops.OpsDb("long-queries", 2.5, public=True)),
        ("deploys", ops.OpsDeploys()),
    ],
)
def test_parses(text: str, expected: ops.OpsCommand) -> None:
    assert ops.parse_ops_command(text) == expected


@settings(max_examples=500, deadline=None)
@given(st.text(max_size=200))
def test_fuzz_never_crashes(text: str) -> None:
    try:
        ops.parse_ops_command(text)
    except UsageError as err:
        assert err.user_message().strip() and err.usage


@settings(max_examples=300, deadline=None)
@given(
    st.lists(
        st.sampled_from(
            [
                "status",
                "check",
                "db",
                "deploys",
                "public",
                "payments",
                "long-queries",
                "-1",
                "1e9",
                "nan",
                "cache",
                "x",
                "",
            ]
        ),
        max_size=5,
    )
)
def test_fuzz_command_shaped(words: list[str]) -> None:
    try:
        ops.parse_ops_command(" ".join(words))
    except UsageError as err:
        assert err.user_message().strip()
