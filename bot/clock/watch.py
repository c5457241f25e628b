"""The monitoring watch: while an incident is Monitoring, its scenario's diagnostics re-run every few
minutes (``monitoring_watch_every``) for ``monitoring_watch_for``, editing one report in the thread.

A round is a timer; its probes run after the timer's transaction (they take seconds), and the next
round is already scheduled, so a restart mid-round loses one round at most.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field

import handlers
from bot.clock import messages, rules
from bot.clock.rules import Policy
from bot.deps import Deps
from bot.incidents import card
from bot.incidents.model import OPSBOT, Incident, Status
from bot.jobs import scheduler
from bot.jobs.scheduler import Timer
from bot.outbox import owe
from bot.probes import Result, State, gather
from bot.slack import ids
from bot.store import Tx, repo


@dataclass
class WatchState:
    """What the store keeps of a watch between rounds (kv ``watch:<n>``)."""

    started: float
    until: float
    every: float
    round: int = 0
    active: bool = True
    states: dict[str, str] = field(default_factory=dict)  # probe name -> state in the last round

    @property
    def rounds(self) -> int:
        return max(1, int((self.until - self.started) // self.every))


def key(number: int) -> str:
    """The watch's state in the store, and its report's ref in the thread."""
    return ids.watch_ref(number)


async def _load(tx: Tx, number: int) -> WatchState | None:
    raw = await repo.get_value(tx, key(number))
    return WatchState(**json.loads(raw)) if raw else None


async def _save(tx: Tx, number: int, state: WatchState) -> None:
    await repo.set_value(tx, key(number), json.dumps(asdict(state), separators=(",", ":")))


async def start(deps: Deps, tx: Tx, inc: Incident, *, pol: Policy) -> None:
    """Moving to Monitoring: post the watch report and schedule the first round."""
    now = deps.clock()
    state = WatchState(started=now, until=now + pol.watch_for, every=pol.watch_every)
    await _save(tx, inc.number, state)
    report = messages.watch_report(inc, _round(state, [], [], finished=False))
    await owe(tx, card.reply(inc.number, report, ref=key(inc.number)), at=now)
    await scheduler.schedule(
        tx, kind=rules.WATCH, subject=rules.subject(inc.number), due=now + pol.watch_every
    )


async def stop(deps: Deps, tx: Tx, inc: Incident, *, why: str) -> None:
    """Leaving Monitoring: no more rounds."""
    state = await _load(tx, inc.number)
    await scheduler.cancel(tx, kind=rules.WATCH, subject=rules.subject(inc.number))
    if state is not None and state.active:
        state.active = False
        await _save(tx, inc.number, state)
        await repo.append_event(
            tx,
            incident=inc.number,
            kind="watch",
            actor=OPSBOT,
            text=f"monitoring watch stopped: {why}",
            at=deps.clock(),
        )


def _round(
    state: WatchState, results: Sequence[Result], worse: Sequence[str], *, finished: bool
) -> messages.WatchRound:
    return messages.WatchRound(
        round=state.round,
        rounds=state.rounds,
        results=results,
        regressions=worse,
        ends_at=state.until,
        finished=finished,
    )


async def on_round(deps: Deps, tx: Tx, timer: Timer) -> None:
    """A round is due: schedule the next (if there is time for one) and run the diagnostics."""
    number = rules.subject_number(timer.subject)
    inc = None if number is None else await repo.get_incident(tx, number, for_update=True)
    state = None if inc is None else await _load(tx, inc.number)
    if inc is None or state is None or not state.active or inc.status is not Status.MONITORING:
        return
    now = deps.clock()
    state.round += 1
    finished = state.round >= state.rounds
    if not finished:
        await scheduler.schedule(tx, kind=rules.WATCH, subject=timer.subject, due=now + state.every)
    await _save(tx, inc.number, state)
    round_no = state.round
    deps.spawn_soon(
        lambda: run_round(deps, inc, round_no, finished=finished), name=f"watch:{inc.number}:{round_no}"
    )


def regressions(before: Mapping[str, str], results: Sequence[Result]) -> list[str]:
    """Checks that got worse since the last round (OK -> WARN/FAIL, WARN -> FAIL). Pure."""
    worse = []
    for r in results:
        was = before.get(r.name)
        if was is None or r.state in (State.UNKNOWN, State.NOT_CONFIGURED):
            continue
        if State(was) in (State.OK, State.WARN) and r.state.rank < State(was).rank:
            worse.append(f"{r.name} {was} → {r.state.value}")
    return worse


async def run_round(deps: Deps, inc: Incident, round_no: int, *, finished: bool) -> None:
    """Run the scenario's probes, edit the report; say a regression loudly; suggest resolving when green."""
    async with deps.store.transaction() as tx:
        # Locking the row waits for the timer's transaction to commit (or roll back: then the round
        # number is not this one's, and the round is skipped).
        await repo.get_incident(tx, inc.number, for_update=True)
        state = await _load(tx, inc.number)
    if state is None or state.round != round_no:
        return
    scenario = handlers.get(inc.scenario)
    results = await gather(deps.catalog.probes(scenario.probes, scenario=scenario.key), deps.catalog.timeout)
    async with deps.store.transaction() as tx:
        state = await _load(tx, inc.number)
        current = await repo.get_incident(tx, inc.number)
        if (
            state is None
            or current is None
            or current.status is not Status.MONITORING
            or state.round != round_no
        ):
            return
        worse = regressions(state.states, results)
        state.states = {r.name: r.state.value for r in results}
        state.active = not finished
        await _save(tx, inc.number, state)
        await _tell(deps, tx, current, state, results, worse, finished=finished)
    deps.outbox.notify()


async def _tell(
    deps: Deps,
    tx: Tx,
    inc: Incident,
    state: WatchState,
    results: Sequence[Result],
    worse: Sequence[str],
    *,
    finished: bool,
) -> None:
    now = deps.clock()
    report = messages.watch_report(inc, _round(state, results, worse, finished=finished))
    await owe(tx, card.edit(inc.number, key(inc.number), report), at=now)
    if worse:
        text = messages.regression_alert(inc, worse)
        await owe(tx, card.reply(inc.number, text, broadcast=True), at=now)
        await repo.append_event(
            tx,
            incident=inc.number,
            kind="watch",
            actor=OPSBOT,
            text=f"regression: {', '.join(worse)}",
            at=now,
        )
    if finished and messages.all_green(results):
        text = messages.suggest_resolve(inc, watched_for=state.until - state.started)
        await owe(tx, card.reply(inc.number, text), at=now)
