"""Publishing to the status page: preview first, then a single-use Publish by the person who asked.

Nothing is public unless published. A resolved incident that was published gets a resolved update by
itself. Security incidents are never published.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from bot.deps import Deps
from bot.errors import Forbidden, NotFound, UsageError
from bot.incidents import card
from bot.incidents.events import Event, Resolved, Subscriber, UnitOfWork
from bot.incidents.model import OPSBOT, Incident, Severity
from bot.incidents.work import replied
from bot.outbox import Post, owe
from bot.public import render
from bot.public.model import IMPACT_OF, ComponentSpec, PageInfo, PublicIncident
from bot.slack.blocks import Message
from bot.store import Tx, repo
from bot.store import public as queries

DRAFT_TTL_S = 600.0
NEVER_PUBLISHED = frozenset({"security"})
RESOLVED_TEXT = "This incident has been resolved."

MembersOf = Callable[[str], Awaitable[frozenset[str]]]


def components(deps: Deps) -> list[ComponentSpec]:
    return [
        ComponentSpec(c.name, tuple(c.scenarios), position)
        for position, c in enumerate(deps.settings.status_components, start=1)
    ]


def page_info(deps: Deps) -> PageInfo:
    return PageInfo(deps.settings.status_page_name, deps.settings.public_url)


async def may_publish(deps: Deps, actor: str, members_of: MembersOf | None = None) -> bool:
    """Everyone when ``publishers`` is empty; else the users listed and members of the groups listed."""
    allowed = deps.settings.publishers
    if not allowed or actor in allowed:
        return True
    if members_of is None:
        return False
    for group in (g for g in allowed if g.startswith("S")):
        if actor in await members_of(group):
            return True
    return False


async def preview(
    deps: Deps, *, number: int, text: str, actor: str, members_of: MembersOf | None = None
) -> Message:
    """The asker's private preview of the public update, with a Publish button that works once."""
    await _check_publisher(deps, actor, members_of)
    body = text.strip()
    if not body:
        raise UsageError("Say what customers should read.", "/incident publish INC-3 We are investigating …")
    if len(body) > render.MAX_PUBLIC_TEXT:
        raise UsageError(
            f"A public update holds {render.MAX_PUBLIC_TEXT} characters; this one has {len(body)}."
        )
    now = deps.clock()

    async def draft(tx: Tx) -> Message:
        inc = await _publishable(tx, number)
        existing = await queries.public_incident(tx, number)
        name = str(existing["name"]) if existing else _name(body)
        draft_id = await queries.add_draft(tx, incident=number, body=body, by=actor, at=now)
        message = render.preview(
            draft_id=draft_id,
            ref=inc.ref,
            name=name,
            body=body,
            status=inc.status.value,
            impact=IMPACT_OF[inc.severity],
            components=[c.name for c in components(deps) if inc.scenario in c.scenarios],
        )
        return message

    return await deps.store.run(draft)


async def publish(
    deps: Deps, *, draft_id: int, actor: str, response_url: str | None, members_of: MembersOf | None = None
) -> str:
    """Publish the draft: once, by the person who asked for it, within ten minutes."""
    await _check_publisher(deps, actor, members_of)
    now = deps.clock()

    async def body(tx: Tx) -> str:
        row = await queries.claim_draft(tx, draft_id=draft_id, by=actor, not_before=now - DRAFT_TTL_S, at=now)
        if row is None:
            return await _why_not(tx, draft_id, actor, now)
        inc = await _publishable(tx, int(row["incident"]))
        text = str(row["body"])
        first = await queries.public_incident(tx, inc.number) is None
        await _publish(deps, tx, inc, text=text, by=actor, at=now)
        note = render.published_note(actor=actor, body=text, first=first)
        await owe(tx, card.reply(inc.number, note), at=now)
        return f"Published on the status page for {inc.ref}."

    return await replied(deps, body, response_url=response_url, at=now)


def subscriber(deps: Deps) -> Subscriber:
    """The status page's part in what the incident core does: a published incident that resolves says
    so publicly too, in the same transaction."""

    async def on_event(uow: UnitOfWork, event: Event) -> None:
        if isinstance(event, Resolved):
            await on_resolved(deps, uow.tx, event.incident)

    return on_event


async def on_resolved(deps: Deps, tx: Tx, inc: Incident) -> None:
    """Publish the resolution of an incident that was published and is not yet resolved publicly."""
    public = await queries.public_incident(tx, inc.number)
    if public is None or public["resolved_at"] is not None:
        return
    await _publish(deps, tx, inc, text=RESOLVED_TEXT, by=OPSBOT, at=deps.clock())


async def page_incidents(deps: Deps) -> list[PublicIncident]:
    async with deps.store.transaction() as tx:
        return await queries.page_incidents(tx)


async def _publish(deps: Deps, tx: Tx, inc: Incident, *, text: str, by: str, at: float) -> None:
    existing = await queries.public_incident(tx, inc.number)
    await queries.publish(
        tx,
        number=inc.number,
        name=str(existing["name"]) if existing else _name(text),
        status=inc.status.value,
        impact=IMPACT_OF[inc.severity],
        scenario=inc.scenario,
        body=text,
        by=by,
        at=at,
    )
    support = deps.settings.support_channel
    if support and inc.severity in (Severity.P0, Severity.P1):
        line = render.support_line(
            ref=inc.ref, severity=inc.severity.value, body=text, card_link=_card_link(inc)
        )
        await owe(tx, Post(f"support:{inc.number}", line, channel=support), at=at)


async def _publishable(tx: Tx, number: int) -> Incident:
    inc = await repo.get_incident(tx, number)
    if inc is None:
        raise NotFound(f"There is no INC-{number}.", "/incident list")
    if inc.restricted or (inc.scenario or "") in NEVER_PUBLISHED:  # once confidential, always
        raise UsageError(f"{inc.ref} is a security incident: it is never published on the status page.")
    return inc


async def _check_publisher(deps: Deps, actor: str, members_of: MembersOf | None) -> None:
    if not await may_publish(deps, actor, members_of):
        who = ", ".join(
            f"<@{p}>" if p.startswith(("U", "W")) else f"<!subteam^{p}>" for p in deps.settings.publishers
        )
        raise Forbidden(f"Only {who} may publish to the status page.")


async def _why_not(tx: Tx, draft_id: int, actor: str, now: float) -> str:
    row = await queries.draft(tx, draft_id)
    if row is None:
        return "That preview is no longer known; ask for a new one."
    if row["used_at"] is not None:
        return "Already published: that Publish button works once."
    if row["requested_by"] != actor:
        return "Only the person who asked for this preview can publish it."
    return "That preview has expired; ask for a new one."


def _name(text: str) -> str:
    first = text.strip().splitlines()[0] if text.strip() else "Incident"
    return first if len(first) <= 120 else first[:119] + "…"


def _card_link(inc: Incident) -> str | None:
    if not inc.card_channel or not inc.card_ts:
        return None
    return f"https://slack.com/archives/{inc.card_channel}/p{inc.card_ts.replace('.', '')}"
