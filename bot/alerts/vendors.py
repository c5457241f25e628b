"""Vendors' status pages, watched: a change of state posts one message, edited as it changes.

The watch is a recurring job: the scheduler fires it once across instances, the check runs after the
claim commits, and each vendor's state is compared and stored in one transaction, so two checks that
overlap still post once. Unknown answers (a page that did not load) never change the state.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from enum import StrEnum

from bot.alerts import render
from bot.clock.durations import parse_duration
from bot.deps import Deps
from bot.incidents import card
from bot.jobs.scheduler import Handler, Recurring, Timer
from bot.outbox import Post, Update, owe
from bot.probes import Result, State, gather
from bot.probes.specs import Check
from bot.store import Tx, repo
from bot.store import alerts as queries

log = logging.getLogger("opsbot.alerts")

WATCH_JOB = "status_watch"
_OFF = re.compile(r"^\s*0+\s*[smhdw]?\s*$")  # "0" turns the watch off; parse_duration refuses zero


class VendorState(StrEnum):
    OPERATIONAL = "operational"
    DEGRADED = "degraded"
    OUTAGE = "outage"


_FROM_PROBE = {
    State.OK: VendorState.OPERATIONAL,
    State.WARN: VendorState.DEGRADED,
    State.FAIL: VendorState.OUTAGE,
}


@dataclass(frozen=True)
class Vendor:
    """A vendor's last known state, kept in the store; ``episode`` counts its troubles (one message each)."""

    name: str
    state: VendorState
    since: float
    episode: int = 0
    summary: str = ""
    url: str = ""


def watch_schedule(every: str) -> Recurring | None:
    """The watch as a cron job (seconds field first); None when ``every`` is 0 (turned off).

    Raises ValueError unless the interval divides a minute, an hour or a day evenly, so checks stay
    evenly spaced: 30s, 2m, 5m, 15m, 1h."""
    if _OFF.match(every):
        return None
    try:
        seconds = parse_duration(every)
    except ValueError:
        raise ValueError(f"status_watch_every: {every!r} is not a duration such as 90s, 2m or 1h") from None
    if seconds != int(seconds):
        raise ValueError(f"status_watch_every: {every!r} must be whole seconds")
    n, unit = int(seconds), "s"
    if n % 60 == 0:
        n, unit = n // 60, "m"
    if unit == "m" and n % 60 == 0:
        n, unit = n // 60, "h"
    cron = {"s": f"*/{n} * * * * *", "m": f"0 */{n} * * * *", "h": f"0 0 */{n} * * *"}[unit]
    limit = {"s": 60, "m": 60, "h": 24}[unit]
    if limit % n:
        raise ValueError(f"status_watch_every: {every!r} must divide a minute, an hour or a day evenly")
    return Recurring(kind=WATCH_JOB, cron=cron)


def watch_handler(deps: Deps) -> Handler:
    """The job: claimed once across instances; the pages are read after the claim commits."""

    async def fire(tx: Tx, timer: Timer) -> None:
        deps.spawn(check_all(deps), name="status-watch")

    return fire


async def check_all(deps: Deps) -> None:
    """Read every configured status page and record what changed."""
    probes = deps.catalog.probes([Check.STATUS_PAGES])
    results = await gather(probes, within=deps.settings.probe_timeout_s)
    pages = {f"{p.name} status": p for p in deps.settings.status_pages}
    for result in results:
        page = pages.get(result.name)
        if page is not None:
            await record(deps, name=page.name, result=result, scenarios=page.scenarios)


async def record(deps: Deps, *, name: str, result: Result, scenarios: Sequence[str]) -> bool:
    """Compare with the stored state; on a change owe the vendor's message and tell open incidents."""
    state = _FROM_PROBE.get(result.state)
    if state is None:
        return False  # UNKNOWN: the page did not answer; keep what we knew
    now = deps.clock()

    async def body(tx: Tx) -> bool:
        stored = await queries.vendor_for_update(tx, name)
        old = Vendor(**json.loads(stored)) if stored else None
        if old is not None and VendorState(old.state) is state:
            return False
        episode = (old.episode if old else 0) + (1 if _trouble_starts(old, state) else 0)
        new = Vendor(name, state, now, episode, result.summary, result.link or "")
        await queries.set_vendor(tx, name, json.dumps(asdict(new)))
        if old is None and state is VendorState.OPERATIONAL:
            return False  # first look, all fine: nothing to say
        await _owe_message(deps, tx, old, new)
        await _tell_incidents(deps, tx, new, scenarios)
        return True

    changed = await deps.store.run(body)
    if changed:
        log.info("status page: %s is now %s", name, state.value)
        deps.outbox.notify()
    return changed


def _trouble_starts(old: Vendor | None, state: VendorState) -> bool:
    was_fine = old is None or VendorState(old.state) is VendorState.OPERATIONAL
    return was_fine and state is not VendorState.OPERATIONAL


async def _owe_message(deps: Deps, tx: Tx, old: Vendor | None, new: Vendor) -> None:
    ref = f"vendor:{new.name}:{new.episode}"
    message = render.vendor_message(
        name=new.name, state=new.state.value, summary=new.summary, url=new.url, since=new.since
    )
    channel = deps.settings.alert_channel or deps.settings.incident_channel
    if _trouble_starts(old, new.state):
        post = Post(f"vendor:{new.name}", message.text, message.blocks, channel=channel, ref=ref)
        await owe(tx, post, at=new.since)
    else:
        await owe(tx, Update(f"vendor:{new.name}", ref, message.text, message.blocks), at=new.since)


async def _tell_incidents(deps: Deps, tx: Tx, vendor: Vendor, scenarios: Sequence[str]) -> None:
    if not scenarios:
        return
    text = render.vendor_note(name=vendor.name, state=vendor.state.value, url=vendor.url)
    for inc in await repo.list_incidents(tx, include_resolved=False, limit=50):
        if inc.scenario in scenarios:
            await owe(tx, card.reply(inc.number, text), at=vendor.since)
