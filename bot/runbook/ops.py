"""``/ops``: health at a glance and runbook diagnostics.

The ack says what is being checked; the report follows through the response_url once the probes
are done (they may take longer than Slack's 3 seconds). That promise is stored before the ack and kept
once: a restart or a store blip while the probes run only delays the report.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import time
import uuid
from dataclasses import dataclass
from typing import Any

import handlers
from bot.access import permission
from bot.actions import grammar as actions_grammar
from bot.actions import service as actions
from bot.actions.grammar import shown
from bot.deps import Deps
from bot.errors import UsageError
from bot.outbox import Respond, owe
from bot.outbox.messages import ResponseType
from bot.probes import Probe, gather
from bot.probes.catalog import DB_REPORTS, STATUS_KEYS
from bot.probes.specs import Check
from bot.runbook import report, routine, schedule
from bot.slack import blocks
from bot.store import repo

log = logging.getLogger("opsbot.runbook")
OWED_PREFIX = "owed:ops:"

OPS_USAGE = {
    "status": "/ops status [public]",
    "check": "/ops check <scenario> [public]",
    "db": (
        "/ops db <connections|long-queries [minutes]|blocked|slow-queries|table-sizes|size|index-hints|cache>"
        " [public]"
    ),
    "deploys": "/ops deploys [public]",
    "routine": "/ops routine <daily|weekly|monthly>",
    "schedule": "/ops schedule",
    "auth": actions_grammar.USAGE["auth"],
    "run": actions_grammar.USAGE["run"],
    "audit": actions_grammar.USAGE["audit"],
    "help": "/ops help",
}


@dataclass(frozen=True)
class OpsHelp:
    pass


@dataclass(frozen=True)
class OpsStatus:
    public: bool = False


@dataclass(frozen=True)
class OpsCheck:
    scenario: str
    public: bool = False


@dataclass(frozen=True)
class OpsDb:
    report: str
    minutes: float | None = None
    public: bool = False


@dataclass(frozen=True)
class OpsDeploys:
    public: bool = False


@dataclass(frozen=True)
class OpsRoutine:
    routine: routine.Routine


@dataclass(frozen=True)
class OpsSchedule:
    pass


OpsCommand = (
    OpsHelp
    | OpsStatus
    | OpsCheck
    | OpsDb
    | OpsDeploys
    | OpsRoutine
    | OpsSchedule
    | actions_grammar.ActionCommand
    | actions_grammar.AuditCommand
)


@dataclass(frozen=True)
class OpsReply:
    message: blocks.Message
    response_type: str = "ephemeral"


def help_text() -> str:
    lines = ["*Ops commands* (answers are private unless you add `public`)"]
    lines += [f"• `{usage}`" for usage in OPS_USAGE.values()]
    lines.append(f"• `{actions_grammar.USAGE['db-action']}` (remediation: preview, then Confirm)")
    lines.append(f"Scenarios: {', '.join(handlers.SCENARIOS)}")
    return "\n".join(lines)


def parse_ops_command(text: str) -> OpsCommand:
    """Parse the text after ``/ops``. Pure."""
    words = text.split()
    public = bool(words) and words[-1].lower() == "public"
    if public:
        words = words[:-1]
    if not words or words[0].lower() == "help":
        return OpsHelp()
    verb, rest = words[0].lower(), words[1:]
    if verb == "status" and not rest:
        return OpsStatus(public)
    if verb == "deploys" and not rest:
        return OpsDeploys(public)
    if verb == "schedule" and not rest:
        return OpsSchedule()
    if verb == "routine":
        name = rest[0].lower() if len(rest) == 1 else ""
        for known in routine.ROUTINES:
            if name == known:
                return OpsRoutine(known)
        given = f"`{' '.join(rest)[:40]}` is not a routine" if rest else "Name a routine"
        raise UsageError(f"{given}: daily, weekly or monthly.", OPS_USAGE["routine"])
    if verb == "check":
        if len(rest) != 1 or rest[0].lower() not in handlers.SCENARIOS:
            given = f"{shown(' '.join(rest))} is not a scenario" if rest else "Name a scenario"
            raise UsageError(f"{given}. Scenarios: {', '.join(handlers.SCENARIOS)}.", OPS_USAGE["check"])
        return OpsCheck(rest[0].lower(), public)
    if verb == "db" and rest and rest[0].lower() in actions_grammar.DB_VERBS:
        return actions_grammar.parse_db_action(rest, public=public)
    if verb == "db":
        return _parse_db(rest, public)
    if verb == "auth":
        return actions_grammar.parse_auth(rest, public=public)
    if verb == "run":
        return actions_grammar.parse_run(rest, public=public)
    if verb == "audit":
        return actions_grammar.parse_audit(rest)
    if verb in OPS_USAGE:
        raise UsageError(f"`{verb}` takes no arguments here.", OPS_USAGE[verb])
    raise UsageError(
        f"{shown(words[0])} is not an ops command. Try one of: {', '.join(OPS_USAGE)}.", OPS_USAGE["help"]
    )


def _parse_db(rest: list[str], public: bool) -> OpsDb:
    usage = OPS_USAGE["db"]
    if not rest or rest[0].lower() not in DB_REPORTS:
        given = f"{shown(rest[0])} is not a database report" if rest else "Name a database report"
        raise UsageError(f"{given}. Reports: {', '.join(DB_REPORTS)}.", usage)
    name = rest[0].lower()
    if name == "long-queries" and len(rest) == 2:
        try:
            minutes = float(rest[1])
        except ValueError:
            minutes = -1.0
        if not 0 <= minutes <= 24 * 60:
            raise UsageError(
                f"{shown(rest[1], 20)} is not a number of minutes (0 lists every running query).", usage
            )
        return OpsDb(name, minutes, public)
    if len(rest) > 1:
        raise UsageError(f"`{name}` takes no further arguments.", usage)
    return OpsDb(name, None, public)


def plan(deps: Deps, cmd: OpsCommand) -> tuple[str, list[Probe]]:
    """What to check for ``cmd``: a title and the probes."""
    catalog = deps.catalog
    if isinstance(cmd, OpsStatus):
        return "Health at a glance", catalog.probes(STATUS_KEYS)
    if isinstance(cmd, OpsCheck):
        scenario = handlers.SCENARIOS[cmd.scenario]
        return f"Diagnostics: {scenario.title}", catalog.probes(scenario.probes, scenario=scenario.key)
    if isinstance(cmd, OpsDb):
        if cmd.report == "long-queries" and cmd.minutes is not None:
            return "Database: long-queries", [catalog.long_queries(cmd.minutes)]
        return f"Database: {cmd.report}", catalog.probes([Check(f"db.{cmd.report}")])
    if isinstance(cmd, OpsDeploys):
        return "Recent deploys", catalog.probes([Check.DEPLOYS])
    raise AssertionError(cmd)


async def perform(
    deps: Deps, cmd: OpsCommand, *, response_url: str | None, actor: str, channel: str | None
) -> OpsReply:
    """Answer at once; the report follows through ``response_url`` when the probes are done."""
    if isinstance(cmd, OpsHelp):
        return OpsReply(blocks.Message(text=help_text()))
    if isinstance(cmd, actions_grammar.ActionCommand):
        return OpsReply(await actions.ask(deps, cmd, actor=actor, channel=channel, response_url=response_url))
    where = permission.channel_allowed(deps.settings, "ops", channel)
    if not where.allowed:
        return OpsReply(blocks.Message(text=f":no_entry: {where.reason}"))
    if isinstance(cmd, OpsSchedule):
        if response_url:
            deps.spawn(_schedule(deps, actor, response_url), name="ops:schedule")
        return OpsReply(blocks.Message(text=":hourglass_flowing_sand: Reading the schedule…"))
    if isinstance(cmd, OpsRoutine):
        if response_url:
            deps.spawn(_routine(deps, cmd, actor, response_url), name=f"routine:{cmd.routine}")
        digest_to = blocks.escape(deps.settings.routine_channel)
        return OpsReply(
            blocks.Message(text=f"Running the {cmd.routine} checks; the digest goes to {digest_to}.")
        )
    if isinstance(cmd, actions_grammar.AuditCommand):
        if response_url:
            deps.spawn(_audit(deps, cmd, actor, response_url), name="ops:audit")
        return OpsReply(blocks.Message(text=":hourglass_flowing_sand: Reading the audit log…"))
    title, probes = plan(deps, cmd)
    if response_url:
        key = OWED_PREFIX + uuid.uuid4().hex  # one promise per command, kept once
        promise = {"command": _encode(cmd), "url": response_url, "beat": deps.clock(), "actor": actor}
        async with deps.store.transaction() as tx:
            await repo.set_value(tx, key, json.dumps(promise))
        deps.spawn(_report(deps, key, cmd, response_url, actor), name=key)
    return OpsReply(report.running_message(title, len(probes)))


_COMMANDS: dict[str, type[OpsStatus | OpsCheck | OpsDb | OpsDeploys]] = {
    cls.__name__: cls for cls in (OpsStatus, OpsCheck, OpsDb, OpsDeploys)
}


def _encode(cmd: OpsCommand) -> dict[str, Any]:
    return {"kind": type(cmd).__name__, **dataclasses.asdict(cmd)}


def _decode(data: dict[str, Any]) -> OpsCommand:
    fields = dict(data)
    return _COMMANDS[str(fields.pop("kind"))](**fields)


async def _refused_guest(deps: Deps, actor: str, url: str) -> bool:
    """Guests get a private refusal instead of diagnostics (checked after the ack: it asks Slack)."""
    decision = await permission.may_diagnose(deps.directory, actor)
    if decision.allowed:
        return False
    async with deps.store.transaction() as tx:
        await owe(tx, Respond.answer(url, f":no_entry: {decision.reason}"), at=deps.clock())
    deps.outbox.notify()
    return True


async def _schedule(deps: Deps, actor: str, url: str) -> None:
    if await _refused_guest(deps, actor, url):
        return
    message = await schedule.listing(deps)
    async with deps.store.transaction() as tx:
        await owe(tx, Respond.answer(url, message.text, message.blocks), at=deps.clock())
    deps.outbox.notify()


async def _routine(deps: Deps, cmd: OpsRoutine, actor: str, url: str) -> None:
    if not await _refused_guest(deps, actor, url):
        await routine.run(deps, cmd.routine, response_url=url)


async def _audit(deps: Deps, cmd: actions_grammar.AuditCommand, actor: str, url: str) -> None:
    if not await _refused_guest(deps, actor, url):
        await actions.show_audit(deps, cmd, url=url)


async def _report(deps: Deps, key: str, cmd: OpsCommand, url: str, actor: str) -> None:
    title, probes = plan(deps, cmd)
    response_type: ResponseType = "in_channel" if getattr(cmd, "public", False) else "ephemeral"
    if await _refused_guest(deps, actor, url):
        async with deps.store.transaction() as tx:
            await repo.delete_value(tx, key)
        return
    started = time.monotonic()
    results = await gather(probes, deps.catalog.timeout, observe=deps.catalog.observe)
    message = report.status_message(results, elapsed=time.monotonic() - started, title=title)
    async with deps.store.transaction() as tx:
        if await repo.delete_value(tx, key):  # kept by whichever run gets here first
            reply = Respond.answer(url, message.text, message.blocks, response_type=response_type)
            await owe(tx, reply, at=deps.clock(), key=key)
    deps.outbox.notify()


async def resume(deps: Deps, *, abandoned_after: float = 0.0) -> int:
    """Keep ``/ops`` promises whose report was lost with its process (or a store blip)."""
    async with deps.store.transaction() as tx:
        rows = await repo.values_with_prefix(tx, OWED_PREFIX)
    running_here = {task.get_name() for task in deps.tasks if not task.done()}
    count = 0
    for key, raw in rows:
        promise = json.loads(raw)
        if key in running_here or deps.clock() - float(promise.get("beat") or 0) < abandoned_after:
            continue
        try:
            cmd = _decode(promise["command"])
        except (KeyError, TypeError, ValueError):
            log.warning("ops: dropping an unreadable promise %s", key)
            async with deps.store.transaction() as tx:
                await repo.delete_value(tx, key)
            continue
        actor = str(promise.get("actor") or "")
        deps.spawn(_report(deps, key, cmd, str(promise["url"]), actor), name=key)
        count += 1
    return count
