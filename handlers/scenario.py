"""What a runbook scenario is: how titles route to it, its checklist, the probes it runs."""

from __future__ import annotations

from dataclasses import dataclass, field

from bot.probes.specs import ProbeSpec


@dataclass(frozen=True)
class Step:
    key: str
    text: str  # at most 75 characters: a Slack checkbox label


@dataclass(frozen=True)
class Scenario:
    key: str
    title: str
    symptoms: str
    keywords: dict[str, int]  # word or phrase -> weight (3 strong, 2 medium, 1 weak)
    investigation: tuple[Step, ...]
    resolution: tuple[Step, ...]
    probes: tuple[ProbeSpec, ...]  # checked when the registry is built (handlers.check_registry)
    escalate_if: str | None = None
    prevention: str | None = None
    runbook_section: str = ""
    extra: dict[str, str] = field(default_factory=dict)
    # Confidential: never published, and kept in the private security channel when one is set.
    restricted: bool = False
    # Title phrases that mean "escalate immediately" (runbook, When to Escalate). Recorded as intent
    # on the timeline and in the thread at declare; the escalation timers act on it.
    escalate_now_on: tuple[str, ...] = ()

    def steps(self) -> tuple[Step, ...]:
        return self.investigation + self.resolution


def steps(prefix: str, *texts: str) -> tuple[Step, ...]:
    return tuple(Step(f"{prefix}{i}", text) for i, text in enumerate(texts, 1))
