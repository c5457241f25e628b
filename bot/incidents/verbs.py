"""What a command is: its ``Verb`` (name, form, parser, change) and what its change returns. Pure."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Generic, TypeVar

from bot.incidents.events import Event
from bot.incidents.grammar import Args
from bot.incidents.model import Incident, TimelineKind


@dataclass(frozen=True)
class Context:
    """Who is acting, when, and the scenarios an incident may be routed to (key -> title)."""

    actor: str
    now: float
    scenarios: Mapping[str, str] = dataclasses.field(default_factory=dict)
    confidential: frozenset[str] = frozenset()  # scenarios whose incidents are restricted
    escalation_levels: tuple[str, ...] = ()  # the escalation path's level names, level 1 first


@dataclass(frozen=True)
class Change:
    """An incident after a command, and how to tell it."""

    incident: Incident
    kind: TimelineKind
    summary: str  # for the timeline (plain text, escaped when shown)
    announcement: str  # for the thread (mrkdwn)
    broadcast: bool = False
    at: float | None = None  # when it happened, if earlier than now
    events: tuple[Event, ...] = ()


C = TypeVar("C")


@dataclass(frozen=True)
class Verb(Generic[C]):
    """One command: its name, its form and example, how it is parsed and what it changes."""

    name: str
    usage: str
    example: str
    command: type[C]
    parse: Callable[[Args], C]
    apply: Callable[[Incident, C, Context], Change] | None = None  # None: reads, changes nothing
    aliases: tuple[str, ...] = ()
    takes_incident: bool = True
    in_thread: bool = True  # may be mentioned in the incident's thread, the incident implied
