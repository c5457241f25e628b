"""The status page's JSON and HTML, pure: Statuspage's field names and value domains, escaping once."""

from __future__ import annotations

import json
from pathlib import Path

from bot.public import html, statuspage
from bot.public.model import ComponentSpec, Impact, PageInfo, PublicIncident, PublicUpdate

REFERENCE = Path(__file__).resolve().parents[3] / "shared" / "reference" / "statuspage"
INFO = PageInfo("Shop status", "https://status.shop.test")
SPECS = [ComponentSpec("Website", ("site_down",), 1), ComponentSpec("Checkout", ("checkout",), 2)]
NOW = 1_800_000_000.0
INDICATORS = {"none", "minor", "major", "critical"}
COMPONENT_STATES = {"operational", "degraded_performance", "partial_outage", "major_outage"}
INCIDENT_STATES = {"investigating", "identified", "monitoring", "resolved", "postmortem"}


def public(
    number: int, impact: Impact, *, scenario: str = "checkout", resolved: bool = False
) -> PublicIncident:
    return PublicIncident(
        number=number,
        name=f"Checkout errors <b>{number}</b>",
        status="resolved" if resolved else "identified",
        impact=impact,
        scenario=scenario,
        created_at=NOW - 600,
        updated_at=NOW - 60,
        monitoring_at=None,
        resolved_at=NOW - 60 if resolved else None,
        updates=(
            PublicUpdate(1, "investigating", "We are looking into it & <script>x</script>", NOW - 600),
            PublicUpdate(2, "identified", "Found it", NOW - 60),
        ),
    )


def keys_of_sample(name: str) -> dict:
    return json.loads((REFERENCE / name).read_text())


def test_summary_has_every_field_the_real_sample_has() -> None:
    sample = keys_of_sample("summary_operational.json")
    ours = statuspage.summary(INFO, SPECS, [], NOW)
    assert set(sample) <= set(ours)
    assert set(sample["page"]) <= set(ours["page"])
    assert set(sample["components"][0]) <= set(ours["components"][0])
    assert set(sample["status"]) == set(ours["status"])
    assert ours["status"] == {"indicator": "none", "description": "All Systems Operational"}
    assert all(c["status"] == "operational" for c in ours["components"])


def test_status_has_the_real_shape() -> None:
    sample = keys_of_sample("status_none.json")
    ours = {"page": statuspage.page(INFO, NOW), "status": statuspage.status([])}
    assert set(sample) == set(ours) and set(sample["status"]) == set(ours["status"])
    assert set(sample["page"]) <= set(ours["page"])


def test_an_unresolved_incident_sets_its_components_and_the_indicator() -> None:
    ours = statuspage.summary(INFO, SPECS, [public(3, Impact.MAJOR)], NOW)
    states = {c["name"]: c["status"] for c in ours["components"]}
    assert states == {"Website": "operational", "Checkout": "partial_outage"}
    assert ours["status"]["indicator"] == "major"
    [inc] = ours["incidents"]
    assert inc["impact"] in INDICATORS and inc["status"] in INCIDENT_STATES
    assert [u["status"] for u in inc["incident_updates"]] == ["identified", "investigating"]  # newest first
    assert inc["components"] == [{"id": "checkout", "name": "Checkout"}]
    assert inc["created_at"].endswith("+00:00")


def test_resolved_incidents_leave_components_operational_and_the_worst_wins() -> None:
    incidents = [
        public(1, Impact.CRITICAL, resolved=True),
        public(2, Impact.MINOR),
        public(3, Impact.MAJOR, scenario="site_down"),
    ]
    ours = statuspage.summary(INFO, SPECS, incidents, NOW)
    assert {c["name"]: c["status"] for c in ours["components"]} == {
        "Website": "partial_outage",
        "Checkout": "degraded_performance",
    }
    assert ours["status"]["indicator"] == "major"
    assert [i["id"] for i in ours["incidents"]] == ["inc2", "inc3"]  # summary: unresolved only
    assert all(c["status"] in COMPONENT_STATES for c in ours["components"])


def test_html_escapes_once_and_needs_no_javascript() -> None:
    page = html.page(INFO, SPECS, [public(3, Impact.MAJOR)], now=NOW)
    assert "<script>" not in page and "&lt;script&gt;x&lt;/script&gt;" in page
    assert "Checkout errors &lt;b&gt;3&lt;/b&gt;" in page
    assert "&amp;amp;" not in page and "We are looking into it &amp; " in page
    assert "name=viewport" in page and "Partial System Outage" in page
