"""Incident use cases: declare, change, list, show, record thread messages.

Each takes its ports (``Deps``) as an argument, runs in one store transaction that also holds the
delivery key (idempotency) and everything owed to Slack (outbox), and wakes the outbox after commit.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, cast

import handlers
from bot import outbox
from bot.actions import permission
from bot.deps import Deps
from bot.errors import Forbidden, NotFound, OpsbotError, StaleAction, UsageError
from bot.incidents import commands as c
from bot.incidents import render
from bot.incidents.card import CARD, card_ref, lane, owe_card
from bot.incidents.guard import AdminCheckNeeded, ChangeCommand, admin_only
from bot.incidents.model import Incident, Status, format_duration, touch, transition
from bot.runbook import service as diagnostics
from bot.slack import blocks
from bot.slack.replies import explain
from bot.store import Conflict, Tx, repo


@dataclass(frozen=True)
class Applied:
    """What a use case did: the incident as it now stands and the private reply for the actor."""

    incident: Incident | None
    reply: str
    duplicate: bool = False


async def declare(
    deps: Deps,
    *,
    actor: str,
    cmd: c.Open,
    key: str,
    response_url: str | None = None,
    scenario: str | None = None,
    after_declare: Callable[[Tx, Incident], Awaitable[None]] | None = None,
) -> Applied:
    """Record a new incident and owe Slack its card; the declarer commands it until someone takes over."""
    now = deps.clock()

    async def record(tx: Tx) -> Incident:
        await repo.claim(tx, key, now)
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
            scenario=scenario,
            status_times={Status.INVESTIGATING.value: now},
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
        notify = {"notify_url": response_url, "notify_text": render.card_link(inc, "{permalink}")}
        await outbox.post(
            tx,
            lane=lane(number),
            at=now,
            channel=deps.settings.incident_channel,
            ref=card_ref(number),
            incident=number,
            render=CARD,
            **(notify if response_url else {}),
        )
        if after_declare is not None:
            await after_declare(tx, inc)
        return inc

    try:
        inc = await deps.store.run(record)
    except Conflict:
        return Applied(None, "Already declared (this request was delivered twice).", duplicate=True)
    deps.outbox.notify()
    return Applied(inc, render.declared_reply(inc, channel=deps.settings.incident_channel))


@dataclass(frozen=True)
class Change:
    incident: Incident
    kind: str
    summary: str  # for the timeline
    announcement: str  # for the thread
    broadcast: bool = False


def apply_change(inc: Incident, cmd: ChangeCommand, *, actor: str, now: float) -> Change:
    """The incident after ``cmd``, and how to tell it. Pure."""
    who = blocks.user(actor)
    if isinstance(cmd, c.Reopen):
        cmd = c.Transition(cmd.number, Status.INVESTIGATING)
    if not inc.is_open and not (isinstance(cmd, c.Transition) and cmd.status is Status.INVESTIGATING):
        raise UsageError(f"{inc.ref} is resolved; reopen it first.", f"/incident reopen {inc.ref}")
    if isinstance(cmd, c.Transition):
        new = transition(inc, cmd.status, now=now)
        if cmd.message:
            new = dataclasses.replace(new, latest_update=cmd.message)
        said = f": {blocks.escape(cmd.message)}" if cmd.message else ""
        if cmd.status is Status.RESOLVED:
            took = format_duration(new.duration(now))
            return Change(
                new,
                "status",
                f"resolved{': ' + cmd.message if cmd.message else ''}",
                f":white_check_mark: {who} resolved *{inc.ref}* after {took}{said}",
                broadcast=True,
            )
        if inc.status is Status.RESOLVED:
            return Change(
                new, "status", "reopened", f":leftwards_arrow_with_hook: {who} reopened *{inc.ref}*"
            )
        return Change(
            new,
            "status",
            f"{inc.status.title} → {cmd.status.title}{': ' + cmd.message if cmd.message else ''}",
            f"{cmd.status.emoji} {who} changed status {inc.status.title} → *{cmd.status.title}*{said}",
        )
    if isinstance(cmd, c.Note):
        new = touch(inc, now=now, latest_update=cmd.text)
        return Change(new, "note", cmd.text, f":memo: {who}: {blocks.escape(cmd.text)}")
    if isinstance(cmd, c.SetSeverity):
        if cmd.severity is inc.severity:
            raise UsageError(f"{inc.ref} is already {cmd.severity.value}.")
        new = touch(inc, now=now, severity=cmd.severity)
        return Change(
            new,
            "severity",
            f"{inc.severity.value} → {cmd.severity.value}",
            f":warning: {who} changed severity {inc.severity.value} → *{cmd.severity.value}*",
        )
    if isinstance(cmd, c.SetCommander):
        if cmd.user_id == inc.commander:
            raise UsageError(f"{blocks.user(cmd.user_id)} already commands {inc.ref}.")
        new = touch(inc, now=now, commander=cmd.user_id)
        return Change(
            new,
            "commander",
            f"commander → {cmd.user_id}",
            f":bust_in_silhouette: {who} handed command of *{inc.ref}* to {blocks.user(cmd.user_id)}",
        )
    label = "Impact" if cmd.field == "impact" else "ETA"
    new = touch(inc, now=now, **{cmd.field: cmd.text})
    return Change(
        new, cmd.field, f"{label}: {cmd.text}", f":pencil2: {who} set {label}: {blocks.escape(cmd.text)}"
    )


async def change_checked(
    deps: Deps,
    *,
    actor: str,
    cmd: ChangeCommand,
    key: str,
    response_url: str | None,
    expected_version: int | None = None,
) -> Applied:
    """``change``, with ``incident_admins`` enforced; a user-group check (a Slack call) runs after the
    ack and the change then follows, its reply owed through ``response_url``."""
    try:
        return await change(deps, actor=actor, cmd=cmd, key=key, expected_version=expected_version)
    except AdminCheckNeeded as needed:
        admins = deps.settings.incident_admins
        if not any(a.startswith("S") for a in admins) or not response_url:
            raise Forbidden(f"Only {permission.who(admins)} may {needed.what}.") from None
        work = _change_after_check(deps, actor, cmd, key, response_url, expected_version)
        deps.spawn(work, name=f"incident-admin:{needed.what}")
        return Applied(None, f":hourglass_flowing_sand: Checking that you may {needed.what}…")


async def _change_after_check(
    deps: Deps, actor: str, cmd: ChangeCommand, key: str, url: str, expected_version: int | None
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
        await outbox.respond(tx, url=url, at=deps.clock(), text=text)
    deps.outbox.notify()


async def change(
    deps: Deps,
    *,
    actor: str,
    cmd: ChangeCommand,
    key: str,
    expected_version: int | None = None,
    admin_checked: bool = False,
) -> Applied:
    """Apply one change: card edited in place, the thread told, the timeline written, exactly once."""
    now = deps.clock()
    admins = deps.settings.incident_admins

    async def apply(tx: Tx) -> Change:
        await repo.claim(tx, key, now)  # a redelivery fails the next statement with Conflict
        inc = await repo.get_incident(tx, cmd.number, for_update=True)
        if inc is None:
            raise NotFound(f"There is no INC-{cmd.number}.", "/incident list")
        reserved = admin_only(inc, cmd) if admins and not admin_checked and actor not in admins else None
        if reserved is not None:
            raise AdminCheckNeeded(reserved)
        if expected_version is not None and inc.version != expected_version:
            raise StaleAction(
                f"{inc.ref} changed before your click landed; it is now {inc.status.title}."
                " Nothing was done twice."
            )
        result = apply_change(inc, cmd, actor=actor, now=now)
        await repo.update_incident(tx, result.incident)
        await repo.append_event(
            tx, incident=inc.number, kind=result.kind, actor=actor, text=result.summary, at=now
        )
        await owe_card(deps, tx, result.incident)
        await outbox.post(
            tx,
            lane=lane(inc.number),
            at=now,
            thread_ref=card_ref(inc.number),
            text=result.announcement,
            broadcast=result.broadcast,
        )
        return result

    try:
        result = await deps.store.run(apply)
    except Conflict:
        return Applied(None, "Already done (this request was delivered twice).", duplicate=True)
    deps.outbox.notify()
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


async def show(deps: Deps, *, number: int) -> blocks.Message:
    async with deps.store.transaction() as tx:
        inc = await repo.get_incident(tx, number)
        if inc is None:
            raise NotFound(f"There is no INC-{number}.", "/incident list")
        events = await repo.timeline(tx, number)
    return render.incident_detail(inc, events)


async def incident_for_thread(deps: Deps, *, channel: str, thread_ts: str) -> Incident | None:
    async with deps.store.transaction() as tx:
        return await repo.incident_by_card(tx, channel, thread_ts)


async def record_message(
    deps: Deps, *, channel: str, thread_ts: str, ts: str, actor: str, text: str
) -> Incident | None:
    """Put a human message in an incident's thread on its timeline (once, whatever Slack redelivers)."""
    async with deps.store.transaction() as tx:
        inc = await repo.incident_by_card(tx, channel, thread_ts)
        if inc is not None:
            await repo.add_event(
                tx,
                incident=inc.number,
                kind="message",
                actor=actor,
                text=deps.redact(text),
                at=_ts(ts),
                slack_ts=ts,
            )
    return inc


