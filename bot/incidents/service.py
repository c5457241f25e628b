"""Incident use cases: declare, change, list, show, record thread messages.

Each takes its ports (``Deps``) as an argument, runs in one store transaction that also holds the
delivery key (idempotency) and everything owed to Slack (outbox), and wakes the outbox after commit.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TypeVar

from bot.access import permission
from bot.deps import Deps
from bot.errors import Forbidden, NotFound, OpsbotError, StaleAction, UsageError
from bot.incidents import commands as c
from bot.incidents import confidential, render
from bot.incidents.card import card_ref, lane, live_card, owe_card, reply
from bot.incidents.changes import Change, Context
from bot.incidents.events import Changed, Declared, UnitOfWork
from bot.incidents.guard import AdminCheckNeeded, ChangeCommand, admin_only
from bot.incidents.model import Incident, Status
from bot.incidents.reports import postmortem, statistics
from bot.incidents.routing import Route
from bot.incidents.work import unit_of_work
from bot.outbox import Notify, Post, Respond, owe
from bot.settings import Settings
from bot.slack import blocks
from bot.slack.replies import explain
from bot.store import Conflict, Tx, repo

T = TypeVar("T")

SHOW_PAGE = 40  # timeline events on one page of /incident show


@dataclass(frozen=True)
class Applied:
    """What a use case did: the incident as it now stands and the private reply for the actor."""

    incident: Incident | None
    reply: str
    duplicate: bool = False


def _card_post(deps: Deps, inc: Incident, response_url: str | None, *, answers_command: bool) -> Post:
    """The new incident's card, telling the declarer (if we can) where it landed, or why it could not
    (``answers_command``: in place of the ack of their slash command)."""
    channel = card_channel(deps.settings, inc)
    link, archived = render.card_link(inc, "{permalink}"), render.channel_archived(inc, channel)
    notify = Notify(response_url, link, archived, answers_command) if response_url else None
    live = live_card(inc.number, secure=confidential.hidden(deps.security, inc))
    return Post(lane(inc.number), channel=channel, ref=card_ref(inc.number), live=live, notify=notify)


async def _status_moved_since(tx: Tx, inc: Incident, cmd: ChangeCommand, as_of: float) -> bool:
    if not isinstance(cmd, c.Transition | c.Reopen):
        return False
    last = await repo.last_event_at(tx, inc.number, kind="status")
    return last is not None and last > as_of


def card_channel(settings: Settings, inc: Incident) -> str:
    """A confidential incident's card goes to the private security channel when there is one."""
    if inc.restricted and settings.security_channel:
        return settings.security_channel
    return settings.incident_channel


async def declare(
    deps: Deps,
    *,
    actor: str,
    cmd: c.Open,
    key: str,
    response_url: str | None = None,
    answers_command: bool = False,
    scenario: str | None = None,
    linked: Callable[[UnitOfWork, Incident], Awaitable[None]] | None = None,
) -> Applied:
    """Record a new incident and owe Slack its card; the declarer commands it until someone takes over.

    ``answers_command``: ``response_url`` is the declaring slash command's, whose ack the "is live"
    follow-up replaces (a button's response_url must not: that would replace the message it is on).
    ``scenario`` overrides routing by title (an alert knows its own); ``linked`` is the caller's part of
    the same unit of work (an alert linking itself to the new incident)."""
    route = deps.router.route(cmd.title)
    if scenario is not None and not route.revealed:  # a breach in the title outranks an alert's own
        route = Route(scenario, restricted=deps.router.restricted(scenario))

    async def record(uow: UnitOfWork) -> Incident:
        tx, now = uow.tx, uow.now
        number = await repo.next_incident_number(tx)
        inc = Incident(
            number=number,
            title=cmd.title,
            severity=cmd.severity,
            status=Status.INVESTIGATING,
            commander=actor,
            declared_by=actor,
            created_at=now,
            updated_at=now,
            scenario=route.scenario,
            status_times={Status.INVESTIGATING.value: now},
            restricted=route.restricted,
        )
        await repo.insert_incident(tx, inc)
        await repo.append_event(
            tx,
            incident=number,
            kind="declared",
            actor=actor,
            text=f"declared {inc.severity.value}: {inc.title}",
            at=now,
        )
        await owe(tx, _card_post(deps, inc, response_url, answers_command=answers_command), at=now)
        uow.emit(Declared(inc, actor))
        if linked is not None:
            await linked(uow, inc)
        return inc

    try:
        inc = await unit_of_work(deps, key=key, work=record)
    except Conflict:
        return Applied(None, "Already declared (this request was delivered twice).", duplicate=True)
    if confidential.hidden(deps.security, inc) and not deps.security.safe:
        deps.spawn(deps.security.check_if_due(), name="security-channel-check")  # before more goes there
    return Applied(inc, render.declared_reply(inc, channel=card_channel(deps.settings, inc)))


