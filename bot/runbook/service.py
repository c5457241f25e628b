"""Runbook scenarios at work in an incident: checklist, live diagnostics, choosing a scenario later."""

from __future__ import annotations

import json
import logging
import time

import handlers
from bot import outbox
from bot.deps import Deps
from bot.errors import NotFound, UsageError
from bot.incidents.card import owe_card
from bot.incidents.model import Incident, touch
from bot.probes import Result, run_all
from bot.runbook import report
from bot.runbook.report import tally
from bot.slack import ids
from bot.store import Conflict, Tx, repo
from handlers.scenario import Scenario

log = logging.getLogger("opsbot.runbook")


def _refs(number: int) -> tuple[str, str, str, str]:
    return ids.lane(number), ids.card_ref(number), ids.checklist_ref(number), ids.diagnostics_ref(number)


async def owe_scenario_thread(deps: Deps, tx: Tx, inc: Incident, scenario: Scenario | None) -> None:
    """In the declare transaction: owe the thread its checklist, a diagnostics report, maybe a picker."""
    lane, card, _, _ = _refs(inc.number)
    now = deps.clock()
    chosen = scenario or handlers.GENERAL
    if scenario is None:
        picker = report.scenario_picker(inc.number)
        await outbox.post(
            tx, lane=lane, at=now, thread_ref=card, ref=ids.picker_ref(inc.number), **picker.as_kwargs()
        )
    await _owe_checklist_and_report(deps, tx, inc.number, chosen)


async def _owe_checklist_and_report(deps: Deps, tx: Tx, number: int, scenario: Scenario) -> None:
    lane, card, checklist, diag = _refs(number)
    now = deps.clock()
    checked = await repo.checked_items(tx, number)
    await outbox.post(
        tx,
        lane=lane,
        at=now,
        thread_ref=card,
        ref=checklist,
        **report.checklist_message(number, scenario, checked).as_kwargs(),
    )
    probes = deps.catalog.probes(scenario.probes, scenario=scenario.key)
    placeholder = report.diagnostics_message(scenario, [], pending=[p.name for p in probes])
    await outbox.post(tx, lane=lane, at=now, thread_ref=card, ref=diag, **placeholder.as_kwargs())
    await repo.set_value(tx, diag, json.dumps({"scenario": scenario.key, "done": False}))


def start(deps: Deps, number: int, scenario: Scenario) -> None:
    deps.spawn(run_diagnostics(deps, number, scenario), name=f"diagnostics:{number}")


async def run_diagnostics(deps: Deps, number: int, scenario: Scenario) -> list[Result]:
    """Run the scenario's probes side by side, editing the report as each one finishes."""
    lane, _, _, diag = _refs(number)
    probes = deps.catalog.probes(scenario.probes, scenario=scenario.key)
    results: list[Result] = []
    left = {p.key: p.name for p in probes}
    started = time.monotonic()
    async for probe, found in run_all(probes, deps.catalog.timeout, observe=deps.catalog.observe):
        results.extend(found)
        left.pop(probe.key, None)
        elapsed = time.monotonic() - started
        message = report.diagnostics_message(scenario, results, pending=list(left.values()), elapsed=elapsed)
        async with deps.store.transaction() as tx:
            await outbox.update(tx, lane=lane, at=deps.clock(), ref=diag, **message.as_kwargs())
            if not left:
                await repo.set_value(tx, diag, json.dumps({"scenario": scenario.key, "done": True}))
                await repo.append_event(
                    tx,
                    incident=number,
                    kind="diagnostics",
                    actor="opsbot",
                    text=f"diagnostics ({scenario.title}): {tally(results)}",
                    at=deps.clock(),
                )
        deps.outbox.notify()
    return results


async def resume(deps: Deps) -> int:
    """After a restart: finish diagnostics that were running when the process stopped."""
    async with deps.store.transaction() as tx:
        rows = await repo.values_with_prefix(tx, "diag:")
    count = 0
    for key, raw in rows:
        state = json.loads(raw)
        if not state.get("done"):
            start(deps, int(key.split(":", 1)[1]), handlers.get(state.get("scenario")))
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
            await outbox.update(tx, lane=lane, at=now, ref=checklist, **message.as_kwargs())
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
            await outbox.update(
                tx, lane=ids.lane(number), at=now, ref=ids.picker_ref(number), **chosen.as_kwargs()
            )
            await _owe_checklist_and_report(deps, tx, number, scenario)
    except Conflict:
        return
    deps.outbox.notify()
    start(deps, number, scenario)