async def edit_message(deps: Deps, *, channel: str, thread_ts: str, ts: str, text: str) -> bool:
    async with deps.store.transaction() as tx:
        inc = await repo.incident_by_card(tx, channel, thread_ts)
        return inc is not None and await repo.edit_message_event(
            tx, incident=inc.number, slack_ts=ts, text=deps.redact(text), at=deps.clock()
        )


async def delete_message(deps: Deps, *, channel: str, thread_ts: str, ts: str) -> bool:
    async with deps.store.transaction() as tx:
        inc = await repo.incident_by_card(tx, channel, thread_ts)
        return inc is not None and await repo.delete_message_event(
            tx, incident=inc.number, slack_ts=ts, at=deps.clock()
        )


def scrub(cmd: c.Command, redact: Callable[[str], str]) -> c.Command:
    """The command with any secret someone pasted into its text replaced, before it is stored or shown."""
    changes = {
        name: cleaned
        for name in ("title", "message", "text")
        if isinstance(value := getattr(cmd, name, None), str) and (cleaned := redact(value)) != value
    }
    return cast(c.Command, dataclasses.replace(cast(Any, cmd), **changes)) if changes else cmd


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
    channel: str | None = None,
) -> blocks.Message:
    """Carry out one parsed ``/incident`` command (or thread mention); returns the private reply.

    ``channel`` is where a slash command was typed, held against ``allowed_channels``."""
    if channel is not None:
        where = permission.channel_allowed(deps.settings, "incident", channel)
        if not where.allowed:
            raise Forbidden(where.reason)
    cmd = scrub(cmd, deps.redact)
    if isinstance(cmd, c.Help):
        return blocks.Message(text=c.help_text())
    if isinstance(cmd, c.ListIncidents):
        return await list_incidents(deps, include_resolved=cmd.include_resolved, before=cmd.before)
    if isinstance(cmd, c.Show):
        return await show(deps, number=cmd.number)
    if isinstance(cmd, c.Open):
        scenario = handlers.classify(cmd.title, deps.settings.scenario_keywords)

        async def thread(tx: Tx, inc: Incident) -> None:
            await diagnostics.owe_scenario_thread(deps, tx, inc, scenario)

        outcome = await declare(
            deps,
            actor=actor,
            cmd=cmd,
            key=key,
            response_url=response_url,
            scenario=scenario.key if scenario else None,
            after_declare=thread,
        )
        if outcome.incident is not None:
            diagnostics.start(deps, outcome.incident.number, scenario or handlers.GENERAL)
        return blocks.Message(text=outcome.reply)
    outcome = await change_checked(deps, actor=actor, cmd=cmd, key=key, response_url=response_url)
    return blocks.Message(text=outcome.reply)
