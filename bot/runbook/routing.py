"""The incident core's router, filled from the runbook's scenarios (handlers/)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import handlers
from bot.incidents.routing import Route


class ScenarioRouter:
    """Routes titles with ``handlers.classify`` and the configured extra keywords."""

    def __init__(self, extra_keywords: Mapping[str, Sequence[str]] | None = None) -> None:
        self._extra = dict(extra_keywords or {})

    def route(self, title: str) -> Route:
        # A title saying the runbook's "escalate immediately" phrase (a data breach) goes to that
        # scenario whatever else it says: it escalates as one, so it must be kept as one.
        found = handlers.revealed(title)
        if found is not None:
            return Route(found[0].key, restricted=found[0].restricted, revealed=True)
        scenario = handlers.classify(title, self._extra)
        if scenario is None:
            return Route(None)
        return Route(scenario.key, restricted=scenario.restricted)

    def scenarios(self) -> Mapping[str, str]:
        return {key: s.title for key, s in handlers.SCENARIOS.items()}

    def restricted(self, key: str | None) -> bool:
        return handlers.get(key).restricted