def apply_change(inc: Incident, cmd: ChangeCommand, ctx: Context) -> Change:
    """The incident after ``cmd``, and how to tell it: the command's own pure change. Pure."""
    verb = c.verb_for(cmd)
    assert verb.apply is not None, f"{verb.name} changes nothing"
    return verb.apply(inc, cmd, ctx)


async def change_checked(
    deps: Deps,
    *,
    actor: str,
    cmd: ChangeCommand,
    key: str,
    response_url: str | None,
    expected_version: int | None = None,
    as_of: float | None = None,
    answers_command: bool = False,
) -> Applied:
    """``change``, with ``incident_admins`` enforced; a user-group check (a Slack call) runs after the
    ack and the change then follows, its reply owed through ``response_url`` (``answers_command``: a
    slash command's, the reply replacing its "Checking that you may…" ack)."""
    try:
        return await change(
            deps, actor=actor, cmd=cmd, key=key, expected_version=expected_version, as_of=as_of
        )
    except AdminCheckNeeded as needed:
        admins = deps.settings.incident_admins
        if not any(a.startswith("S") for a in admins) or not response_url:
            raise Forbidden(f"Only {permission.who(admins)} may {needed.what}.") from None
        url = response_url

        def reply(text: str) -> Respond:
            return Respond.answer(url, text) if answers_command else Respond(url, text)

        work = _change_after_check(deps, actor, cmd, key, expected_version, reply=reply)
        deps.spawn(work, name=f"incident-admin:{needed.what}")
        return Applied(None, f":hourglass_flowing_sand: Checking that you may {needed.what}…")


async def _change_after_check(
    deps: Deps,
    actor: str,
    cmd: ChangeCommand,
    key: str,
    expected_version: int | None,
    *,
    reply: Callable[[str], Respond],
) -> None:
    decision = await permission.may_change_incident(deps.settings, deps.directory, actor)
    if not decision.allowed:
        text = f":no_entry: {decision.reason}"
    else:
        try:
            outcome = await change(
                deps, actor=actor, cmd=cmd, key=key, expected_version=expected_version, admin_checked=True
            )
            text = outcome.reply
        except OpsbotError as exc:
            text = explain(exc)
    async with deps.store.transaction() as tx:
        await owe(tx, reply(text), at=deps.clock())
    deps.outbox.notify()


def context(deps: Deps, actor: str, now: float) -> Context:
    """What a pure change may know besides the incident: the actor, the time, scenarios, the path."""
    scenarios = deps.router.scenarios()
    confidential = frozenset(k for k in scenarios if deps.router.restricted(k))
    levels = tuple(level.name for level in deps.settings.escalation_path)
    return Context(actor, now, scenarios, confidential, levels)


async def apply_within(uow: UnitOfWork, deps: Deps, inc: Incident, cmd: ChangeCommand, actor: str) -> Change:
    """Apply ``cmd`` to ``inc`` (locked by the caller) inside the caller's unit of work: the incident
    stored, the timeline written, the card edited, the thread told, the events emitted."""
    tx, now = uow.tx, uow.now
    result = apply_change(inc, cmd, context(deps, actor, now))
    await repo.update_incident(tx, result.incident)
    await repo.append_event(
        tx, incident=inc.number, kind=result.kind, actor=actor, text=result.summary, at=result.at or now
    )
    await owe_card(deps, tx, result.incident)
    await owe(tx, reply(inc.number, result.announcement, broadcast=result.broadcast), at=now)
    uow.emit(Changed(inc, result.incident, actor, result.kind, c.said(cmd)))
    for event in result.events:
        uow.emit(event)
    return result


async def locked(tx: Tx, number: int) -> Incident:
    """The incident, locked for this transaction; NotFound when there is none."""
    inc = await repo.get_incident(tx, number, for_update=True)
    if inc is None:
        raise NotFound(f"There is no INC-{number}.", "/incident list")
    return inc


