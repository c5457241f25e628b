"""An incident's card in Slack: the edit that keeps it true, its template (rendered when sent), and
what is recorded once it is posted."""

from __future__ import annotations

from bot.access.security import SecurityChannel
from bot.deps import Deps
from bot.incidents import confidential, render, thread_messages
from bot.incidents.model import Incident
from bot.outbox import Live, Post, Rendered, Template, Update, owe
from bot.outbox.messages import Blocks
from bot.settings import Settings
from bot.slack import ids
from bot.slack.blocks import Message
from bot.store import Tx, queue, repo

CARD = "card"
SECURE_CARD = "card-secure"  # the same card, posted in the private security channel


def card_ref(number: int) -> str:
    return ids.card_ref(number)


def lane(number: int) -> str:
    """Everything owed for one incident goes out in order on one lane."""
    return ids.lane(number)


def reply(number: int, message: Message | str, *, ref: str | None = None, broadcast: bool = False) -> Post:
    """A message in the incident card's thread, on the incident's lane (so it goes out after the card);
    ``ref`` names it for later edits."""
    text, blocks = _parts(message)
    return Post(lane(number), text, blocks, thread_ref=card_ref(number), ref=ref, broadcast=broadcast)


def edit(number: int, ref: str, message: Message) -> Update:
    """An edit of the incident's message named ``ref`` (a checklist, a report, a nudge)."""
    text, blocks = _parts(message)
    return Update(lane(number), ref, text, blocks)


def _parts(message: Message | str) -> tuple[str, Blocks | None]:
    if isinstance(message, str):
        return message, None
    return message.text, message.blocks


def live_card(number: int, *, secure: bool = False) -> Live:
    return Live(SECURE_CARD if secure else CARD, number)


async def owe_card(deps: Deps, tx: Tx, inc: Incident) -> None:
    """Owe Slack an edit of the incident's card (coalesced with earlier edits).

    The card is rendered when it is sent, from the incident as it then stands: the latest state wins,
    and rendering stays off the path that Slack waits on for its ack.
    """
    await owe(tx, Update(lane(inc.number), card_ref(inc.number), live=live_card(inc.number)), at=deps.clock())


def card_template(settings: Settings, security: SecurityChannel, *, secure: bool = False) -> Template:
    """The outbox template for incident cards (``secure``: for a card posted in the security channel).

    A confidential incident's card renders as a neutral stub wherever it may not show its details."""
    levels = tuple(level.name for level in settings.escalation_path)

    async def render_card(tx: Tx, number: int) -> Rendered:
        inc = await repo.get_incident(tx, number)
        if inc is None:
            raise LookupError(f"INC-{number}")
        if not await confidential.card_shows_details(tx, security, inc, secure=secure):
            message = confidential.stub(inc)
            return Rendered(message.text, message.blocks, inc.version)
        clock = render.CardClock(levels=levels, response_target=settings.response_targets.of(inc.severity))
        message = render.incident_card(inc, clock=clock)
        return Rendered(message.text, message.blocks, inc.version)

    return Template(render=render_card, posted=card_posted)


async def card_posted(tx: Tx, number: int, channel: str, ts: str) -> None:
    """The card landed: remember where, put on the timeline what people wrote in its thread before its
    ts was known here, and make the mentions waiting in its thread due."""
    await queue.lock_thread(tx, channel=channel, thread_ts=ts)  # vs. record_message's hold
    await repo.set_card(tx, number, channel, ts)
    for row in await queue.take_held_messages(tx, channel=channel, thread_ts=ts):
        await repo.add_event(
            tx,
            incident=number,
            kind="message",
            actor=row["actor"],
            text=row["text"],
            at=_ts(row["ts"]),
            slack_ts=row["ts"],
        )
    await thread_messages.card_landed(tx, channel=channel, thread_ts=ts)


def _ts(ts: str) -> float:
    try:
        return float(ts)
    except ValueError:
        return 0.0
