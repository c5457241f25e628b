"""What the incident core tells the rest of the bot, inside the unit of work that did it.

The core does not know who listens. The runtime hands ``Deps`` a list of subscribers (the runbook's
checklists and diagnostics today); each is called with every event before the transaction commits, so
what it owes Slack commits, or rolls back, together with the change itself. Work that must wait for
the commit (starting probes) is queued with ``UnitOfWork.after_commit``.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field

from bot.incidents.model import Incident, TimelineKind
from bot.store import Tx


@dataclass(frozen=True)
class Declared:
    """A new incident, recorded; its card is owed."""

    incident: Incident
    actor: str


@dataclass(frozen=True)
class ScenarioChanged:
    """Someone re-routed an incident to another runbook scenario (or chose one for an unrouted one)."""

    incident: Incident
    previous: str | None
    actor: str


@dataclass(frozen=True)
class Resolved:
    """An incident was resolved (the runbook records how its checks stood at that moment)."""

    incident: Incident
    actor: str


@dataclass(frozen=True)
class Changed:
    """Any change a command made (``kind`` is its timeline kind: status, severity, commander, ack...)."""

    before: Incident
    incident: Incident
    actor: str
    kind: TimelineKind
    text: str | None = None  # what the person said with it (a note, a status message), secrets removed


@dataclass(frozen=True)
class EscalateNow:
    """The runbook's "escalate immediately" was met (a title or an update says a breach is suspected).

    Emitted rather than acted on at once, so every subscriber has heard what came before it (the clock
    pages level 1 of a new P0/P1 on ``Declared``; this then calls the next level)."""

    number: int
    phrase: str


@dataclass(frozen=True)
class Escalated:
    """Someone called the next level of the escalation path now (``/incident escalate``)."""

    incident: Incident
    actor: str
    reason: str | None


Event = Declared | ScenarioChanged | Resolved | Changed | Escalated | EscalateNow


@dataclass
class UnitOfWork:
    """One transaction and what happened in it."""

    tx: Tx
    now: float
    events: list[Event] = field(default_factory=list)
    committed: list[Callable[[], None]] = field(default_factory=list)

    def emit(self, event: Event) -> None:
        self.events.append(event)

    def after_commit(self, work: Callable[[], None]) -> None:
        """Run ``work`` once the transaction has committed (never if it rolls back)."""
        self.committed.append(work)


Subscriber = Callable[[UnitOfWork, Event], Awaitable[None]]


async def publish(uow: UnitOfWork, subscribers: Sequence[Subscriber]) -> None:
    """Hand every event to every subscriber, in order, inside the transaction."""
    seen = 0
    while seen < len(uow.events):  # a subscriber may emit in turn
        event = uow.events[seen]
        seen += 1
        for subscriber in subscribers:
            await subscriber(uow, event)


def run_committed(uow: UnitOfWork) -> None:
    for work in uow.committed:
        work()
