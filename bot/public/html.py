"""The status page as HTML (pure): readable on a phone, no JavaScript, every published word escaped."""

from __future__ import annotations

import time
from collections.abc import Sequence
from html import escape

from bot.public.model import (
    DESCRIPTION,
    ComponentSpec,
    ComponentStatus,
    Impact,
    PageInfo,
    PublicIncident,
    component_status,
    indicator,
)

COLOURS = {
    Impact.NONE: "#2e7d32",
    Impact.MINOR: "#f9a825",
    Impact.MAJOR: "#ef6c00",
    Impact.CRITICAL: "#c62828",
}
COMPONENT_WORDS = {
    ComponentStatus.OPERATIONAL: ("Operational", "#2e7d32"),
    ComponentStatus.DEGRADED: ("Degraded performance", "#f9a825"),
    ComponentStatus.PARTIAL: ("Partial outage", "#ef6c00"),
    ComponentStatus.MAJOR: ("Major outage", "#c62828"),
}
STYLE = """
body{font:16px/1.5 system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:0;color:#1b1b1b;
background:#f6f7f9}
main{max-width:44rem;margin:0 auto;padding:1rem;overflow-wrap:anywhere}
h1{font-size:1.4rem;margin:.5rem 0 1rem}
.banner{color:#fff;border-radius:.5rem;padding:1rem;font-weight:600;margin-bottom:1.5rem}
ul{list-style:none;padding:0;margin:0}
.components li{display:flex;justify-content:space-between;gap:1rem;background:#fff;padding:.75rem 1rem;
border-bottom:1px solid #e3e5e8}
.incident{background:#fff;border-radius:.5rem;padding:1rem;margin:1rem 0}
.incident h3{margin:0 0 .5rem;font-size:1.1rem}
.update{margin:.5rem 0}.update b{text-transform:capitalize}
time{color:#5f6368;font-size:.9rem}
footer{color:#5f6368;font-size:.85rem;margin:2rem 0}
"""


def _when(at: float) -> str:
    iso = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(at))
    return f'<time datetime="{iso}">{time.strftime("%b %d, %H:%M UTC", time.gmtime(at))}</time>'


def _component(spec: ComponentSpec, incidents: Sequence[PublicIncident]) -> str:
    word, colour = COMPONENT_WORDS[component_status(spec, incidents)]
    return f'<li><span>{escape(spec.name)}</span><span style="color:{colour}">{word}</span></li>'


def _incident(inc: PublicIncident) -> str:
    updates = "".join(
        f'<div class="update"><b>{escape(u.status)}</b> — {escape(u.body)}<br>{_when(u.created_at)}</div>'
        for u in sorted(inc.updates, key=lambda u: u.created_at, reverse=True)
    )
    return (
        f'<section class="incident" id="inc{inc.number}"><h3>{escape(inc.name)}</h3>'
        f'<div style="color:{COLOURS[inc.impact]}">Impact: {escape(inc.impact.value)}</div>'
        f"{updates}</section>"
    )


def page(
    info: PageInfo,
    specs: Sequence[ComponentSpec],
    incidents: Sequence[PublicIncident],
    *,
    now: float,
) -> str:
    """The whole page: overall state, components, unresolved incidents, then recent resolved ones."""
    level = indicator(incidents)
    unresolved = [i for i in incidents if i.unresolved]
    past = [i for i in incidents if not i.unresolved]
    current = "".join(_incident(i) for i in unresolved)
    history = "".join(_incident(i) for i in past) or "<p>No incidents reported recently.</p>"
    return (
        "<!doctype html><html lang=en><head><meta charset=utf-8>"
        '<meta name=viewport content="width=device-width,initial-scale=1">'
        '<meta http-equiv=refresh content="60">'
        f"<title>{escape(info.name)}</title><style>{STYLE}</style></head><body><main>"
        f"<h1>{escape(info.name)}</h1>"
        f'<div class="banner" style="background:{COLOURS[level]}">{DESCRIPTION[level]}</div>'
        f'<h2>Components</h2><ul class="components">{"".join(_component(s, incidents) for s in specs)}</ul>'
        f"{'<h2>Current incidents</h2>' + current if current else ''}"
        f"<h2>Past incidents</h2>{history}"
        f"<footer>Updated {_when(now)}. This page refreshes every minute.</footer>"
        "</main></body></html>"
    )
