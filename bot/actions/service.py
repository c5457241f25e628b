"""Remediation use cases: ask (checks, then a private preview), confirm (single-use), run, audit.

The listener's part is store-only and quick; Slack lookups (who may) and the production database
(preview, run) happen after the ack, and every reply is owed through the outbox.
"""

from __future__ import annotations

import dataclasses
import json

import psycopg
from psycopg.conninfo import conninfo_to_dict

from bot.access import permission
from bot.actions import audit, render, settle
from bot.actions.audit import Entry
from bot.actions.grammar import ActionCommand, AuditCommand, shown
from bot.actions.ids import new_token
from bot.actions.model import (
    Action,
    Done,
    Preview,
    RunNamed,
    SignalPlan,
    SqlPlan,
    decode_plan,
    describe,
    encode_plan,
)
from bot.actions.preview import build_preview
from bot.actions.target import AdminDb
from bot.deps import Deps
from bot.errors import NotFound, OpsbotError, UsageError
from bot.outbox import Respond, owe
from bot.slack.blocks import Message, user
from bot.store import Conflict, Tx, doubling, remediation, repo, run_through_blips
from bot.store.remediation import Request

RECORD_FOR = 60.0  # seconds to keep trying to record an outcome through a store blip
NOT_STARTED = "not run: it was settled as outcome unknown before it could start"


def _admin(deps: Deps) -> AdminDb:
    url = deps.settings.ops_database_admin_url
    if url is None:
        raise UsageError(
            "Remediation is not configured: set OPS_DATABASE_ADMIN_URL to a dedicated role"
            " (see docs/operations.md#remediation)."
        )
    return AdminDb(
        url.get_secret_value(), timeout_s=deps.settings.action_timeout_s, own_roles=_own_roles(deps)
    )


def _own_roles(deps: Deps) -> list[str]:
    """The roles opsbot connects as (state store, diagnostics), whose sessions are never signalled."""
    settings, roles = deps.settings, []
    for url in (settings.database_url, settings.ops_database_url):
        if url is None or url.get_secret_value().startswith("sqlite"):
            continue
        try:
            role = conninfo_to_dict(url.get_secret_value()).get("user")
        except psycopg.ProgrammingError:  # not a connection string; that store reports it itself
            continue
        if role:
            roles.append(str(role))
    return roles


def _params(deps: Deps, action: Action) -> str:
    return deps.redact(json.dumps(dataclasses.asdict(action), separators=(",", ":")))


async def ask(
    deps: Deps, cmd: ActionCommand, *, actor: str, channel: str | None, response_url: str | None
) -> Message:
    """Check what needs no Slack call (incident, channel, settings); the preview follows privately.

    The incident is checked first: every audit entry naming it also goes to its thread."""
    label = deps.redact(describe(cmd.action))
    if cmd.incident is not None:
        number = cmd.incident

        async def exists(tx: Tx) -> bool:
            return await repo.get_incident(tx, number) is not None

        if not await deps.store.run(exists):
            raise NotFound(f"There is no INC-{number}.", "/incident list")
    where = permission.channel_allowed(deps.settings, "actions", channel)
    if where.allowed:
        where = permission.refused_at_once(deps.settings, actor) or where
    if not where.allowed:
        entry = Entry("refusal", actor, label, _params(deps, cmd.action), cmd.incident, result=where.reason)
        await deps.store.run(lambda tx: audit.record(tx, entry, at=deps.clock()))
        deps.outbox.notify()
        return Message(text=f":no_entry: {where.reason}")
    _admin(deps)
    _check_named(deps, cmd.action)
    if label != describe(cmd.action):
        # Confirm runs what the preview showed, so the arguments are kept in the store until then.
        raise UsageError(
            "An argument looks like a secret, and opsbot keeps an action's arguments in its store until"
            " Confirm; it will not keep that. Run this one by hand."
        )
    if not response_url:
        raise UsageError("This command needs Slack's response_url to send the preview.")
    deps.spawn(_prepare(deps, cmd, actor=actor, url=response_url), name=f"preview:{label}")
    return Message(
        text=f":hourglass_flowing_sand: Preparing a preview of {render.action_text(label)}; nothing runs"
        " before you press Confirm."
    )


