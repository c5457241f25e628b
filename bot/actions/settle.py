"""A confirmed action's outcome is owed even when the process stops (or the store is down) while the
action runs: the confirm schedules a durable timer past the longest the run may take, recording the
outcome cancels it, and if it fires the request is settled as *unknown*: audited, and the person
who confirmed told to check before trying again. It is never run again by opsbot: a change to
production is not known to be safe to repeat."""

from __future__ import annotations

from bot.actions import audit
from bot.actions.audit import Entry
from bot.actions.render import unknown_outcome_message
from bot.deps import Deps
from bot.jobs.scheduler import Handler, Timer, cancel, schedule
from bot.outbox import Respond, owe
from bot.store import Tx, remediation

KIND = "action-settle"
UNKNOWN = "outcome unknown: opsbot stopped (or lost its store) while it ran"
MARGIN_S = 60.0  # beyond the statements' own timeouts: connecting, recording, a slow store


def settle_after(*, timeout_s: float, statements: int) -> float:
    """Seconds after a confirm by which its outcome must have been recorded: every statement may take
    ``timeout_s`` (statement_timeout), connecting and the role check too."""
    return timeout_s * (statements + 2) + MARGIN_S


async def expect_outcome(tx: Tx, *, token: str, url: str, due: float) -> None:
    """In the confirm's transaction: settle the request at ``due`` unless its outcome lands first."""
    await schedule(tx, kind=KIND, subject=token, due=due, payload={"url": url})


async def outcome_recorded(tx: Tx, *, token: str) -> None:
    """In the outcome's transaction: nothing left to settle."""
    await cancel(tx, kind=KIND, subject=token)


def handler(deps: Deps) -> Handler:
    """The timer's handler: a request still claimed is settled as unknown, once (in the claiming
    transaction, so two instances cannot both settle it)."""

    async def handle(tx: Tx, timer: Timer) -> None:
        req = await remediation.get_request(tx, timer.subject)
        if req is None or req.state != "claimed":
            return
        now = deps.clock()
        await remediation.finish_request(tx, token=req.token, state="unknown", result=UNKNOWN)
        entry = Entry("outcome", req.actor, req.action, "{}", req.incident, result=UNKNOWN)
        await audit.record(tx, entry, at=now)
        url = timer.payload.get("url")
        if isinstance(url, str) and url:
            message = unknown_outcome_message(req.action, actor=req.actor, why=UNKNOWN)
            # In place of the preview, as a recorded outcome is: its Confirm button goes with it.
            await owe(tx, Respond(url, message.text, replace_original=True), at=now)

    return handle
