"""Every result state rendered; checklists and pickers as the dicts Slack gets."""

from __future__ import annotations

import json

import pytest

import handlers
from bot.probes import Result, State
from bot.runbook import report
from bot.slack import ids


@pytest.mark.parametrize("state", list(State))
def test_every_state_is_written_as_its_word(state: State) -> None:
    r = Result("DB connections", state, "within limits", "10/100 (10%)", "warn at 80%, fail at 95%")
    line = report.result_line(r)
    assert f"*{state.value}*" in line and state.emoji in line
    assert "DB connections: 10/100 (10%)" in line and "(threshold: warn at 80%, fail at 95%)" in line
    assert report.result_line(r, markdown=False).startswith(f"{state.value} DB connections")
    message = report.status_message([r], elapsed=0.5)
    assert state.value in message.text and f"1 {state.value}" in message.text


def test_status_lists_failures_first_and_counts() -> None:
    results = [
        Result("a", State.OK, "ok"),
        Result("b", State.FAIL, "down"),
        Result("c", State.WARN, "meh"),
        Result("d", State.UNKNOWN, "timed out after 5s"),
        Result("e", State.NOT_CONFIGURED, "set X"),
    ]
    message = report.status_message(results, elapsed=1.23)
    lines = message.text.splitlines()
    assert lines[0] == "Health at a glance: 1 OK · 1 WARN · 1 FAIL · 1 UNKNOWN · 1 NOT CONFIGURED"
    assert [line.split()[0] for line in lines[1:]] == ["FAIL", "WARN", "UNKNOWN", "OK", "NOT"]


def test_details_are_capped_and_escaped() -> None:
    r = Result(
        "Blocked queries", State.WARN, "2 <waiting>", details=tuple(f"pid {i} <!channel>" for i in range(9))
    )
    text = json.dumps(report.status_message([r], elapsed=0).blocks)
    assert "&lt;!channel&gt;" in text and "<!channel>" not in text and "and 4 more" in text


def test_diagnostics_report_fills_in() -> None:
    scenario = handlers.SCENARIOS["payments"]
    first = report.diagnostics_message(scenario, [], pending=["Stripe status", "Stripe webhooks"])
    assert "0 done, 2 running" in first.text and "Stripe webhooks: running" in first.text
    done = report.diagnostics_message(
        scenario, [Result("Stripe webhooks", State.FAIL, "1 disabled")], pending=[], elapsed=1.5
    )
    assert "finished in 1.5s: 1 FAIL" in done.text and "running" not in done.text


def test_checklist_has_checkboxes_with_shared_state() -> None:
    scenario = handlers.SCENARIOS["checkout"]
    message = report.checklist_message(4, scenario, {"i1": "U0DANA", "r2": "U0ALEX"})
    sections = [b for b in message.blocks if b.get("accessory", {}).get("type") == "checkboxes"]
    assert [s["block_id"] for s in sections] == [
        "checklist:4:investigation:checkout:i1",
        "checklist:4:resolution:checkout:r2",
    ]
    parsed = ids.ChecklistSection.decode(sections[0]["block_id"])
    assert parsed == ids.ChecklistSection(4, "investigation", frozenset({"i1"}), "checkout")
    assert ids.ChecklistSection.decode("checklist:4:investigation:i1") == ids.ChecklistSection(
        4, "investigation", frozenset({"i1"})
    )
    assert ids.ChecklistSection.decode("checklist:4:investigation") == ids.ChecklistSection(
        4, "investigation"
    )
    assert [o["value"] for o in sections[0]["accessory"]["initial_options"]] == ["i1"]
    assert [o["value"] for o in sections[1]["accessory"]["initial_options"]] == ["r2"]
    assert "[x] Check Stripe status" in message.text and "[ ] Check orders that failed" in message.text
    context = json.dumps(message.blocks)
    assert (
        "Implement retry logic" in context and "Escalate immediately if" in context and "<@U0DANA>" in context
    )


def test_picker_offers_every_scenario() -> None:
    message = report.scenario_picker(9)
    select = message.blocks[0]["accessory"]
    assert select["action_id"] == ids.ACTION_SCENARIO
    assert [o["value"] for o in select["options"]] == [f"9:{k}" for k in handlers.SCENARIOS]
