"""Runbook scenarios at work in an incident: checklist, live diagnostics, choosing a scenario later."""

from __future__ import annotations

import json
import logging
import time
import uuid
from typing import Any

import handlers
from bot.deps import Deps
from bot.errors import NotFound, StaleAction
from bot.incidents import card
from bot.incidents import service as incidents
from bot.incidents.changes import SetScenario
from bot.incidents.events import (
    Changed,
    Declared,
    EscalateNow,
    Event,
    Resolved,
    ScenarioChanged,
    Subscriber,
    UnitOfWork,
)
from bot.incidents.model import OPSBOT, Incident
from bot.incidents.postmortem import FINAL_DIAGNOSTICS
from bot.outbox import owe
from bot.probes import Result, run_all
from bot.runbook import escalate, report
from bot.runbook.report import tally
from bot.slack import ids
from bot.slack.blocks import Message
from bot.store import Conflict, Tx, repo
from handlers.scenario import Scenario

log = logging.getLogger("opsbot.runbook")


_checklist = ids.checklist_ref


def _diag(number: int, scenario: str) -> str:
    return ids.diagnostics_ref(number, scenario)


def subscriber(deps: Deps) -> Subscriber:
    """The runbook's part in what the incident core does, inside the same transaction."""

    async def on_event(uow: UnitOfWork, event: Event) -> None:
        if isinstance(event, Declared):
            await _declared(deps, uow, event.incident)
        elif isinstance(event, ScenarioChanged):
            await _rerouted(deps, uow, event)
        elif isinstance(event, Changed):
            await escalate.on_changed(deps, uow, event)
        elif isinstance(event, EscalateNow):
            await escalate.on_escalate_now(deps, uow, event)
        elif isinstance(event, Resolved):
            number, scenario = event.incident.number, handlers.get(event.incident.scenario)
            uow.after_commit(
                lambda: deps.spawn(snapshot(deps, number, scenario), name=f"diagnostics-at-resolve:{number}")
            )

    return on_event


async def _declared(deps: Deps, uow: UnitOfWork, inc: Incident) -> None:
    """Owe the new incident's thread its checklist, a diagnostics report, maybe a picker."""
    scenario = handlers.get(inc.scenario)
    if inc.scenario is None:
        picker = report.scenario_picker(inc.number)
        await owe(uow.tx, card.reply(inc.number, picker, ref=ids.picker_ref(inc.number)), at=uow.now)
    await _owe_checklist_and_report(deps, uow.tx, inc.number, scenario)
    escalate.on_declared(uow, inc)
    uow.after_commit(lambda: start(deps, inc.number, scenario))


async def _rerouted(deps: Deps, uow: UnitOfWork, event: ScenarioChanged) -> None:
    """Set the old checklist aside (its ticks stay on the timeline) and start the new scenario's."""
    inc, tx = event.incident, uow.tx
    scenario = handlers.get(inc.scenario)
    ticked = await repo.checked_items(tx, inc.number)
    if ticked:
        old = handlers.get(event.previous)
        done = [s.text for s in old.steps() if s.key in ticked]
        await repo.append_event(
            tx,
            incident=inc.number,
            kind="checklist",
            actor=event.actor,
            text=f"set aside the {old.title} checklist with {len(done)} ticked: {'; '.join(done)}",
            at=uow.now,
        )
        await repo.clear_checks(tx, inc.number)
    if event.previous is None:
        chosen = report.scenario_chosen(scenario, event.actor)
        await owe(tx, card.edit(inc.number, ids.picker_ref(inc.number), chosen), at=uow.now)
    await _owe_checklist_and_report(deps, tx, inc.number, scenario)
    uow.after_commit(lambda: start(deps, inc.number, scenario))


async def _owe_checklist_and_report(deps: Deps, tx: Tx, number: int, scenario: Scenario) -> None:
    now = deps.clock()
    checked = await repo.checked_items(tx, number)
    diag = _diag(number, scenario.key)
    message = report.checklist_message(number, scenario, checked, others=_others(scenario))
    await owe(tx, card.reply(number, message, ref=_checklist(number)), at=now)
    probes = deps.catalog.probes(scenario.probes, scenario=scenario.key)
    placeholder = report.diagnostics_message(scenario, [], pending=[p.name for p in probes])
    await owe(tx, card.reply(number, placeholder, ref=diag), at=now)
    record = {"scenario": scenario.key, "done": False, "beat": now, "run": ""}
    await repo.save_diagnostics(tx, diag, json.dumps(record), done=False)


def _others(scenario: Scenario) -> dict[str, str]:
    return {k: s.title for k, s in handlers.SCENARIOS.items() if k != scenario.key}


def start(deps: Deps, number: int, scenario: Scenario) -> None:
    deps.spawn(run(deps, number, scenario), name=f"diagnostics:{number}")


async def _report_progress(
    deps: Deps, number: int, run_id: str, scenario: Scenario, message: Message, results: list[Result] | None
) -> bool:
    """Edit the report, unless another run took this one over (False). ``results`` when finished."""
    diag = _diag(number, scenario.key)
    async with deps.store.transaction() as tx:
        raw = await repo.get_diagnostics(tx, diag)
        state: dict[str, Any] = json.loads(raw) if raw else {}
        if state.get("done") or state.get("run", run_id) != run_id:
            return False
        await owe(tx, card.edit(number, diag, message), at=deps.clock())
        state.update(scenario=scenario.key, run=run_id, beat=deps.clock(), done=results is not None)
        await repo.save_diagnostics(tx, diag, json.dumps(state), done=results is not None)
        if results is not None:
            await repo.append_event(
                tx,
                incident=number,
                kind="diagnostics",
                actor=OPSBOT,
                text=_record(f"diagnostics ({scenario.title})", results),
                at=deps.clock(),
            )
    deps.outbox.notify()
    return True


