"""The clock's use cases, inside the incident's unit of work: page, acknowledge, escalate, snooze.

``subscriber`` hears the incident core's events inside its unit of work (declared, changed, escalated);
snooze is a use case of its own (a nudge's button): one transaction holding the delivery key, the
timeline, what is owed to Slack, and the timer moved. Acknowledge and escalate are verbs of the core.
"""

from __future__ import annotations

import dataclasses
from urllib.parse import urlsplit

from bot.clock import messages, pagerduty, rules, watch
from bot.clock.durations import format_target
from bot.clock.rules import Due, Policy
from bot.deps import Deps
from bot.errors import NotFound
from bot.incidents import card, confidential
from bot.incidents import service as incidents
from bot.incidents.card import owe_card
from bot.incidents.commands import Acknowledge
from bot.incidents.events import Changed, Declared, Escalated, Event, Subscriber, UnitOfWork
from bot.incidents.model import OPSBOT, Incident, Status, touch
from bot.jobs import scheduler
from bot.outbox import Page, Post, owe
from bot.settings import Settings
from bot.slack import ids
from bot.slack.blocks import user
from bot.store import Conflict, Tx, repo

_built: list[tuple[Settings, Policy]] = []  # the last settings object and the policy built from it


def policy(deps: Deps) -> Policy:
    """The clock's policy from the settings, built once per settings object (they are read at start-up
    and not changed after; rebuilding it on every incident change cost about 2 % of a note's CPU)."""
    if _built and _built[0][0] is deps.settings:
        return _built[0][1]
    built = Policy.from_settings(deps.settings)
    _built[:] = [(deps.settings, built)]
    return built


def nudge_ref(number: int) -> str:
    return ids.nudge_ref(number)


async def schedule(tx: Tx, number: int, due: Due) -> None:
    """Start or move one of an incident's timers; its payload names the level it was meant for."""
    payload = {} if due.level is None else {"level": due.level}
    await scheduler.schedule(tx, kind=due.kind, subject=rules.subject(number), due=due.due, payload=payload)


async def cancel_all(tx: Tx, number: int) -> None:
    for kind in rules.KINDS:
        await scheduler.cancel(tx, kind=kind, subject=rules.subject(number))


def subscriber(deps: Deps) -> Subscriber:
    """The clock's part of every incident unit of work: page, acknowledge, start and stop its timers."""

    async def on_event(uow: UnitOfWork, event: Event) -> None:
        if isinstance(event, Declared):
            await _declared(deps, uow.tx, event.incident)
        elif isinstance(event, Changed):
            await _changed(
                deps, uow.tx, before=event.before, after=event.incident, actor=event.actor, kind=event.kind
            )
        elif isinstance(event, Escalated):
            await _escalated(deps, uow.tx, event)

    return on_event


async def _declared(deps: Deps, tx: Tx, inc: Incident) -> None:
    """Page level 1 for P0/P1, start the response, resolve and nudge timers."""
    pol = policy(deps)
    if rules.first_page(inc):
        inc = dataclasses.replace(inc, escalation_level=1)
        await repo.update_incident(tx, inc)
        await owe_page(deps, tx, inc, why=f"declared {inc.severity.value}", pol=pol)
    for due in rules.on_declared(inc, pol, now=deps.clock()):
        await schedule(tx, inc.number, due)


async def _changed(deps: Deps, tx: Tx, *, before: Incident, after: Incident, actor: str, kind: str) -> None:
    """Acting acknowledges, a raise pages, resolving stops the chain; stores what the clock changed."""
    pol = policy(deps)
    now = deps.clock()
    changed = after
    if kind == "ack":  # /incident ack or the button: the verb stored who and when
        await _acknowledged(deps, tx, after, actor=actor, how=None)
    elif rules.acknowledges(before, after, actor=actor, kind=kind):
        acked = rules.acknowledge(after, actor=actor, now=now)
        if acked is not None:
            after = acked
            how = "took command" if kind == "commander" else "changed its status"
            await _acknowledged(deps, tx, after, actor=actor, how=how)
    if kind == "severity":
        after = await _severity_changed(deps, tx, before, after, pol=pol, actor=actor)
    if kind == "status":
        await _status_changed(deps, tx, before, after, pol=pol)
    if after != changed:
        await repo.update_incident(tx, after)


