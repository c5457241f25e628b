"""Every string opsbot puts in a Slack block_id, action_id or option value, encoded and decoded here.

Renderers encode with these functions; listeners decode with them. A value that does not decode (a
button from a card rendered by an older version, a hand-made request) raises UsageError with a message
for the person who pressed it, never a traceback.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from bot.errors import UsageError

# action_ids: what the listeners register for
ACTION_STATUS = "incident_status"  # followed by "_<status>", one action_id per move
ACTION_TAKE_COMMAND = "incident_take_command"
ACTION_CHECKLIST = "checklist_toggle"
ACTION_SCENARIO = "incident_scenario"

CARD_BLOCK = "incident_card"
CHECKLIST_BLOCK = "checklist"
PICKER_BLOCK = "picker"

STATUS_ACTIONS = re.compile(f"^{ACTION_STATUS}_")


def status_action(status: str) -> str:
    """The action_id of the button that moves an incident to ``status``."""
    return f"{ACTION_STATUS}_{status}"


@dataclass(frozen=True)
class CardButton:
    """A button on an incident's card: which incident, at which card version, and the move (if any)."""

    number: int
    version: int
    move: str = ""

    def encode(self) -> str:
        return f"{self.number}:{self.version}:{self.move}" if self.move else f"{self.number}:{self.version}"

    @classmethod
    def decode(cls, value: str) -> CardButton:
        parts = value.split(":")
        if len(parts) not in (2, 3) or not parts[0].isdigit() or not parts[1].isdigit():
            raise UsageError(
                "That button is from an old card; use the slash command instead.", "/incident help"
            )
        return cls(int(parts[0]), int(parts[1]), parts[2] if len(parts) == 3 else "")


def card_block(number: int) -> str:
    """The block_id of the card's buttons (also how a card is recognised among messages)."""
    return f"{CARD_BLOCK}:{number}"


@dataclass(frozen=True)
class ChecklistSection:
    """The block_id of one section of an incident's checklist, with the boxes it showed ticked.

    ``checklist:12:investigation:checkout:i1.i3``: a click is then read against the runbook and the
    view the person had, and a new id for every state makes Slack clients show the new ticks instead of
    their own. Older ids lack the scenario (``checklist:12:investigation:i1.i3``) or the ticks too."""

    number: int
    section: str
    shown_checked: frozenset[str] | None = None  # None: a block from before this was recorded
    scenario: str | None = None  # None: a block from before re-routing existed

    def encode(self, order: Sequence[str] = ()) -> str:
        """``order``: the section's item keys, so the ticked ones are listed as the items are."""
        ticked = [k for k in order if k in (self.shown_checked or ())]
        ticked += sorted(set(self.shown_checked or ()) - set(ticked))
        scenario = f"{self.scenario}:" if self.scenario else ""
        return f"{CHECKLIST_BLOCK}:{self.number}:{self.section}:{scenario}{'.'.join(ticked)}"

    @classmethod
    def decode(cls, block_id: str) -> ChecklistSection:
        parts = block_id.split(":")
        if (
            len(parts) not in (3, 4, 5)
            or parts[0] != CHECKLIST_BLOCK
            or not parts[1].isdigit()
            or not parts[2]
        ):
            raise UsageError("That checklist is from an old message.")
        shown = frozenset(k for k in parts[-1].split(".") if k) if len(parts) >= 4 else None
        return cls(int(parts[1]), parts[2], shown, parts[3] if len(parts) == 5 else None)


@dataclass(frozen=True)
class ScenarioChoice:
    """An option of the scenario picker: the incident and the scenario chosen for it (whether that
    scenario exists is for the use case to say)."""

    number: int
    scenario: str

    def encode(self) -> str:
        return f"{self.number}:{self.scenario}"

    @classmethod
    def decode(cls, value: str) -> ScenarioChoice:
        number, _, scenario = value.partition(":")
        if not number.isdigit():
            raise UsageError("That picker is from an old message.")
        return cls(int(number), scenario)


def reroute_block(number: int) -> str:
    """The block_id of the "Wrong runbook?" menu under an incident's checklist."""
    return f"reroute:{number}"


def picker_block(number: int) -> str:
    """The block_id of an incident's scenario picker."""
    return f"{PICKER_BLOCK}:{number}"


# --- the outbox's names for an incident's lane and messages (how later edits find the message) ---


def lane(number: int) -> str:
    """Everything owed for one incident goes out in order on one lane."""
    return f"inc:{number}"


def card_ref(number: int) -> str:
    return f"card:{number}"


def checklist_ref(number: int) -> str:
    return f"checklist:{number}"


def diagnostics_ref(number: int, scenario: str | None = None) -> str:
    """One report per scenario, so a re-route's report is never overwritten by the old one's probes."""
    return f"diag:{number}:{scenario}" if scenario else f"diag:{number}"


def picker_ref(number: int) -> str:
    return f"picker:{number}"


def nudge_ref(number: int) -> str:
    """The clock's reminder in the thread (edited when snoozed)."""
    return f"nudge:{number}"


def watch_ref(number: int) -> str:
    """The monitoring watch's report in the thread (edited every round; also its state's store key)."""
    return f"watch:{number}"


def alert_ref(alert_id: int) -> str:
    """An alert message's ref and lane: its repeats and edits go out in order."""
    return f"alert:{alert_id}"


def alert_block(alert_id: int) -> str:
    """The block_id of an alert message's buttons."""
    return f"alert:{alert_id}"


DIAGNOSTICS_PREFIX = "diag:"


def diagnostics_number(key: str) -> int | None:
    """The incident number of a ``diagnostics_ref(...)``, or None when ``key`` is not one."""
    rest = key.removeprefix(DIAGNOSTICS_PREFIX)
    number = rest.split(":", 1)[0]  # diag:<n> or diag:<n>:<scenario>
    return int(number) if rest != key and number.isdigit() else None


def stub_block(number: int) -> str:
    """The block_id of a confidential incident's stub (what its card shows outside its private channel)."""
    return f"stub:{number}"


def public_card_ref(number: int) -> str:
    """Where a confidential incident's card first stood, in the public channel (its stub now)."""
    return f"card-public:{number}"


# Refs of messages in an incident's thread (or its card): the incident's number follows the prefix. The
# outbox's confidentiality guard knows a thread message by these: a ref form added above belongs here.
INCIDENT_REF_PREFIXES = ("card", "checklist", "diag", "picker", "nudge", "watch")


def ref_incident(ref: str | None) -> int | None:
    """The incident whose card or thread message ``ref`` names, or None."""
    head, _, rest = (ref or "").partition(":")
    number = rest.split(":", 1)[0]
    return int(number) if head in INCIDENT_REF_PREFIXES and number.isdigit() else None
