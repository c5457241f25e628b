"""What the incident core needs to know about runbook scenarios, as a port the runtime fills.

The core routes a title and names scenarios through this; it never imports the runbook itself.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True)
class Route:
    """Where a title goes: a scenario key (None: nothing matched) and whether it is confidential."""

    scenario: str | None
    restricted: bool = False
    revealed: bool = False  # the title says the scenario's "escalate immediately" phrase: it wins


class Router(Protocol):
    def route(self, title: str) -> Route:
        """The scenario a new incident's title belongs to."""
        ...

    def scenarios(self) -> Mapping[str, str]:
        """Every scenario an incident may follow: key -> title."""
        ...

    def restricted(self, key: str | None) -> bool:
        """Whether incidents of scenario ``key`` are confidential."""
        ...


class NoRouter:
    """No runbook: every incident is a general one."""

    def route(self, title: str) -> Route:
        return Route(None)

    def scenarios(self) -> Mapping[str, str]:
        return {}

    def restricted(self, key: str | None) -> bool:
        return False
