"""Confidential (security) incidents: where they live, and what may be shown where.

With ``security_channel`` set, a confidential incident's card and thread live in that channel, and only
once Slack says it is private (``conversations.info``: ``is_private``), checked at start-up and again
before routing there while it is not known to be. Until then, and anywhere else, the incident shows a
neutral stub: its card renders as one, and the outbox withholds anything meant for its thread outside
the private channel (``delivery_guard``, asked at send time, whatever code owed the message). Whether
Slack says the channel is private is ``bot.access.security``'s to know.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from bot.access.security import SecurityChannel
from bot.incidents.model import Incident
from bot.outbox import Post, Update, Upload
from bot.outbox.messages import Message as Owed
from bot.slack import ids
from bot.slack.blocks import Message
from bot.store import Tx, repo

if TYPE_CHECKING:
    from bot.outbox.send import Guard


def stub(inc: Incident) -> Message:
    """What a confidential incident shows where its details may not go: no title, no details."""
    text = f":lock: {inc.ref} is confidential; it is handled in a private channel."
    section = {
        "type": "section",
        "block_id": ids.stub_block(inc.number),
        "text": {"type": "mrkdwn", "text": text},
    }
    return Message(text=text, blocks=[section])


def hidden(security: SecurityChannel, inc: Incident) -> bool:
    """Whether ``inc`` keeps its details to the security channel (confidential, and one is set)."""
    return inc.restricted and security.configured


async def card_shows_details(tx: Tx, security: SecurityChannel, inc: Incident, *, secure: bool) -> bool:
    """Whether the card being sent may show ``inc`` in full: always for an ordinary incident; for a
    confidential one only in the private security channel (``secure``: a post made there; otherwise
    the edit goes wherever the card's ref points now)."""
    if not hidden(security, inc):
        return True
    if secure:
        return security.safe
    where = await repo.get_ref(tx, ids.card_ref(inc.number))
    return where is not None and security.holds(where[0])


def delivery_guard(security: SecurityChannel) -> Guard:
    """The outbox's send-time check: a confidential incident's thread is written only in the private
    security channel (its card renders its own stub, so edits and posts of the card itself pass)."""

    async def allows(tx: Tx, message: Owed, target: tuple[str, str] | None) -> bool:
        if not security.configured:
            return True
        ref = message.ref if isinstance(message, Update) else _thread_of(message)
        number = ids.ref_incident(ref)
        if number is None or (isinstance(message, Update) and ref == ids.card_ref(number)):
            return True
        inc = await repo.get_incident(tx, number)
        if inc is None or not inc.restricted:
            return True
        return target is not None and security.holds(target[0])

    return allows


def _thread_of(message: Owed) -> str | None:
    """The ref of the message whose thread ``message`` is written in, if any."""
    return message.thread_ref if isinstance(message, Post | Upload) else None


def elsewhere(security: SecurityChannel, inc: Incident, channel: str | None) -> str | None:
    """The private answer to a look at a confidential incident from outside its channel, or None."""
    if not hidden(security, inc) or security.holds(channel):
        return None
    return f":lock: {inc.ref} is confidential; it is handled in {security.where()}. Ask there."
