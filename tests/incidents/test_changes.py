"""Each /incident command's pure change, without a store or Slack."""

from __future__ import annotations

import ast
import dataclasses
from pathlib import Path

import pytest

from bot.errors import InvalidTransition, UsageError
from bot.incidents import changes as ch
from bot.incidents import commands as c
from bot.incidents.events import ScenarioChanged
from bot.incidents.model import Incident, Severity, Status
from bot.incidents.service import apply_change

NOW = 1_700_000_600.0
CTX = ch.Context(actor="U0DANA", now=NOW, scenarios={"checkout": "Checkout", "payments": "Payments"})


def inc(**changes: object) -> Incident:
    base = Incident(
        number=7,
        title="checkout broken",
        severity=Severity.P1,
        status=Status.INVESTIGATING,
        commander="U0ONCALL",
        declared_by="U0ONCALL",
        created_at=NOW - 600,
        updated_at=NOW - 600,
        scenario="checkout",
        status_times={"investigating": NOW - 600},
    )
    return dataclasses.replace(base, **changes)  # type: ignore[arg-type]


def test_every_verb_is_listed_once_and_every_change_command_has_its_change() -> None:
    names = [v.name for v in c.VERBS]
    assert len(names) == len(set(names))
    for cmd_type in (
        c.Transition,
        c.Acknowledge,
        c.Note,
        c.SetSeverity,
        c.SetCommander,
        c.SetField,
        c.SetScenario,
        c.AddEarlier,
        c.Reopen,
    ):
        assert c.verb_for(cmd_type.__new__(cmd_type)).apply is not None


def test_update_forward() -> None:
    got = apply_change(inc(), c.Transition(7, Status.IDENTIFIED, "Stripe timeouts"), CTX)
    assert got.incident.status is Status.IDENTIFIED and got.incident.latest_update == "Stripe timeouts"
    assert got.summary == "Investigating → Identified: Stripe timeouts"
    assert "changed status Investigating → *Identified*: Stripe timeouts" in got.announcement


def test_update_backward_needs_a_reason_and_says_so() -> None:
    at = inc(status=Status.MONITORING, status_times={"investigating": NOW - 600, "monitoring": NOW - 60})
    with pytest.raises(InvalidTransition):
        apply_change(at, c.Transition(7, Status.IDENTIFIED), CTX)
    got = apply_change(at, c.Transition(7, Status.IDENTIFIED, "errors came back"), CTX)
    assert got.incident.status is Status.IDENTIFIED
    assert got.incident.status_times["monitoring"] == NOW - 60
    assert "(back): errors came back" in got.announcement


def test_resolve_broadcasts_with_duration() -> None:
    got = apply_change(inc(), c.Transition(7, Status.RESOLVED, "all clear"), CTX)
    assert got.broadcast and "resolved *INC-7* after 10m 00s: all clear" in got.announcement


def test_reopen_clears_eta_and_updates_and_keeps_the_reason() -> None:
    resolved = inc(status=Status.RESOLVED, eta="5 min", latest_update="fixed", status_times={"resolved": NOW})
    got = apply_change(resolved, c.Reopen(7, "errors are back"), CTX)
    assert got.incident.status is Status.INVESTIGATING and got.incident.eta is None
    assert got.incident.latest_update == "errors are back"
    assert "ETA and updates cleared" in got.summary
    with pytest.raises(UsageError, match="nothing to reopen"):
        apply_change(inc(), c.Reopen(7), CTX)


def test_resolved_refuses_changes_but_a_status_word_reopens() -> None:
    resolved = inc(status=Status.RESOLVED, status_times={"resolved": NOW})
    with pytest.raises(UsageError, match="reopen it first"):
        apply_change(resolved, c.Note(7, "x"), CTX)
    assert apply_change(resolved, c.Transition(7, Status.INVESTIGATING), CTX).summary.startswith("reopened")


def test_acknowledge_once() -> None:
    got = apply_change(inc(), c.Acknowledge(7), CTX)
    assert got.incident.acknowledged_at == NOW and "acknowledged *INC-7* after 10m 00s" in got.announcement
    with pytest.raises(UsageError, match="acknowledged already"):
        apply_change(got.incident, c.Acknowledge(7), CTX)


def test_note_impact_eta_escape_user_text() -> None:
    assert apply_change(inc(), c.Note(7, "<!channel> a&b"), CTX).announcement.endswith(
        "&lt;!channel&gt; a&amp;b"
    )
    assert apply_change(inc(), c.SetField(7, "impact", "EU"), CTX).incident.impact == "EU"
    assert apply_change(inc(), c.SetField(7, "eta", "5 min"), CTX).summary == "ETA: 5 min"


def test_severity_and_commander() -> None:
    assert apply_change(inc(), c.SetSeverity(7, Severity.P0), CTX).summary == "P1 → P0"
    with pytest.raises(UsageError, match="already P1"):
        apply_change(inc(), c.SetSeverity(7, Severity.P1), CTX)
    assert apply_change(inc(), c.SetCommander(7, "U0DANA"), CTX).incident.commander == "U0DANA"


def test_scenario_reroutes_fuzzily_and_emits_the_event() -> None:
    got = apply_change(inc(), c.SetScenario(7, "paymnts"), CTX)
    assert got.incident.scenario == "payments" and got.summary == "scenario: Checkout → Payments"
    assert got.events == (ScenarioChanged(got.incident, "checkout", "U0DANA"),)
    assert not got.incident.restricted
    secret = dataclasses.replace(
        CTX, scenarios={**CTX.scenarios, "security": "Security"}, confidential=frozenset({"security"})
    )
    assert apply_change(inc(), c.SetScenario(7, "security"), secret).incident.restricted
    with pytest.raises(UsageError, match="Pick one of: checkout, payments"):
        apply_change(inc(), c.SetScenario(7, "weather"), CTX)
    with pytest.raises(UsageError, match="already follows"):
        apply_change(inc(), c.SetScenario(7, "checkout"), CTX)


def test_timeline_event_is_dated_when_it_happened() -> None:
    got = apply_change(inc(), c.AddEarlier(7, NOW - 3600, "deploy of v2026.11.3"), CTX)
    assert got.at == NOW - 3600 and got.kind == "earlier" and got.summary == "deploy of v2026.11.3"
    assert got.incident.status is Status.INVESTIGATING


def test_the_core_does_not_import_the_runbook() -> None:
    """Dependencies point one way: the runbook subscribes to the core, never the other way round."""
    for path in (Path(__file__).parents[2] / "bot" / "incidents").glob("*.py"):
        tree = ast.parse(path.read_text())
        imported = [
            node.module if isinstance(node, ast.ImportFrom) else alias.name
            for node in ast.walk(tree)
            if isinstance(node, ast.Import | ast.ImportFrom)
            for alias in node.names
        ]
        for name in imported:
            assert not (name or "").startswith(("handlers", "bot.runbook", "bot.probes")), (path, name)