def _check_named(deps: Deps, action: Action) -> None:
    if not isinstance(action, RunNamed):
        return
    usage = "/ops run <action> [arguments] [for INC-n]"
    spec = next((a for a in deps.settings.actions if a.name == action.name), None)
    if spec is None:
        names = ", ".join(a.name for a in deps.settings.actions) or "none are configured"
        raise UsageError(f"{shown(action.name)} is not an action. Actions: {names}.", usage)
    if len(action.args) != len(spec.params):
        wanted = " ".join(f"<{p}>" for p in spec.params)
        raise UsageError(
            f"`{spec.name}` takes {len(spec.params)} argument(s).", f"/ops run {spec.name} {wanted}"
        )


def _window(deps: Deps, now: float) -> int:
    return int(now // (deps.settings.action_rate_limit.minutes * 60))


def _rate_refusal(deps: Deps) -> str:
    limit = deps.settings.action_rate_limit
    return (
        f"You have run {limit.count} destructive action(s) in {limit.minutes:g} minutes, the limit;"
        " wait a little."
    )


async def _prepare(deps: Deps, cmd: ActionCommand, *, actor: str, url: str) -> None:
    label, params = deps.redact(describe(cmd.action)), _params(deps, cmd.action)
    decision = await permission.may_remediate(deps.settings, deps.directory, actor)
    if decision.allowed:

        async def used(tx: Tx) -> int:
            return await remediation.rate_used(tx, actor=actor, window_start=_window(deps, deps.clock()))

        if await deps.store.run(used) >= deps.settings.action_rate_limit.count:
            decision = permission.Decision(False, _rate_refusal(deps))
    if not decision.allowed:
        entry = Entry("refusal", actor, label, params, cmd.incident, result=decision.reason)
        await _tell(deps, entry, url, Message(text=f":no_entry: {decision.reason}"))
        return
    preview = await build_preview(deps.settings, _admin(deps), cmd.action)
    now = deps.clock()
    expires = now + deps.settings.action_confirm_minutes * 60
    token = None if preview.problem or preview.plan is None else new_token()
    message = render.preview_message(preview, token=token, expires_at=expires, incident=cmd.incident)
    affected = _would_affect(preview)
    entry = Entry(
        "preview", actor, label, params, cmd.incident, affected, preview.problem or "awaiting Confirm"
    )

    async def record(tx: Tx) -> None:
        if token is not None and preview.plan is not None:
            await remediation.add_request(
                tx,
                Request(
                    token=token,
                    actor=actor,
                    action=label,
                    spec=encode_plan(preview.plan),
                    incident=cmd.incident,
                    state="pending",
                    created_at=now,
                    expires_at=expires,
                ),
            )
        await audit.record(tx, entry, at=now)
        await owe(tx, Respond.answer(url, message.text, message.blocks), at=now)  # in the ack's place

    await deps.store.run(record)
    deps.outbox.notify()


def _would_affect(preview: Preview) -> str:
    if isinstance(preview.plan, SignalPlan):
        return "pids " + ", ".join(str(s.pid) for s in preview.targets) if preview.targets else ""
    if preview.statements:
        return f"{sum(s.rows for s in preview.statements)} row(s) would change"
    return ""


async def _tell(deps: Deps, entry: Entry, url: str, message: Message) -> None:
    """Record ``entry`` and owe ``message`` in the place of the command's ack, in one transaction."""
    now = deps.clock()

    async def record(tx: Tx) -> None:
        await audit.record(tx, entry, at=now)
        await owe(tx, Respond.answer(url, message.text, message.blocks), at=now)

    await deps.store.run(record)
    deps.outbox.notify()


async def confirm(deps: Deps, *, token: str, actor: str, key: str, url: str) -> None:
    """Claim the token for ``actor`` (once, unexpired, within the rate limit); it runs after the ack."""
    now = deps.clock()

    async def claim(tx: Tx) -> Request | None:
        await repo.claim(tx, key, now)
        won = await remediation.claim_request(tx, token=token, actor=actor, now=now)
        req = await remediation.get_request(tx, token)
        if req is None:
            text = ":information_source: That preview is gone (too old); run the command again."
            await owe(tx, Respond(url, text), at=now)
            return None
        if not won:
            reason = _why_not(req, actor=actor)
            await audit.record(
                tx, Entry("refusal", actor, req.action, "{}", req.incident, result=reason), at=now
            )
            await owe(tx, Respond(url, f":information_source: {reason}"), at=now)
            return None
        if not await remediation.take_rate(
            tx, actor=actor, window_start=_window(deps, now), limit=deps.settings.action_rate_limit.count
        ):
            reason = _rate_refusal(deps)
            await remediation.finish_request(tx, token=token, state="refused", result=reason)
            await audit.record(
                tx, Entry("refusal", actor, req.action, "{}", req.incident, result=reason), at=now
            )
            await owe(tx, Respond(url, f":no_entry: {reason}"), at=now)
            return None
        await audit.record(tx, Entry("confirm", actor, req.action, "{}", req.incident), at=now)
        due = now + settle.settle_after(timeout_s=deps.settings.action_timeout_s, statements=_size(req))
        await settle.expect_outcome(tx, token=req.token, url=url, due=due)
        return req

    try:
        req = await deps.store.run(claim)
    except Conflict:
        return  # Slack delivered the same press twice; the first delivery answers
    deps.outbox.notify()
    if req is not None:
        deps.spawn(_execute(deps, req, url=url), name=f"action:{req.action}")


def _why_not(req: Request, *, actor: str) -> str:
    if req.actor != actor:
        return f"Only {user(req.actor)}, who asked for this preview, may confirm it."
    if req.state == "done":
        return f"Already done: {req.result}."
    if req.state == "claimed":
        return "Already confirmed; it is running or has run (see `/ops audit`)."
    if req.state == "refused":
        return f"Not run: {req.result}"
    if req.state == "unknown":
        return f"It was confirmed; {req.result}: check what it did before running it again (`/ops audit`)."
    return "This preview has expired; run the command again for a fresh one."


async def _execute(deps: Deps, req: Request, *, url: str) -> None:
    plan = decode_plan(req.spec)
    decision = await permission.may_remediate(deps.settings, deps.directory, req.actor)
    if not decision.allowed:  # access can be withdrawn between preview and confirm
        done = Done(False, "", decision.reason)
    elif not await _still_claimed(deps, req.token):
        # The settle timer gave up on it (Slack was slow to say who may) and the person was told to
        # check: starting now could run it twice, once by opsbot and once by them.
        done = Done(False, "", NOT_STARTED)
    else:
        try:
            done = await _carry_out(_admin(deps), plan)
        except OpsbotError as exc:
            done = Done(False, "", exc.user_message())
    now = deps.clock()
    entry = Entry("outcome", req.actor, req.action, "{}", req.incident, done.affected, done.result)

    async def record(tx: Tx) -> None:
        # The settle timer first: its handler locks the timer row, then the request's, so taking them
        # in the same order waits for a settle in progress instead of deadlocking with it.
        await settle.outcome_recorded(tx, token=req.token)
        await remediation.finish_request(tx, token=req.token, state="done", result=done.result)
        await audit.record(tx, entry, at=now)
        message = render.outcome_message(req.action, done, actor=req.actor)
        await owe(tx, Respond(url, message.text, message.blocks, replace_original=True), at=now)

    # What ran in production must be recorded; past RECORD_FOR the settle timer owns the request.
    await run_through_blips(deps.store, record, waits=doubling(0.25, cap=5.0, total=RECORD_FOR))
    deps.outbox.notify()


async def _still_claimed(deps: Deps, token: str) -> bool:
    """Whether the request is still this run's to carry out (not settled as unknown meanwhile)."""
    async with deps.store.transaction() as tx:
        req = await remediation.get_request(tx, token)
    return req is not None and req.state == "claimed"


def _size(req: Request) -> int:
    """How many statements a confirmed request runs (a signal plan is one)."""
    plan = decode_plan(req.spec)
    return len(plan.statements) if isinstance(plan, SqlPlan) else 1


async def _carry_out(db: AdminDb, plan: SignalPlan | SqlPlan) -> Done:
    if isinstance(plan, SignalPlan):
        results = await db.signal(plan.signal, plan.targets)
        hit = [pid for pid, ok in results if ok]
        verb = "cancelled" if plan.signal == "cancel" else "terminated"
        gone = len(plan.targets) - len(hit)
        note = f"; {gone} had already ended or changed, so were left alone" if gone else ""
        affected = "pids " + ", ".join(map(str, hit)) if hit else ""
        return Done(bool(hit), affected, f"{len(hit)} of {len(plan.targets)} {verb}{note}")
    counts = await db.run(plan.statements, plan.bound, commit=True)
    return Done(True, f"{sum(counts)} row(s) changed", "committed")


async def show_audit(deps: Deps, cmd: AuditCommand, *, url: str) -> None:
    """``/ops audit [n]``, owed privately."""

    async def read(tx: Tx) -> None:
        rows = await remediation.latest_audit(tx, limit=cmd.limit)
        listing = render.audit_message(rows)
        await owe(tx, Respond.answer(url, listing.text, listing.blocks), at=deps.clock())

    await deps.store.run(read)
    deps.outbox.notify()
