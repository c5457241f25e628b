"""Rendering is pure: tested on the dicts it returns."""

from __future__ import annotations

import json

from bot.incidents import render
from bot.incidents.model import Incident, Severity, Status
from bot.slack import blocks
from bot.store.repo import TimelineEvent


def inc(**kw: object) -> Incident:
    base = dict(
        number=7,
        title="checkout broken",
        severity=Severity.P1,
        status=Status.INVESTIGATING,
        commander="U0DANA",
        declared_by="U0DANA",
        created_at=1_700_000_000.0,
        updated_at=1_700_000_600.0,
    )
    base.update(kw)
    return Incident(**base)  # type: ignore[arg-type]


def test_card_follows_runbook_template() -> None:
    card = render.incident_card(inc(impact="EU checkout", eta="30 min", latest_update="rolled back"))
    assert card.text.splitlines() == [
        "🚨 INCIDENT: checkout broken (INC-7)",
        "Severity: P1",
        "Status: Investigating",
        "Impact: EU checkout",
        "ETA: 30 min",
        "Commander: <@U0DANA>",
        "Updates: rolled back",
        "",
        "Last updated: 2023-11-14 22:23 UTC",
    ]
    blocks = json.dumps(card.blocks)
    assert "<!date^1700000600^{date_short_pretty} {time}|2023-11-14 22:23 UTC>" in blocks
    assert "declared <!date^1700000000^" in blocks and "P1 response: < 2 hours" in blocks
    actions = card.blocks[-1]
    assert actions["type"] == "actions" and actions["block_id"] == "incident_card:7"
    assert [e["value"] for e in actions["elements"]] == [
        "7:1:identified",
        "7:1:monitoring",
        "7:1:resolved",
        "7:1",
    ]


def test_resolved_card_offers_reopen_only() -> None:
    card = render.incident_card(inc(status=Status.RESOLVED))
    assert [e["text"]["text"] for e in card.blocks[-1]["elements"]] == ["Reopen"]
    assert "RESOLVED" in json.dumps(card.blocks)


def test_oncall_group_only_for_open_p0_p1() -> None:
    assert "<!subteam^S1>" in render.incident_card(inc(), oncall_group="S1").text
    assert "subteam" not in render.incident_card(inc(severity=Severity.P2), oncall_group="S1").text
    assert "subteam" not in render.incident_card(inc(status=Status.RESOLVED), oncall_group="S1").text


def test_escape_keeps_mentions_and_links_drops_broadcasts() -> None:
    text = "a<b & <@U1|x> <#C1> <https://x.io|y> <!here> <!subteam^S1>"
    assert blocks.escape(text) == "a&lt;b &amp; <@U1|x> <#C1> <https://x.io|y> &lt;!here&gt; <!subteam^S1>"


def test_longest_inputs_fit_slack_limits() -> None:
    big = inc(title="t" * 150, impact="i" * 2000, eta="e" * 2000, latest_update="u" * 2000)
    card = render.incident_card(big)  # to_dict() raises if a limit is broken
    assert len(card.blocks) == 5
    events = [
        TimelineEvent(id=i, incident=7, kind="message", actor="U1", text="m" * 2000, created_at=float(i))
        for i in range(200)
    ]
    detail = render.incident_detail(big, events[:40], page=1, pages=5, total=200)
    assert len(detail.blocks) <= 50
    assert "200 events, page 1 of 5; next: `/incident show INC-7 2`" in json.dumps(detail.blocks)


def test_list_shows_age_severity_status() -> None:
    msg = render.incident_list([inc()], now=1_700_003_600.0, include_resolved=False)
    assert "*INC-7* P1 · :mag: Investigating · 1h 00m · checkout broken · <@U0DANA>" in msg.text
    assert render.incident_list([], now=0, include_resolved=False).text.startswith("No open incidents")
