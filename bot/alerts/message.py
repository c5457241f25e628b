"""An alert's one message in Slack: owed as "the message of alert N" and rendered when it is sent, so a
storm of repeats coalesces into one edit showing the latest count (and rendering stays off the ack path)."""

from __future__ import annotations

from bot.alerts import render
from bot.outbox import Live, Post, Rendered, Template, Update, owe
from bot.store import Tx
from bot.store import alerts as queries

ALERT = "alert"


def alert_ref(alert_id: int) -> str:
    """The alert message's ref and lane: its repeats and edits go out in order."""
    return f"alert:{alert_id}"


async def owe_post(tx: Tx, alert_id: int, *, channel: str, at: float) -> None:
    ref = alert_ref(alert_id)
    await owe(tx, Post(ref, channel=channel, ref=ref, live=Live(ALERT, alert_id)), at=at)


async def owe_edit(tx: Tx, alert_id: int, *, at: float) -> None:
    """An edit of the alert's message; pending edits coalesce, and the latest state is what is sent."""
    ref = alert_ref(alert_id)
    await owe(tx, Update(ref, ref, live=Live(ALERT, alert_id)), at=at)


def alert_template() -> Template:
    """The outbox template for alert messages."""

    async def render_alert(tx: Tx, alert_id: int) -> Rendered:
        rec = await queries.get(tx, alert_id)
        if rec is None:
            raise LookupError(f"alert {alert_id}")
        message = render.alert_message(rec)
        return Rendered(message.text, message.blocks, rec.version)

    return Template(render=render_alert)
