"""What the public sees, as data (pure): published incidents, their updates, components' states."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum

from bot.incidents.model import Severity, Status


class Impact(StrEnum):
    """Statuspage's incident impact; also the page's indicator."""

    NONE = "none"
    MINOR = "minor"
    MAJOR = "major"
    CRITICAL = "critical"


class ComponentStatus(StrEnum):
    OPERATIONAL = "operational"
    DEGRADED = "degraded_performance"
    PARTIAL = "partial_outage"
    MAJOR = "major_outage"


IMPACT_OF = {
    Severity.P0: Impact.CRITICAL,
    Severity.P1: Impact.MAJOR,
    Severity.P2: Impact.MINOR,
    Severity.P3: Impact.MINOR,
}
COMPONENT_OF = {
    Impact.NONE: ComponentStatus.OPERATIONAL,
    Impact.MINOR: ComponentStatus.DEGRADED,
    Impact.MAJOR: ComponentStatus.PARTIAL,
    Impact.CRITICAL: ComponentStatus.MAJOR,
}
ORDER = [Impact.NONE, Impact.MINOR, Impact.MAJOR, Impact.CRITICAL]
DESCRIPTION = {
    Impact.NONE: "All Systems Operational",
    Impact.MINOR: "Minor Service Outage",
    Impact.MAJOR: "Partial System Outage",
    Impact.CRITICAL: "Major System Outage",
}
# Statuspage's incident statuses are the runbook's, word for word.
PUBLIC_STATUS = {s: s.value for s in Status}


@dataclass(frozen=True)
class PublicUpdate:
    id: int
    status: str
    body: str
    created_at: float


@dataclass(frozen=True)
class PublicIncident:
    """An incident as published: its customer-facing name, never its internal title."""

    number: int
    name: str
    status: str
    impact: Impact
    scenario: str | None
    created_at: float
    updated_at: float
    monitoring_at: float | None
    resolved_at: float | None
    updates: tuple[PublicUpdate, ...]

    @property
    def unresolved(self) -> bool:
        return self.resolved_at is None


@dataclass(frozen=True)
class ComponentSpec:
    """A component customers know (Checkout) and the runbook scenarios that affect it."""

    name: str
    scenarios: tuple[str, ...]
    position: int


@dataclass(frozen=True)
class PageInfo:
    name: str
    url: str


def worst(impacts: Sequence[Impact]) -> Impact:
    return max(impacts, key=ORDER.index, default=Impact.NONE)


def component_status(spec: ComponentSpec, incidents: Sequence[PublicIncident]) -> ComponentStatus:
    """The worst impact among unresolved published incidents of the component's scenarios."""
    hits = [i.impact for i in incidents if i.unresolved and i.scenario in spec.scenarios]
    return COMPONENT_OF[worst(hits)]


def indicator(incidents: Sequence[PublicIncident]) -> Impact:
    return worst([i.impact for i in incidents if i.unresolved])
