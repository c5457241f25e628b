"""Alert use cases: receive what a source sent, open an incident from it, attach it, dismiss it.

Receiving is one short transaction per delivery: record or update each alert and owe its message, so the
webhook is answered well inside Sentry's one second. Slack hears about it through the outbox.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass

from bot.alerts import message, render, rules
from bot.alerts.model import Alert
from bot.deps import Deps
from bot.errors import NotFound, UsageError
from bot.incidents import card
from bot.incidents import commands as c
from bot.incidents.events import UnitOfWork
from bot.incidents.model import OPSBOT, Incident, Severity, Status
from bot.incidents.service import Applied, declare
from bot.incidents.work import replied
from bot.outbox import Respond, owe
from bot.slack import blocks
from bot.store import Tx, repo
from bot.store import alerts as queries
from bot.store.alerts import AlertRecord

CONFIDENTIAL = "confidential (security)"
log = logging.getLogger("opsbot.alerts")

RULE_ACTOR = OPSBOT


@dataclass(frozen=True)
class Received:
    """What one delivery did: alerts recorded new, updated, and ignored as out of order."""

    new: int = 0
    updated: int = 0
    stale: int = 0
    to_declare: tuple[int, ...] = ()


async def receive(deps: Deps, alerts: Sequence[Alert]) -> Received:
    """Record a delivery's alerts and owe their messages; then declare what a rule says to declare."""

    # Routing is pure and the slowest step: done before the transaction, not inside it.
    routed = [(alert, rules.scenario_for(alert, deps.settings.scenario_keywords)) for alert in alerts]

    async def record(tx: Tx) -> Received:
        new = updated = stale = 0
        declare_ids: list[int] = []
        for alert, scenario in routed:
            rec, what = await _record_one(deps, tx, alert, scenario)
            new += what == "new"
            updated += what == "updated"
            stale += what == "stale"
            rule = rules.matching_rule(alert, deps.settings.alert_rules)
            if rule is not None and rec.open_for_action and rec.firing:
                declare_ids.append(rec.id)
        return Received(new, updated, stale, tuple(declare_ids))

    received = await deps.store.run(record)
    deps.outbox.notify()
    for alert_id in received.to_declare:
        await open_incident(deps, alert_id=alert_id, actor=RULE_ACTOR, by_rule=True)
    return received


async def _record_one(deps: Deps, tx: Tx, alert: Alert, scenario: str | None) -> tuple[AlertRecord, str]:
    now = deps.clock()
    event_at = (alert.ended_at if not alert.firing else alert.started_at) or now
    inserted = await queries.insert_new(tx, alert, scenario=scenario, event_at=event_at, now=now)
    rec = await queries.by_key(tx, alert.source, alert.key)
    assert rec is not None
    if inserted:
        if rec.firing:  # a resolve for an alert never seen firing is kept quietly
            await message.owe_post(tx, rec.id, channel=_channel(deps), at=now)
        return rec, "new"
    if event_at < rec.event_at or (alert.status is rec.status and alert.firing is False):
        rec = await queries.count_seen(tx, rec, now=now)  # out of order, or a resolve said again
        return rec, "stale"
    was_firing = rec.firing
    rec = await queries.apply(tx, rec, alert, event_at=event_at, now=now)
    await message.owe_edit(tx, rec.id, at=now)
    if rec.incident is not None and was_firing != rec.firing:
        await _tell_incident(deps, tx, rec, "fired again" if rec.firing else "resolved")
        if not rec.firing:
            await _suggest_monitoring(deps, tx, rec.incident)
    return rec, "updated"


async def open_incident(
    deps: Deps, *, alert_id: int, actor: str, by_rule: bool = False, response_url: str | None = None
) -> Applied:
    """Declare an incident from the alert (suggested severity, routed scenario) and link them, once."""
    async with deps.store.transaction() as tx:
        rec = await queries.get(tx, alert_id)
    if rec is None:
        raise NotFound("That alert is no longer known.", None)
    if rec.incident is not None:
        return Applied(None, f"This alert is already linked to *INC-{rec.incident}*.", duplicate=True)
    rule = rules.matching_rule(_as_alert(rec), deps.settings.alert_rules) if by_rule else None
    severity = Severity(rule.declare) if rule else rules.suggested_severity(_as_alert(rec))

    async def link(uow: UnitOfWork, inc: Incident) -> None:
        tx, now = uow.tx, uow.now
        await queries.link_incident(tx, rec.id, inc.number)
        linked = await queries.get(tx, rec.id)
        assert linked is not None
        how = "opened this incident by rule" if by_rule else "is linked to this incident"
        note = render.thread_note(linked, what=how)
        await owe(tx, card.reply(inc.number, note), at=now)
        await message.owe_edit(tx, rec.id, at=now)

    return await declare(
        deps,
        actor=actor,
        cmd=c.Open(severity, rec.title),
        key=f"alert-open:{rec.id}",
        response_url=response_url,
        scenario=rec.scenario,
        linked=link,
    )


