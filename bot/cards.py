"""An incident's card in Slack: its outbox lane and the edit that keeps it true."""

from __future__ import annotations

from bot import outbox, render
from bot.deps import Deps
from bot.domain import Incident
from bot.store import Tx


def card_ref(number: int) -> str:
    return f"card:{number}"


def lane(number: int) -> str:
    """Everything owed for one incident goes out in order on one lane."""
    return f"inc:{number}"


async def owe_card(deps: Deps, tx: Tx, inc: Incident) -> None:
    """Owe Slack an edit of the incident's card showing ``inc`` (coalesced with earlier edits)."""
    card = render.incident_card(inc, oncall_group=deps.settings.oncall_usergroup)
    await outbox.update(
        tx, lane=lane(inc.number), at=deps.clock(), ref=card_ref(inc.number), **card.as_kwargs()
    )