async def _escalated(deps: Deps, tx: Tx, event: Escalated) -> None:
    """``/incident escalate``: the level the verb raised to is called now (the verb wrote the timeline)."""
    inc, pol = event.incident, policy(deps)
    why = f"escalated by {user(event.actor)}" + (f": {event.reason}" if event.reason else "")
    await owe_page(deps, tx, inc, why=why, pol=pol, actor=event.actor, record=False)
    if not inc.acknowledged:
        await schedule(tx, inc.number, rules.respond_due(inc, pol, since=deps.clock()))


async def _severity_changed(
    deps: Deps, tx: Tx, before: Incident, after: Incident, *, pol: Policy, actor: str
) -> Incident:
    now = deps.clock()
    if rules.first_page(after):
        after = dataclasses.replace(after, escalation_level=1)
        await owe_page(deps, tx, after, why=f"raised to {after.severity.value} by {user(actor)}", pol=pol)
    elif after.escalation_level and after.severity.pages_oncall and after.severity < before.severity:
        # Already paged and raised further (P1 -> P0; "P0" < "P1"): the current level hears it anew.
        await owe_page(deps, tx, after, why=f"raised to {after.severity.value} by {user(actor)}", pol=pol)
    # Targets for the new severity count from the change.
    if not after.acknowledged:
        await schedule(tx, after.number, rules.respond_due(after, pol, since=now))
    await schedule(tx, after.number, Due(rules.RESOLVE, now + pol.resolve_targets[after.severity]))
    return after


async def _status_changed(deps: Deps, tx: Tx, before: Incident, after: Incident, *, pol: Policy) -> None:
    now = deps.clock()
    if after.status is Status.RESOLVED:
        await cancel_all(tx, after.number)
        await watch.stop(deps, tx, after, why="resolved")
        if after.escalation_level:
            await owe_pagerduty(deps, tx, after, "resolve")
        return
    if before.status is Status.RESOLVED:  # reopened: reminders start again
        await schedule(tx, after.number, Due(rules.NUDGE, now + pol.update_every[after.severity]))
    if after.status is Status.MONITORING:
        await watch.start(deps, tx, after, pol=pol)
    elif before.status is Status.MONITORING:
        await watch.stop(deps, tx, after, why=f"moved to {after.status.title}")


async def _acknowledged(deps: Deps, tx: Tx, inc: Incident, *, actor: str, how: str | None) -> None:
    """The response chain stops and PagerDuty is told; ``how`` an implicit acknowledgement happened."""
    await scheduler.cancel(tx, kind=rules.RESPOND, subject=rules.subject(inc.number))
    if how is not None:  # the ack verb writes its own row; one kind for every acknowledgement
        await repo.append_event(
            tx, incident=inc.number, kind="ack", actor=actor, text=f"acknowledged ({how})", at=deps.clock()
        )
    if inc.escalation_level:
        await owe_pagerduty(deps, tx, inc, "acknowledge")