async def change(
    deps: Deps,
    *,
    actor: str,
    cmd: ChangeCommand,
    key: str,
    expected_version: int | None = None,
    as_of: float | None = None,
    admin_checked: bool = False,
) -> Applied:
    """Apply one change: card edited in place, the thread told, the timeline written, exactly once.

    ``as_of``: when the request was made (a thread message's ts); a change made since refuses it."""
    admins = deps.settings.incident_admins

    async def apply(uow: UnitOfWork) -> Change:
        inc = await locked(uow.tx, cmd.number)
        if as_of is not None and await _status_moved_since(uow.tx, inc, cmd, as_of):
            # A status move sent before the incident's latest status change (a redelivery held up
            # somewhere): applying it now would undo what people did since. Notes and fields still apply.
            raise StaleAction(
                f"{inc.ref} changed after you sent that (it is now {inc.status.title}); nothing was done."
                " Say it again if it still applies."
            )
        reserved = admin_only(inc, cmd) if admins and not admin_checked and actor not in admins else None
        if reserved is not None:
            raise AdminCheckNeeded(reserved)
        if expected_version is not None and inc.version != expected_version:
            raise StaleAction(
                f"{inc.ref} changed before your click landed; it is now {inc.status.title}."
                " Nothing was done twice."
            )
        return await apply_within(uow, deps, inc, cmd, actor)

    try:
        result = await unit_of_work(deps, key=key, work=apply)
    except Conflict:
        return Applied(None, "Already done (this request was delivered twice).", duplicate=True)
    return Applied(result.incident, f"Done: {result.announcement}")


LIST_PAGE = 25
COUNT_AT_MOST = 1000  # "1000+ more": the count stays bounded however long the history


async def list_incidents(deps: Deps, *, include_resolved: bool, before: int | None = None) -> blocks.Message:
    """One page of ``/incident list``, newest first, saying how many more there are and how to see them."""
    async with deps.store.transaction() as tx:
        incidents = await repo.list_incidents(
            tx, include_resolved=include_resolved, before=before, limit=LIST_PAGE
        )
        more = 0
        if len(incidents) == LIST_PAGE:
            more = await repo.count_incidents(
                tx, include_resolved=include_resolved, before=incidents[-1].number, at_most=COUNT_AT_MOST
            )
    return render.incident_list(
        incidents,
        now=deps.clock(),
        include_resolved=include_resolved,
        more=render.More(more, capped=more >= COUNT_AT_MOST) if more else None,
    )


async def show(deps: Deps, *, number: int, page: int = 1, shown_in: str | None = None) -> blocks.Message:
    """The card, the declaration and the timeline, one page of it at a time; a confidential incident's
    only in its private channel (``shown_in``: where the answer is asked for)."""
    async with deps.store.transaction() as tx:
        inc = await repo.get_incident(tx, number)
        if inc is None:
            raise NotFound(f"There is no INC-{number}.", "/incident list")
        if (elsewhere := confidential.elsewhere(deps.security, inc, shown_in)) is not None:
            return blocks.Message(text=elsewhere)
        total = await repo.timeline_count(tx, number)
        pages = max(1, -(-total // SHOW_PAGE))
        page = min(page, pages)
        events = await repo.timeline(tx, number, offset=(page - 1) * SHOW_PAGE, limit=SHOW_PAGE, total=total)
    return render.incident_detail(inc, events, page=page, pages=pages, total=total)


def _ts(ts: str) -> float:
    try:
        return float(ts)
    except ValueError:
        return 0.0


async def perform(
    deps: Deps,
    cmd: c.Command,
    *,
    actor: str,
    key: str,
    response_url: str | None = None,
    as_of: float | None = None,
    channel: str | None = None,
    shown_in: str | None = None,
) -> blocks.Message:
    """Carry out one parsed ``/incident`` command (or thread mention); returns the private reply.

    ``channel`` is where a slash command was typed, held against ``allowed_channels``; ``shown_in``
    where a thread mention was made (a confidential incident is shown only in its private channel).
    ``response_url`` is the slash command's: a follow-up to its ack takes the ack's place."""
    shown_in = shown_in or channel
    if channel is not None:
        where = permission.channel_allowed(deps.settings, "incident", channel)
        if not where.allowed:
            raise Forbidden(where.reason)
    cmd = c.scrub(cmd, deps.redact)
    if isinstance(cmd, c.Help):
        return blocks.Message(text=c.help_text())
    if isinstance(cmd, c.ListIncidents):
        return await list_incidents(deps, include_resolved=cmd.include_resolved, before=cmd.before)
    if isinstance(cmd, c.Show):
        return await show(deps, number=cmd.number, page=cmd.page, shown_in=shown_in)
    if isinstance(cmd, c.Postmortem):
        return await postmortem(deps, number=cmd.number, actor=actor, key=key, shown_in=shown_in)
    if isinstance(cmd, c.Stats):
        return await statistics(deps, days=cmd.days, key=key, channel=channel)
    if isinstance(cmd, c.Open):
        outcome = await declare(
            deps, actor=actor, cmd=cmd, key=key, response_url=response_url, answers_command=True
        )
        return blocks.Message(text=outcome.reply)
    if isinstance(cmd, c.Publish):  # the status page's use case: the listener hands it there
        raise UsageError("Publish with the slash command: /incident publish INC-n <text>.")
    outcome = await change_checked(
        deps, actor=actor, cmd=cmd, key=key, response_url=response_url, as_of=as_of, answers_command=True
    )
    return blocks.Message(text=outcome.reply)
