"""Runbook scenarios at work in an incident: checklist, live diagnostics, choosing a scenario later."""

from __future__ import annotations

import json
import logging
import time
import uuid
from typing import Any

import handlers
from bot.deps import Deps
from bot.errors import NotFound, UsageError
from bot.incidents.card import owe_card
from bot.incidents.model import Incident, touch
from bot.outbox import Post, Update, owe
from bot.probes import Result, run_all
from bot.runbook import report
from bot.runbook.report import tally
from bot.slack import ids
from bot.store import Conflict, Tx, repo
from handlers.scenario import Scenario

log = logging.getLogger(__name__)


def _refs(number: int) -> tuple[str, str, str, str]:
    return ids.lane(number), ids.card_ref(number), ids.checklist_ref(number), ids.diagnostics_ref(number)


async def owe_scenario_thread(deps: Deps, tx: Tx, inc: Incident, scenario: Scenario | None) -> None:
    """In the declare transaction: owe the thread its checklist, a diagnostics report, maybe a picker."""
    lane, card, _, _ = _refs(inc.number)
    now = deps.clock()
    chosen = scenario or handlers.GENERAL
    if scenario is None:
        picker = report.scenario_picker(inc.number)
        await owe(
            tx,
            Post(lane, picker.text, picker.blocks, thread_ref=card, ref=ids.picker_ref(inc.number)),
            at=now,
        )
    await _owe_checklist_and_report(deps, tx, inc.number, chosen)


async def _owe_checklist_and_report(deps: Deps, tx: Tx, number: int, scenario: Scenario) -> None:
    lane, card, checklist, diag = _refs(number)
    now = deps.clock()
    checked = await repo.checked_items(tx, number)
    message = report.checklist_message(number, scenario, checked)
    await owe(tx, Post(lane, message.text, message.blocks, thread_ref=card, ref=checklist), at=now)
    probes = deps.catalog.probes(scenario.probes, scenario=scenario.key)
    placeholder = report.diagnostics_message(scenario, [], pending=[p.name for p in probes])
    await owe(tx, Post(lane, placeholder.text, placeholder.blocks, thread_ref=card, ref=diag), at=now)
    await repo.set_value(
        tx, diag, json.dumps({"scenario": scenario.key, "done": False, "beat": now, "run": ""})
    )


def start(deps: Deps, number: int, scenario: Scenario) -> None:
    deps.spawn(run_diagnostics(deps, number, scenario), name=f"diagnostics:{number}")


async def _report_progress(
    deps: Deps, number: int, run_id: str, scenario: Scenario, message: Update, results: list[Result] | None
) -> bool:
    """Edit the report, unless another run took this one over (False). ``results`` when finished."""
    diag = ids.diagnostics_ref(number)
    async with deps.store.transaction() as tx:
        raw = await repo.get_value(tx, diag)
        state: dict[str, Any] = json.loads(raw) if raw else {}
        if state.get("done") or state.get("run", run_id) != run_id:
            return False
        await owe(tx, message, at=deps.clock())
        done = results is not None
        state.update(scenario=scenario.key, run=run_id, beat=deps.clock(), done=done)
        await repo.set_value(tx, diag, json.dumps(state))
        if results is not None:
            await repo.append_event(
                tx,
                incident=number,
                kind="diagnostics",
                actor="opsbot",
                text=f"diagnostics ({scenario.title}): {tally(results)}",
                at=deps.clock(),
            )
    deps.outbox.notify()
    return True


async def run_diagnostics(deps: Deps, number: int, scenario: Scenario) -> list[Result]:
    """Run the scenario's probes side by side, editing the report as each one finishes."""
    lane, _, _, diag = _refs(number)
    run_id = uuid.uuid4().hex[:12]
    async with deps.store.transaction() as tx:  # this run takes over any earlier one
        raw = await repo.get_value(tx, diag)
        state = json.loads(raw) if raw else {"scenario": scenario.key, "done": False}
        await repo.set_value(tx, diag, json.dumps({**state, "run": run_id, "beat": deps.clock()}))
    probes = deps.catalog.probes(scenario.probes, scenario=scenario.key)
    results: list[Result] = []
    left = {p.key: p.name for p in probes}
    started = time.monotonic()
    async for probe, found in run_all(probes, deps.catalog.timeout, observe=deps.catalog.observe):
        results.extend(found)
        left.pop(probe.key, None)
        elapsed = time.monotonic() - started
        message = report.diagnostics_message(scenario, results, pending=list(left.values()), elapsed=elapsed)
        edit = Update(lane, diag, message.text, message.blocks)
        if not await _report_progress(deps, number, run_id, scenario, edit, None if left else results):
            log.info("diagnostics of INC-%d: taken over by another run; stopping this one", number)
            break
    return results


async def resume(deps: Deps, *, abandoned_after: float = 0.0) -> int:
    """Finish diagnostics left running: at start-up (``abandoned_after`` 0: every unfinished run), and
    periodically for runs silent for ``abandoned_after`` seconds (a store blip killed them)."""
    async with deps.store.transaction() as tx:
        rows = await repo.values_with_prefix(tx, ids.DIAGNOSTICS_PREFIX)
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
            lane, _, checklist, _ = _refs(number)
            message = report.checklist_message(number, scenario, checked)
            await owe(tx, Update(lane, checklist, message.text, message.blocks), at=now)
    except Conflict:
        return
    deps.outbox.notify()


async def choose_scenario(deps: Deps, *, number: int, scenario_key: str, actor: str, key: str) -> None:
    """Someone picked the scenario for an incident nothing routed: post its checklist, run its checks."""
    scenario = handlers.SCENARIOS.get(scenario_key)
    if scenario is None:
        raise UsageError(f"`{scenario_key}` is not a runbook scenario.", ", ".join(handlers.SCENARIOS))
    now = deps.clock()
    try:
        async with deps.store.transaction() as tx:
            await repo.claim(tx, key, now)  # a redelivery raises Conflict
            inc = await repo.get_incident(tx, number, for_update=True)
            if inc is None:
                raise NotFound(f"There is no INC-{number}.")
            if inc.scenario == scenario.key:
                return
            changed = touch(inc, now=now, scenario=scenario.key)
            await repo.update_incident(tx, changed)
            await repo.append_event(
                tx, incident=number, kind="scenario", actor=actor, text=f"scenario: {scenario.title}", at=now
            )
            await owe_card(deps, tx, changed)
            chosen = report.scenario_chosen(scenario, actor)
            await owe(
                tx, Update(ids.lane(number), ids.picker_ref(number), chosen.text, chosen.blocks), at=now
            )
            await _owe_checklist_and_report(deps, tx, number, scenario)
    except Conflict:
        return
    deps.outbox.notify()
    start(deps, number, scenario)
