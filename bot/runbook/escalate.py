"""The runbook's "escalate immediately": a title or an update that says a data breach is suspected
re-routes the incident to its scenario (security) and calls the next escalation level at once, by the
path ``/incident escalate`` takes (the verb, then the clock pages). Once per incident."""

from __future__ import annotations

import logging

import handlers
from bot.deps import Deps
from bot.incidents import service as incidents
from bot.incidents.changes import Escalate, SetScenario
from bot.incidents.events import Changed, EscalateNow, UnitOfWork
from bot.incidents.model import OPSBOT, Incident
from bot.store import repo

log = logging.getLogger("opsbot.runbook")

# Kinds whose text is the person's own words; an escalation's reason is ours (it would loop).
SPOKEN = frozenset({"note", "status", "impact", "eta", "earlier"})


def marker(number: int) -> str:
    """The store key that says this incident was escalated immediately once already."""
    return f"escalated-now:{number}"


def on_declared(uow: UnitOfWork, inc: Incident) -> None:
    """A title that says a breach is suspected: escalate once everyone has heard the declaration."""
    found = handlers.revealed(inc.title)
    if found is not None:
        uow.emit(EscalateNow(inc.number, found[1]))


async def on_changed(deps: Deps, uow: UnitOfWork, event: Changed) -> None:
    """An update that reveals a breach: route the incident to that scenario, then escalate."""
    if event.kind not in SPOKEN or not event.text or not event.incident.is_open:
        return
    found = handlers.revealed(event.text)
    if found is None:
        return
    scenario, phrase = found
    if event.incident.scenario != scenario.key:
        inc = await incidents.locked(uow.tx, event.incident.number)
        await incidents.apply_within(uow, deps, inc, SetScenario(inc.number, scenario.key), OPSBOT)
    uow.emit(EscalateNow(event.incident.number, phrase))


async def on_escalate_now(deps: Deps, uow: UnitOfWork, event: EscalateNow) -> None:
    """Call the next level, as ``/incident escalate`` would; once per incident, never past the top."""
    tx = uow.tx
    if await repo.get_value(tx, marker(event.number)) is not None:
        return
    await repo.set_value(tx, marker(event.number), str(uow.now))
    inc = await incidents.locked(tx, event.number)
    reason = f"data breach suspected ({event.phrase!r}): the runbook says escalate immediately"
    if not inc.is_open or inc.escalation_level >= len(deps.settings.escalation_path):
        text = f"{reason} (already at the top)"
        await repo.append_event(
            tx, incident=inc.number, kind="escalated", actor=OPSBOT, text=text, at=uow.now
        )
        return
    log.info("%s: %s; calling level %d", inc.ref, reason, inc.escalation_level + 1)
    await incidents.apply_within(uow, deps, inc, Escalate(inc.number, reason), OPSBOT)