async def attach(
    deps: Deps, *, alert_id: int, number: int, actor: str, response_url: str | None = None
) -> str:
    """Link the alert to an open incident; its thread hears of it, the alert's message says so."""
    now = deps.clock()

    async def body(tx: Tx) -> str:
        rec = await queries.get(tx, alert_id, for_update=True)
        if rec is None:
            raise NotFound("That alert is no longer known.", None)
        if rec.incident is not None:
            return f"This alert is already linked to *INC-{rec.incident}*."
        inc = await repo.get_incident(tx, number)
        if inc is None or inc.status is Status.RESOLVED:
            raise UsageError(f"INC-{number} is not an open incident.", "/incident list")
        await queries.link_incident(tx, alert_id, number)
        linked = await queries.get(tx, alert_id)
        assert linked is not None
        await _tell_incident(deps, tx, linked, f"was attached by {blocks.user(actor)}")
        await message.owe_edit(tx, alert_id, at=now)
        await repo.append_event(
            tx, incident=number, kind="alert", actor=actor, text=f"attached alert: {linked.title}", at=now
        )
        return f"Attached to *INC-{number}*."

    return await replied(deps, body, response_url=response_url, at=now)


async def dismiss(
    deps: Deps, *, alert_id: int, actor: str, reason: str, response_url: str | None = None
) -> str:
    """Set the alert aside, with who and why on record; its buttons go away."""
    now = deps.clock()

    async def body(tx: Tx) -> str:
        rec = await queries.get(tx, alert_id, for_update=True)
        if rec is None:
            raise NotFound("That alert is no longer known.", None)
        if not rec.open_for_action:
            return "This alert was already handled."
        await queries.dismiss(tx, alert_id, by=actor, reason=render.DISMISS_REASONS[reason])
        await message.owe_edit(tx, alert_id, at=now)
        return "Dismissed."

    return await replied(deps, body, response_url=response_url, at=now)


async def offer_attach(deps: Deps, *, alert_id: int, response_url: str) -> None:
    """Owe the person who pressed Attach a private list of open incidents, newest first."""
    now = deps.clock()

    async def body(tx: Tx) -> None:
        if await queries.get(tx, alert_id) is None:
            raise NotFound("That alert is no longer known.", None)
        incidents = await repo.list_incidents(tx, include_resolved=False, limit=25)
        # Anyone in the alerts channel may press Attach: a confidential title stays out, as in the list.
        named = [(inc.number, CONFIDENTIAL if inc.restricted else inc.title) for inc in incidents]
        choices = render.attach_choices(alert_id, named)
        await owe(tx, Respond(response_url, choices.text, choices.blocks), at=now)

    await deps.store.run(body)
    deps.outbox.notify()


async def _tell_incident(deps: Deps, tx: Tx, rec: AlertRecord, what: str) -> None:
    assert rec.incident is not None
    await owe(tx, card.reply(rec.incident, render.thread_note(rec, what=what)), at=deps.clock())


async def _suggest_monitoring(deps: Deps, tx: Tx, number: int) -> None:
    inc = await repo.get_incident(tx, number)
    if inc is None or inc.status not in (Status.INVESTIGATING, Status.IDENTIFIED):
        return
    if await queries.firing_of_incident(tx, number) == 0:
        text = (
            f":large_green_circle: Every alert linked to *{inc.ref}* has resolved. If the fix holds, move it"
            " to Monitoring (`@opsbot monitoring`); opsbot never resolves an incident by itself."
        )
        await owe(tx, card.reply(number, text), at=deps.clock())


def _channel(deps: Deps) -> str:
    return deps.settings.alert_channel or deps.settings.incident_channel


def _as_alert(rec: AlertRecord) -> Alert:
    return Alert(
        source=rec.source,
        key=rec.key,
        status=rec.status,
        title=rec.title,
        severity=rec.severity,
        summary=rec.summary,
        labels=rec.labels,
        links=rec.links,
    )
