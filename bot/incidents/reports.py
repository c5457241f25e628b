"""Reports about incidents: the post-mortem draft and statistics (with their chart), each owed to
Slack once per request."""

from __future__ import annotations

import base64

from bot.deps import Deps
from bot.errors import NotFound, UsageError
from bot.incidents import chart, confidential
from bot.incidents import postmortem as pm
from bot.incidents import stats as st
from bot.incidents.card import card_ref, lane
from bot.incidents.events import UnitOfWork
from bot.incidents.model import Incident, Status
from bot.incidents.work import unit_of_work
from bot.outbox import Upload, owe
from bot.slack import blocks
from bot.store import Conflict, repo


async def postmortem_draft(deps: Deps, *, number: int) -> tuple[Incident, str]:
    """The incident and its post-mortem draft (Markdown), from the record."""
    async with deps.store.transaction() as tx:
        inc = await repo.get_incident(tx, number)
        if inc is None:
            raise NotFound(f"There is no INC-{number}.", "/incident list")
        events = await repo.timeline(tx, number)
    title = deps.router.scenarios().get(inc.scenario or "")
    return inc, pm.draft(inc, events, scenario_title=title)


async def postmortem(
    deps: Deps, *, number: int, actor: str, key: str, shown_in: str | None = None
) -> blocks.Message:
    """Upload the post-mortem draft to the incident's thread (once per request, whatever Slack resends);
    a confidential incident's only when asked in its private channel."""
    inc, text = await postmortem_draft(deps, number=number)
    if (elsewhere := confidential.elsewhere(deps.security, inc, shown_in)) is not None:
        return blocks.Message(text=elsewhere)
    if inc.is_open:
        raise UsageError(
            f"{inc.ref} is still {inc.status.title}; the draft needs its resolution.",
            f"/incident resolve {inc.ref} [message...]",
        )

    async def upload(uow: UnitOfWork) -> None:
        comment = f":page_facing_up: Post-mortem draft for *{inc.ref}*, asked for by {blocks.user(actor)}."
        draft = Upload(
            lane(number), card_ref(number), pm.filename(inc), f"Post-mortem draft: {inc.ref}", text, comment
        )
        await owe(uow.tx, draft, at=uow.now)

    try:
        await unit_of_work(deps, key=key, work=upload)
    except Conflict:
        return blocks.Message(text="Already on its way (this request was delivered twice).")
    return blocks.Message(text=f"Uploading the post-mortem draft to *{inc.ref}*'s thread.")


async def statistics(deps: Deps, *, days: int, key: str, channel: str | None) -> blocks.Message:
    """The figures privately, and their chart uploaded where the command was typed (once per request)."""
    now = deps.clock()
    since = now - days * 86400

    async def count(uow: UnitOfWork) -> st.Stats:
        found = await repo.incidents_declared_since(uow.tx, since)
        facts = [
            st.Facts(i.number, i.severity, i.scenario, i.created_at, i.acknowledged_at, _resolved_at(i))
            for i in found
        ]
        figures = st.compute(facts, since=since, until=now)
        if channel:
            picture = base64.b64encode(chart.png(figures)).decode()
            upload = Upload(
                "stats",
                None,
                f"incidents-{days}d.png",
                f"Incidents, last {days} days",
                picture,
                f"Incidents in the last {days} days",
                channel=channel,
                binary=True,
            )
            await owe(uow.tx, upload, at=uow.now)
        return figures

    try:
        figures = await unit_of_work(deps, key=key, work=count)
    except Conflict:
        return blocks.Message(text="Already on its way (this request was delivered twice).")
    return blocks.Message(text="\n".join(st.summary_lines(figures)))


def _resolved_at(inc: Incident) -> float | None:
    return None if inc.is_open else inc.status_times.get(Status.RESOLVED.value)
