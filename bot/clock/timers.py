"""The clock's timer handlers: each runs in the transaction that claims its timer, locks the incident,
and drops itself when the incident moved on since the timer was scheduled."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from bot.clock import messages, rules, watch
from bot.clock.durations import format_target
from bot.clock.rules import Policy, Verdict
from bot.clock.service import escalate_by_clock, nudge_ref, policy, schedule
from bot.deps import Deps
from bot.incidents import card
from bot.incidents.model import OPSBOT, Incident, format_duration
from bot.jobs.scheduler import Handler, Timer
from bot.outbox import owe
from bot.store import Tx, activity, repo


def handlers(deps: Deps) -> dict[str, Handler]:
    """The clock's handlers by timer kind, bound to the ports."""

    def bind(fn: Callable[[Deps, Tx, Timer], Awaitable[None]]) -> Handler:
        async def handler(tx: Tx, timer: Timer) -> None:
            await fn(deps, tx, timer)

        return handler

    return {
        rules.RESPOND: bind(on_respond),
        rules.RESOLVE: bind(on_resolve),
        rules.NUDGE: bind(on_nudge),
        rules.WATCH: bind(watch.on_round),
    }


async def _incident(tx: Tx, timer: Timer) -> Incident | None:
    number = rules.subject_number(timer.subject)
    return None if number is None else await repo.get_incident(tx, number, for_update=True)


async def on_respond(deps: Deps, tx: Tx, timer: Timer) -> None:
    """The response target passed unacknowledged: call the next level, and give it a target too."""
    inc = await _incident(tx, timer)
    pol = policy(deps)
    level = timer.payload.get("level")
    verdict = rules.respond_verdict(inc, pol, level=level if isinstance(level, int) else None)
    if inc is None or verdict is Verdict.DROP:
        return
    target = format_target(pol.response_targets[inc.severity])
    why = f"not acknowledged within {target} ({inc.severity.value} response target)"
    if verdict is Verdict.AT_TOP:
        await _at_top(deps, tx, inc, why=why, pol=pol)
        return
    up = await escalate_by_clock(deps, tx, inc, why=why, pol=pol)
    await schedule(tx, up.number, rules.respond_due(up, pol, since=deps.clock()))


async def on_resolve(deps: Deps, tx: Tx, timer: Timer) -> None:
    """The resolve target passed with the incident open: call the next level (once)."""
    inc = await _incident(tx, timer)
    pol = policy(deps)
    verdict = rules.resolve_verdict(inc, pol)
    if inc is None or verdict is Verdict.DROP:
        return
    target = format_target(pol.resolve_targets[inc.severity])
    why = f"not resolved within {target} ({inc.severity.value} resolve target)"
    if verdict is Verdict.AT_TOP:
        await _at_top(deps, tx, inc, why=why, pol=pol)
        return
    up = await escalate_by_clock(deps, tx, inc, why=why, pol=pol)
    if not up.acknowledged:
        await schedule(tx, up.number, rules.respond_due(up, pol, since=deps.clock()))


async def _at_top(deps: Deps, tx: Tx, inc: Incident, *, why: str, pol: Policy) -> None:
    now = deps.clock()
    level = pol.level(max(1, inc.escalation_level))
    msg = messages.at_top(inc, level, why=why)
    await owe(tx, card.reply(inc.number, msg), at=now)
    await repo.append_event(
        tx, incident=inc.number, kind="escalated", actor=OPSBOT, text=f"{why}; top of the path", at=now
    )


async def on_nudge(deps: Deps, tx: Tx, timer: Timer) -> None:
    """Quiet for a cadence: nudge the commander; otherwise come back one cadence after the last update."""
    inc = await _incident(tx, timer)
    if inc is None or not inc.is_open:
        return
    now = deps.clock()
    last = await activity.last_update_at(tx, inc.number, kinds=rules.UPDATE_KINDS) or inc.created_at
    verdict, next_due = rules.nudge_verdict(inc, policy(deps), last_update=last, now=now)
    await schedule(tx, inc.number, rules.Due(rules.NUDGE, next_due))
    if verdict is not Verdict.NUDGE:
        return
    msg = messages.nudge(inc, quiet_for=now - last)
    await owe(tx, card.reply(inc.number, msg, ref=nudge_ref(inc.number)), at=now)
    await repo.append_event(
        tx,
        incident=inc.number,
        kind="nudged",
        actor=OPSBOT,
        text=f"no update for {format_duration(now - last)}: nudged the commander",
        at=now,
    )
