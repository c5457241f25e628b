"""Every Block Kit limit held at render time, on the escaped text; the stand-in refuses what Slack refuses."""

from __future__ import annotations

import json
import re
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

import handlers
from bot.devtools.slack_limits import refusal
from bot.incidents import render
from bot.incidents.model import Status
from bot.probes import Result, State
from bot.runbook import report
from bot.slack import blocks
from bot.slack.blocks import clip, escape
from bot.store.repo import TimelineEvent
from handlers.scenario import Scenario, steps
from tests.harness import Harness
from tests.incidents.test_render import inc

WORST = ("&<>" * 700)[:2000]  # escapes to five times its length
ENTITY_OR_TOKEN_CUT = re.compile(r"&[a-z]{0,3}…|<[^>]*…$")


def check_limits(kwargs: dict[str, Any]) -> None:
    """Each documented limit, checked one by one (and the stand-in's verdict)."""
    assert refusal(kwargs) is None, refusal(kwargs)
    assert len(kwargs["text"]) <= 40_000
    found = kwargs.get("blocks") or []
    assert len(found) <= 50
    for block in found:
        if block["type"] == "section":
            assert len(block.get("text", {}).get("text", "")) <= 3000
            assert len(block.get("fields", [])) <= 10
            assert all(len(f["text"]) <= 2000 for f in block.get("fields", []))
        if block["type"] == "context":
            assert len(block["elements"]) <= 10
            assert all(len(e.get("text", "")) <= 3000 for e in block["elements"])
        for element in [*block.get("elements", []), block.get("accessory") or {}]:
            if element.get("type") == "button":
                assert len(element["text"]["text"]) <= 75 and len(element["value"]) <= 2000
            for option in element.get("options", []):
                assert len(option["text"]["text"]) <= 75 and len(option["value"]) <= 150
        dumped = json.dumps(block, ensure_ascii=False)
        assert not ENTITY_OR_TOKEN_CUT.search(dumped), dumped[-200:]


def worst_incident() -> Any:
    return inc(
        title=("&" * 150),
        impact=WORST,
        eta=WORST,
        latest_update=WORST,
        commander="U0DANA",
        status=Status.IDENTIFIED,
    )


def test_worst_case_card_and_detail_hold_every_limit() -> None:
    card = render.incident_card(worst_incident(), oncall_group="S0ONCALL")
    check_limits(card.as_kwargs())
    fields = card.blocks[1]["fields"]
    assert any(f["text"].endswith("…") for f in fields)
    events = [
        TimelineEvent(i, 7, "message", "U0DANA", WORST + f" <https://x.example/{i}|link {i}>", 1e9 + i)
        for i in range(300)
    ]
    check_limits(render.incident_detail(worst_incident(), events, page=1, pages=1, total=300).as_kwargs())


def test_worst_case_list_holds_every_limit_and_cuts_no_word() -> None:
    # Titles are shown as the card shows them, within 150 characters (the timeline keeps the rest).
    many = [inc(number=n, title="&<> " * 36 + "end") for n in range(200, 175, -1)]
    page = render.incident_list(many, now=2e9, include_resolved=True, more=render.More(175))
    check_limits(page.as_kwargs())
    shown = "".join(b["text"]["text"] for b in page.blocks)
    assert shown.count("end ·") == 25 and "…and 175 more: `/incident list all before INC-176`" in shown


def test_worst_case_reports_and_checklists_hold_every_limit() -> None:
    long = "&" * 400
    results = [
        Result(
            f"check {i} {long}", State.FAIL, long * 3, long, long, tuple([long * 5] * 9), "https://x/" + long
        )
        for i in range(120)
    ]
    scenario = Scenario(
        key="worst",
        title=long,
        symptoms=long * 10,
        keywords={},
        investigation=steps("i", *[f"{long} step {i}" for i in range(14)]),
        resolution=steps("r", *[f"{long} fix {i}" for i in range(14)]),
        probes=(),
        escalate_if=long * 10,
        prevention=long * 10,
        runbook_section=long,
    )
    checked = {s.key: "U0DANA" for s in scenario.steps()}
    check_limits(report.diagnostics_message(scenario, results, pending=[long] * 50).as_kwargs())
    check_limits(report.status_message(results, elapsed=1.0, title=long).as_kwargs())
    check_limits(report.checklist_message(7, scenario, checked).as_kwargs())
    check_limits(report.scenario_picker(7).as_kwargs())
    for real in handlers.SCENARIOS.values():
        check_limits(report.checklist_message(7, real, {s.key: "U0DANA" for s in real.steps()}).as_kwargs())


@given(st.text(alphabet="a &<>@U1|:/.", max_size=400), st.integers(min_value=2, max_value=300))
def test_clip_never_cuts_an_entity_or_token(text: str, limit: int) -> None:
    escaped = escape(text)
    cut = clip(escaped, limit)
    assert len(cut) <= limit
    if cut != escaped:
        assert cut.endswith("…")
        body = cut[:-1]
        assert escaped.startswith(body)
        assert body.count("<") == body.count(">")
        assert not re.search(r"&[a-z]*$", body)


def test_the_stand_in_refuses_what_slack_refuses() -> None:
    section = {"type": "section", "text": {"type": "mrkdwn", "text": "x" * 3001}}
    field = {"type": "section", "fields": [{"type": "mrkdwn", "text": "x" * 2001}]}
    button = {
        "type": "actions",
        "elements": [{"type": "button", "text": {"type": "plain_text", "text": "x" * 76}}],
    }
    assert refusal({"text": "x", "blocks": json.dumps([section])}) == "invalid_blocks"
    assert refusal({"text": "x", "blocks": [field]}) == "invalid_blocks"
    assert refusal({"text": "x", "blocks": [button]}) == "invalid_blocks"
    assert refusal({"text": "x", "blocks": [{"type": "divider"}] * 51}) == "invalid_blocks"
    assert refusal({"text": "x" * 40_001}) == "msg_too_long"
    assert refusal({"text": "x", "blocks": [{"type": "divider"}]}) is None
    assert blocks.Message(text="x" * 50_000).text.endswith("…")


async def test_a_huge_note_or_impact_never_freezes_the_card(bot: Harness) -> None:
    await bot.command("open P1 checkout broken")
    await bot.command("impact INC-1 " + "x" * 1995)
    await bot.command("note INC-1 " + "&" * 600)
    await bot.command("note INC-1 &lt;td&gt;cell&lt;/td&gt;" * 50)
    await bot.command("update INC-1 identified")
    await bot.settle()
    card = bot.card(1)
    assert "Status: Identified" in card["text"]
    refused = [c for c in bot.sim.calls if c.response.get("ok") is False]
    assert refused == []
