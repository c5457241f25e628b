"""An incident's card in Slack: its outbox lane, the edit that keeps it true, and its renderer."""

from __future__ import annotations

from typing import Any

from bot import outbox
from bot.deps import Deps
from bot.incidents import render
from bot.incidents.model import Incident
from bot.outbox import Renderer
from bot.slack import ids
from bot.store import Tx, repo

CARD = "card"


def card_ref(number: int) -> str:
    return ids.card_ref(number)


def lane(number: int) -> str:
    """Everything owed for one incident goes out in order on one lane."""
    return ids.lane(number)


async def owe_card(deps: Deps, tx: Tx, inc: Incident) -> None:
    """Owe Slack an edit of the incident's card (coalesced with earlier edits).

    The card is rendered when it is sent, from the incident as it then stands: the latest state wins,
    and rendering stays off the path that Slack waits on for its ack.
    """
    await outbox.update(
        tx, lane=lane(inc.number), at=deps.clock(), ref=card_ref(inc.number), render=CARD, incident=inc.number
    )


def card_renderer(oncall_group: str | None) -> Renderer:
    """The outbox's renderer for incident cards."""

    async def render_card(tx: Tx, payload: dict[str, Any]) -> dict[str, Any]:
        inc = await repo.get_incident(tx, int(payload["incident"]))
        if inc is None:
            raise LookupError(f"INC-{payload['incident']}")
        return render.incident_card(inc, oncall_group=oncall_group).as_kwargs()

    return render_card
