"""Faults the Slack stand-in can inject beyond "the next N calls fail": a fraction of all calls
answered slowly, with 429 or 500, or processed and then answered with a 500 or a dropped connection.

Real Slack does all of these under load: a post can land while its response is lost, which is the
case a sender must not turn into a second message.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import Literal

# How a call goes wrong. "slow" answers correctly after a delay; "ratelimited" and "error" refuse
# before processing; "after_error" and "after_drop" process the call, then answer 500 or hang up.
Trouble = Literal["slow", "ratelimited", "error", "after_error", "after_drop"]
TROUBLES: tuple[Trouble, ...] = ("slow", "ratelimited", "error", "after_error", "after_drop")
# Calls that open connections rather than act: chaos leaves them alone so the bot can start.
SPARED = frozenset({"auth.test", "apps.connections.open"})


@dataclass(frozen=True)
class Verdict:
    """What happens to one call."""

    trouble: Trouble
    delay: float = 0.0
    retry_after: int = 1


@dataclass
class AfterFault:
    """The next ``times`` calls of ``method`` are processed, then answered badly (``how``)."""

    method: str
    times: int
    how: Literal["after_error", "after_drop"] = "after_error"
    delay: float = 0.0


@dataclass
class Chaos:
    """A share of all calls goes wrong, each in one of ``troubles`` (weighted), until turned off.

    ``methods`` limits it to some methods (``None``: every method, response_url posts included,
    except those in SPARED). Seeded, so a run can be repeated.
    """

    fraction: float = 0.1
    troubles: dict[Trouble, float] = field(
        default_factory=lambda: {
            "slow": 0.3,
            "ratelimited": 0.25,
            "error": 0.2,
            "after_error": 0.15,
            "after_drop": 0.1,
        }
    )
    slow: tuple[float, float] = (5.0, 12.0)
    retry_after: int = 1
    methods: frozenset[str] | None = None
    seed: int = 16
    counts: dict[str, int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        unknown = set(self.troubles) - set(TROUBLES)
        if unknown or not 0 <= self.fraction <= 1:
            raise ValueError(f"bad chaos: fraction {self.fraction}, unknown troubles {sorted(unknown)}")
        self._rng = random.Random(self.seed)

    def verdict(self, method: str) -> Verdict | None:
        """Whether (and how) this call goes wrong."""
        if method in SPARED or (self.methods is not None and method not in self.methods):
            return None
        if self._rng.random() >= self.fraction:
            return None
        kinds = list(self.troubles)
        trouble = self._rng.choices(kinds, weights=[self.troubles[k] for k in kinds])[0]
        self.counts[trouble] = self.counts.get(trouble, 0) + 1
        delay = self._rng.uniform(*self.slow) if trouble == "slow" else 0.0
        return Verdict(trouble, delay=delay, retry_after=self.retry_after)


def after_verdict(faults: list[AfterFault], method: str) -> Verdict | None:
    """The first after-processing fault that applies to ``method`` (and uses it up)."""
    for fault in faults:
        if fault.method == method and fault.times > 0:
            fault.times -= 1
            return Verdict(fault.how, delay=fault.delay)
    return None
