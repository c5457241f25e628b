"""The /ops words for remediation: pure parsing, and what the preview and audit look like."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from bot.actions import grammar, render
from bot.actions.model import (
    AuthChange,
    Preview,
    RunNamed,
    Session,
    SignalLong,
    SignalPid,
    SignalPlan,
    SqlPlan,
    decode_plan,
    encode_plan,
)
from bot.errors import UsageError
from bot.incidents.model import Status
from bot.runbook.ops import parse_ops_command
from bot.settings import Settings
from bot.store.remediation import AuditRow

UID = "0b0e3c1e-8f6a-4c1e-9d1a-3f1b2c3d4e5f"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("db cancel 42", grammar.ActionCommand(SignalPid("cancel", 42))),
        ("db terminate 42 for INC-3", grammar.ActionCommand(SignalPid("terminate", 42), 3)),
        ("db cancel-long", grammar.ActionCommand(SignalLong("cancel", 5.0))),
        ("db terminate-long 2.5 for inc-12", grammar.ActionCommand(SignalLong("terminate", 2.5), 12)),
        (f"auth disable {UID.upper()}", grammar.ActionCommand(AuthChange("disable", UID))),
        (f"auth clear-sessions {UID} for 4", grammar.ActionCommand(AuthChange("clear-sessions", UID), 4)),
        ("run requeue 17 eu", grammar.ActionCommand(RunNamed("requeue", ("17", "eu")))),
        ("audit", grammar.AuditCommand(10)),
        ("audit 50", grammar.AuditCommand(50)),
    ],
)
def test_parses(text: str, expected: object) -> None:
    assert parse_ops_command(text) == expected


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("db cancel 0", "`0` is not a backend pid"),
        ("db cancel 99999999999", "is not a backend pid"),
        ("db terminate-long 0", "`0` is not a number of minutes above 0"),
        ("db terminate-long 5 6", "takes at most a number of minutes"),
        ("auth disable 1234", "`1234` is not a user id"),
        (f"auth disable {UID} {UID}", "`disable` takes one user id"),
        ("auth disable <@U123>", "`&lt;@U123&gt;` is not a user id"),
        ("run", "Name the action to run"),
        ("audit 0", "is not a number from 1 to 50"),
        ("audit many", "is not a number from 1 to 50"),
        ("auth disable x public", "always private"),
    ],
)
def test_refuses_with_the_right_form(text: str, problem: str) -> None:
    with pytest.raises(UsageError) as caught:
        parse_ops_command(text)
    assert problem in caught.value.problem and caught.value.usage


def test_plans_round_trip() -> None:
    for plan in (SignalPlan("terminate", ((1, 2), (3, 4))), SqlPlan(("SELECT 1",), (("a", "b"),))):
        assert decode_plan(encode_plan(plan)) == plan


def test_preview_lists_sessions_blockers_and_the_protected_note() -> None:
    blocker = Session(7, "app", "shop", "active", 400, "UPDATE t SET x = N", 1, blocking=(8,))
    blocked = Session(8, "app", "shop", "active", 390, "UPDATE t SET x = N", 2, blocked_by=(7,))
    root = Session(9, "postgres", "", "active", 500, "SELECT pg_sleep(N)", 3, protected="superuser")
    preview = Preview(
        action=SignalLong("cancel", 5),
        role="opsbot_admin",
        plan=SignalPlan("cancel", ((7, 1), (8, 2))),
        sessions=(blocker, blocked, root),
    )
    message = render.preview_message(preview, token="t" * 32, expires_at=0, incident=3)
    text = message.text
    assert text.splitlines()[0] == ":mag: *Preview* of `db cancel-long 5` for INC-3"
    assert "Would cancel the query of 2 session(s) as `opsbot_admin`:" in text
    assert "pid 7 app (shop) active 6m 40s — blocking 8" in text
    assert "pid 8 app (shop) active 6m 30s — blocked by 7" in text
    assert "pid 9 postgres active 8m 20s *not signalled: superuser*" in text
    assert render.PROTECTED_NOTE in text
    button = message.blocks[-2]["elements"][0]
    assert (button["action_id"], button["value"], button["style"]) == (
        "ops_action_confirm",
        "t" * 32,
        "danger",
    )
    assert message.blocks[-1]["elements"][0]["text"] == "Only you can confirm, once, until 00:00 UTC."


def test_user_text_is_escaped_once_in_previews_and_audit() -> None:
    preview = Preview(action=RunNamed("x", ("<!channel>", "`a`")), role="r", problem="boom <!here>")
    text = render.preview_message(preview, token=None, expires_at=0, incident=None).text
    assert "<!channel>" not in text and "&lt;!channel&gt;" in text and "&lt;!here&gt;" in text
    row = AuditRow(at=0, actor="U1", event="refusal", action="run x <!everyone>", params="{}", result="<b>")
    line = render.audit_line(row)
    assert "&lt;!everyone&gt;" in line and "&lt;b&gt;" in line and "<@U1>" in line


def test_settings_check_actions_and_people() -> None:
    ok = {
        "name": "requeue",
        "sql": "UPDATE o SET s = 'p' WHERE id = %(id)s",
        "params": ["id"],
        "confirm_text": "t",
    }
    assert Settings(actions=[ok]).actions[0].sql == [ok["sql"]]
    for bad in (
        {**ok, "params": []},
        {**ok, "params": ["id", "other"]},
        {**ok, "name": "Bad Name"},
    ):
        with pytest.raises(ValidationError):
            Settings(actions=[bad])
    with pytest.raises(ValidationError, match="each action needs its own name"):
        Settings(actions=[ok, ok])
    with pytest.raises(ValidationError, match="is not a user ID"):
        Settings(remediation_allowed=["dana"])
    with pytest.raises(ValidationError, match="own role"):
        Settings(ops_database_url="postgresql://a@h/db", ops_database_admin_url="postgresql://a@h/db")
    with pytest.raises(ValidationError, match="plain schema name"):
        Settings(auth_schema="auth; DROP")
    with pytest.raises(ValidationError, match="is not a channel ID"):
        Settings(allowed_channels={"actions": ["#ops"]})
    assert "pw" in Settings(ops_database_admin_url="postgresql://a:pw@h/db").secrets()


def test_help_and_unknown_verbs_name_the_remediation_forms() -> None:
    from bot.runbook.ops import help_text

    text = help_text()
    for form in (
        "/ops db cancel|terminate <pid>",
        "/ops auth clear-sessions",
        "/ops run <action>",
        "/ops audit",
    ):
        assert form in text
    with pytest.raises(UsageError) as caught:
        parse_ops_command("bogus")
    assert caught.value.problem.endswith("Try one of: status, check, db, deploys, auth, run, audit, help.")


def test_incident_admins_reserve_only_the_destructive_changes() -> None:
    import time

    from bot.incidents import commands as c
    from bot.incidents.guard import admin_only
    from bot.incidents.model import Incident, Severity

    def inc(severity: Severity) -> Incident:
        now = time.time()
        return Incident(
            number=3,
            title="t",
            severity=severity,
            status=Status.INVESTIGATING,
            commander="U1",
            declared_by="U1",
            created_at=now,
            updated_at=now,
        )

    assert admin_only(inc(Severity.P1), c.Transition(3, Status.RESOLVED)) == "resolve P1 INC-3"
    assert admin_only(inc(Severity.P0), c.SetSeverity(3, Severity.P3)) == "lower the severity of P0 INC-3"
    assert admin_only(inc(Severity.P2), c.Transition(3, Status.RESOLVED)) is None
    assert admin_only(inc(Severity.P1), c.SetSeverity(3, Severity.P0)) is None
    assert admin_only(inc(Severity.P1), c.SetSeverity(3, Severity.P2)) == "lower the severity of P1 INC-3"
    assert admin_only(inc(Severity.P2), c.SetSeverity(3, Severity.P3)) is None
    assert admin_only(inc(Severity.P0), c.Transition(3, Status.IDENTIFIED)) is None