async def run(deps: Deps, number: int, scenario: Scenario) -> list[Result]:
    """Run the scenario's probes side by side, editing the report as each one finishes. A later run
    (a resume after a store blip) takes over: this one then stops writing."""
    diag, run_id = _diag(number, scenario.key), uuid.uuid4().hex[:12]
    async with deps.store.transaction() as tx:
        raw = await repo.get_diagnostics(tx, diag)
        state = json.loads(raw) if raw else {"scenario": scenario.key, "done": False}
        record = {**state, "run": run_id, "beat": deps.clock()}
        await repo.save_diagnostics(tx, diag, json.dumps(record), done=bool(state.get("done")))
    probes = deps.catalog.probes(scenario.probes, scenario=scenario.key)
    results: list[Result] = []
    left = {p.key: p.name for p in probes}
    started = time.monotonic()
    async for probe, found in run_all(probes, deps.catalog.timeout, observe=deps.catalog.observe):
        results.extend(found)
        left.pop(probe.key, None)
        elapsed = time.monotonic() - started
        message = report.diagnostics_message(scenario, results, pending=list(left.values()), elapsed=elapsed)
        if not await _report_progress(deps, number, run_id, scenario, message, None if left else results):
            log.info("diagnostics of INC-%d: taken over by another run; stopping this one", number)
            break
    return results


async def snapshot(deps: Deps, number: int, scenario: Scenario) -> list[Result]:
    """Run the scenario's checks once more and put how they stood on the timeline (for the
    post-mortem); nothing is posted, the thread has heard enough at this point."""
    probes = deps.catalog.probes(scenario.probes, scenario=scenario.key)
    results: list[Result] = []
    async for _, found in run_all(probes, deps.catalog.timeout, observe=deps.catalog.observe):
        results.extend(found)
    async with deps.store.transaction() as tx:
        await repo.append_event(
            tx,
            incident=number,
            kind=FINAL_DIAGNOSTICS,
            actor=OPSBOT,
            text=_record(f"diagnostics at resolve ({scenario.title})", results),
            at=deps.clock(),
        )
    return results


def _record(head: str, results: list[Result]) -> str:
    """A timeline entry: the tally, then one plain line a result."""
    return "\n".join([f"{head}: {tally(results)}", *report.plain_report(results)])


async def resume(deps: Deps, *, abandoned_after: float = 0.0) -> int:
    """Finish diagnostics left running: at start-up (``abandoned_after`` 0: every unfinished run), and
    periodically for runs silent for ``abandoned_after`` seconds (a store blip killed them)."""
    async with deps.store.transaction() as tx:
        rows = await repo.unfinished_diagnostics(tx)  # never the finished ones: one per incident ever
    running_here = {task.get_name() for task in deps.tasks if not task.done()}
    count = 0
    for key, raw in rows:
        state = json.loads(raw)
        number = ids.diagnostics_number(key)
        if number is None or state.get("done") or f"diagnostics:{number}" in running_here:
            continue
        if deps.clock() - float(state.get("beat") or 0) < abandoned_after:
            continue
        log.info("diagnostics of INC-%d were left running; resuming them", number)
        start(deps, number, handlers.get(state.get("scenario")))
        count += 1
    return count


async def toggle_checklist(
    deps: Deps,
    *,
    number: int,
    section: str,
    selected: set[str],
    shown_checked: frozenset[str] | None,
    actor: str,
    key: str,
    scenario_key: str | None = None,
) -> None:
    """Apply what this person changed (read against the boxes they saw) to the stored checklist.

    A click carries every box the person's view has ticked; someone else may have ticked another since
    that view was drawn, so only the boxes this person flipped are changed, never the whole list.
    """
    now = deps.clock()
    try:
        async with deps.store.transaction() as tx:
            await repo.claim(tx, key, now)  # a redelivery raises Conflict
            inc = await repo.get_incident(tx, number)
            if inc is None:
                raise NotFound(f"There is no INC-{number}.")
            scenario = handlers.get(inc.scenario)
            if scenario_key is not None and scenario_key != scenario.key:
                raise StaleAction(
                    f"That checklist belongs to the earlier {handlers.get(scenario_key).title} runbook;"
                    f" {inc.ref} now follows {scenario.title}. Use the checklist below it."
                )
            steps = scenario.investigation if section == "investigation" else scenario.resolution
            checked = await repo.checked_items(tx, number)
            seen = shown_checked if shown_checked is not None else frozenset(checked)
            for step in steps:
                flipped = (step.key in selected) != (step.key in seen)
                if not flipped or (step.key in selected) == (step.key in checked):
                    continue  # not this person's change, or already as they want it
                ticked = step.key in selected
                await repo.set_check(
                    tx, incident=number, item=step.key, user=actor if ticked else None, at=now
                )
                await repo.append_event(
                    tx,
                    incident=number,
                    kind="checklist",
                    actor=actor,
                    text=f"{'checked' if ticked else 'unchecked'}: {step.text}",
                    at=now,
                )
            checked = await repo.checked_items(tx, number)
            message = report.checklist_message(number, scenario, checked, others=_others(scenario))
            await owe(tx, card.edit(number, _checklist(number), message), at=now)
    except Conflict:
        return
    deps.outbox.notify()


async def choose_scenario(deps: Deps, *, number: int, scenario_key: str, actor: str, key: str) -> None:
    """Someone picked a scenario (for an unrouted incident, or "Wrong runbook?"): the core re-routes,
    and this module's subscriber posts the new checklist and diagnostics."""
    await incidents.change(deps, actor=actor, cmd=SetScenario(number, scenario_key), key=key)
