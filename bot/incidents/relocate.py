"""A confidential incident that was public: re-routed to the security scenario after its card was
posted (``/incident scenario``, the "Wrong runbook?" picker, an update that reveals a breach).

In the unit of work that re-routed it, while ``security_channel`` is set: the public card is edited to
a neutral stub, a full card is posted in the security channel and becomes the incident's card (its ref
moves there when it lands, so everything owed after it, the new checklist and diagnostics included,
goes to the new thread). What the public thread already said stays: it cannot be unsaid, and deleting
the bot's own lines would leave people's replies without context; nothing more is written there (the
outbox withholds it, ``bot.incidents.confidential.delivery_guard``).
"""

from __future__ import annotations

from bot.deps import Deps
from bot.incidents import confidential
from bot.incidents.card import card_ref, edit, lane, live_card, reply
from bot.incidents.events import Changed, Event, Subscriber, UnitOfWork
from bot.incidents.model import Incident
from bot.outbox import Post, owe
from bot.slack import ids
from bot.slack.blocks import user
from bot.store import repo


def subscriber(deps: Deps) -> Subscriber:
    """Moves an incident to the security channel the moment it becomes confidential."""

    async def on_event(uow: UnitOfWork, event: Event) -> None:
        became = isinstance(event, Changed) and event.incident.restricted and not event.before.restricted
        if became and isinstance(event, Changed) and deps.settings.security_channel:
            await move(deps, uow, event.incident, actor=event.actor)

    return on_event


async def move(deps: Deps, uow: UnitOfWork, inc: Incident, *, actor: str) -> None:
    """Stub the public card, post the full one in the security channel, say so on the timeline."""
    tx, now, number = uow.tx, uow.now, inc.number
    public = await repo.get_ref(tx, card_ref(number))
    if public is not None and not deps.security.holds(public[0]):
        # Its own ref: a later card edit (coalesced with pending ones) must not swallow this one.
        await repo.save_ref(tx, ids.public_card_ref(number), *public)
        stub = confidential.stub(inc)
        await owe(tx, edit(number, ids.public_card_ref(number), stub), at=now)
    # (A card not posted yet renders its own stub when it is: the incident is confidential by then.)
    secure = Post(
        lane(number),
        channel=deps.settings.security_channel,
        ref=card_ref(number),
        live=live_card(number, secure=True),
    )
    await owe(tx, secure, at=now)
    said = (
        f":lock: {inc.ref} became confidential ({user(actor)} routed it to the security runbook)"
        " and continues here. Its public card now says only that;"
        " what its public thread said before stays there."
        f" The whole timeline: `/incident show {inc.ref}`."
    )
    await owe(tx, reply(number, said), at=now)
    await repo.append_event(
        tx,
        incident=number,
        kind="confidential",
        actor=actor,
        text="became confidential: moved to the security channel; the public card is a stub",
        at=now,
    )
    if not deps.security.safe:
        uow.after_commit(lambda: deps.spawn(deps.security.check_if_due(), name="security-channel-check"))