async def owe_page(
    deps: Deps, tx: Tx, inc: Incident, *, why: str, pol: Policy, actor: str = OPSBOT, record: bool = True
) -> None:
    """Call the incident's current level: a new message in the thread and in the level's channel, a
    timeline entry (unless the caller wrote one) and, for the first page, a PagerDuty trigger."""
    now = deps.clock()
    number = inc.escalation_level
    level = pol.level(number)
    channel = incidents.card_channel(deps.settings, inc)
    secret = confidential.hidden(deps.security, inc)  # its title and why stay in its private thread
    thread = messages.page(inc, level, number=number, why=why, incident_channel=channel, in_thread=True)
    await owe(tx, card.reply(inc.number, thread), at=now)
    for where in rules.channels(level, channel):
        msg = messages.page(
            inc, level, number=number, why=why, incident_channel=channel, in_thread=False, confidential=secret
        )
        # Its own lane: a level channel the bot cannot post in must not hold up the incident's thread.
        await owe(tx, Post(f"page:{inc.number}", msg.text, msg.blocks, channel=where), at=now)
    if record:
        await repo.append_event(
            tx,
            incident=inc.number,
            kind="escalated",
            actor=actor,
            text=messages.escalated_line(inc, level, number=number, actor=None, why=why),
            at=now,
        )
    if number == 1:
        await owe_pagerduty(deps, tx, inc, "trigger")


async def owe_pagerduty(deps: Deps, tx: Tx, inc: Incident, action: pagerduty.Action) -> None:
    """Owe PagerDuty an event for ``inc`` when a routing key is set (in order, on a lane of its own)."""
    if deps.settings.pagerduty_routing_key is None:
        return
    source = urlsplit(deps.settings.app_url).hostname if deps.settings.app_url else None
    secret = confidential.hidden(deps.security, inc)
    event = pagerduty.event(inc, action, source=source or OPSBOT, confidential=secret)
    await owe(tx, Page(f"pagerduty:{inc.number}", inc.number, event), at=deps.clock())


async def _locked(tx: Tx, number: int) -> Incident:
    inc = await repo.get_incident(tx, number, for_update=True)
    if inc is None:
        raise NotFound(f"There is no INC-{number}.", "/incident list")
    return inc


async def acknowledge(deps: Deps, *, number: int, actor: str, key: str, how: str) -> str:
    """The card's or a page's Acknowledge button: the ack verb of the incident core, saying how."""
    outcome = await incidents.change(deps, actor=actor, cmd=Acknowledge(number, how), key=key)
    return outcome.reply


async def escalate_by_clock(deps: Deps, tx: Tx, inc: Incident, *, why: str, pol: Policy) -> Incident:
    """A missed target: the next level is called (the timer handlers' half of ``escalate``)."""
    now = deps.clock()
    up = touch(rules.escalate(inc, pol), now=now)
    await repo.update_incident(tx, up)
    await owe_page(deps, tx, up, why=why, pol=pol)
    await owe_card(deps, tx, up)
    return up


async def snooze(deps: Deps, *, number: int, actor: str, seconds: float, key: str) -> str:
    """Snooze update reminders: the next nudge comes ``seconds`` from now."""
    now = deps.clock()

    async def apply(tx: Tx) -> str:
        await repo.claim(tx, key, now)
        inc = await _locked(tx, number)
        if not inc.is_open:
            return f"{inc.ref} is resolved; there are no reminders to snooze."
        await schedule(tx, number, Due(rules.NUDGE, now + seconds))
        await repo.append_event(
            tx,
            incident=number,
            kind="snoozed",
            actor=actor,
            text=f"snoozed update reminders for {format_target(seconds)}",
            at=now,
        )
        msg = messages.snoozed(inc, actor=actor, seconds=seconds, until=now + seconds)
        await owe(tx, card.edit(number, nudge_ref(number), msg), at=now)
        return f"Snoozed: the next reminder for {inc.ref} comes in {format_target(seconds)}."

    try:
        reply = await deps.store.run(apply)
    except Conflict:
        return "Already done (this request was delivered twice)."
    deps.outbox.notify()
    return reply


async def update_prompt(deps: Deps, *, number: int) -> str:
    """The private answer to a nudge's Post update button."""
    async with deps.store.transaction() as tx:
        inc = await repo.get_incident(tx, number)
    if inc is None:
        raise NotFound(f"There is no INC-{number}.", "/incident list")
    return messages.update_prompt(inc)
