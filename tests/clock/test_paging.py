"""Paging, PagerDuty and acknowledgement end to end: signed requests over HTTP, both stores."""

from __future__ import annotations

import json

from bot.clock import messages
from bot.outbox import Page, owe
from bot.store import repo
from tests.fakes.pagerduty import ROUTING_KEY, FakePagerDuty
from tests.harness import Harness


async def declare(bot: Harness, text: str) -> None:
    await bot.command(f"open {text}")
    await bot.settle()


def pages(bot: Harness) -> list[dict[str, str]]:
    """Every page the bot posted (new messages), as channel, thread or not, and text."""
    return [
        {
            "channel": c.params["channel"],
            "thread": str(bool(c.params.get("thread_ts"))),
            "text": c.params["text"],
        }
        for c in bot.sim.of("chat.postMessage")
        if "needs you" in c.params["text"]
    ]


async def test_p0_pages_level_one_in_new_messages_and_triggers_pagerduty(
    timed: Harness, pd: FakePagerDuty
) -> None:
    await declare(timed, "P0 site down")
    found = pages(timed)
    assert {(p["channel"], p["thread"]) for p in found} == {("C0INCIDENT", "True"), ("C0ONCALL", "False")}
    assert all(
        p["text"].startswith("<!subteam^S0ONCALL> :rotating_light: *INC-1* (P0) needs you") for p in found
    )
    card = timed.card(1)["text"]
    assert "Escalation: level 1 of 3 · On-call engineer" in card and "Acknowledged: not yet" in card
    assert "subteam" not in card  # an edit would not notify; the card pages nobody
    [trigger] = pd.accepted
    assert trigger["event_action"] == "trigger" and trigger["dedup_key"] == "opsbot-INC-1"
    assert (
        trigger["payload"]["severity"] == "critical"
        and trigger["payload"]["summary"] == "INC-1 P0: site down"
    )
    channel, ts = await timed.card_ref(1)
    assert trigger["links"][0]["href"] == f"https://slack.com/archives/{channel}/p{ts.replace('.', '')}"
    async with timed.runtime.store.transaction() as tx:
        stored = json.dumps(await tx.fetchall("SELECT payload FROM outbox"))
    assert ROUTING_KEY not in stored  # the routing key is a secret: added when sent, never stored


async def test_p1_is_error_p2_pages_nobody_until_raised(timed: Harness, pd: FakePagerDuty) -> None:
    await declare(timed, "P1 checkout broken")
    await declare(timed, "P2 search slow")
    assert [e["payload"]["severity"] for e in pd.accepted] == ["error"]
    assert not any("INC-2" in p["text"] for p in pages(timed))
    assert "Escalation: nobody paged" in timed.card(2)["text"]

    await timed.command("severity INC-2 P1")
    await timed.settle()
    raised = [p for p in pages(timed) if "INC-2" in p["text"]]
    assert len(raised) == 2 and all("raised to P1 by <@U0ONCALL>" in p["text"] for p in raised)
    assert pd.actions()[-1] == ("trigger", "opsbot-INC-2")


async def test_acknowledge_button_stops_paging_and_tells_pagerduty(timed: Harness, pd: FakePagerDuty) -> None:
    await declare(timed, "P0 site down")
    declared = timed.card(1)["text"]
    assert "Acknowledged: not yet" in declared  # declaring is not acknowledging
    response = await timed.press(1, messages.ACTION_ACK, user="U0BOB")
    assert response.status_code == 200
    await timed.settle()
    card = timed.card(1)
    assert "Acknowledged: <@U0BOB>" in card["text"]
    assert "Acknowledge" not in [e["text"]["text"] for e in card["blocks"][-1]["elements"]]
    assert any("<@U0BOB> acknowledged *INC-1* (pressed Acknowledge)" in line for line in timed.said(1))
    assert pd.actions() == [("trigger", "opsbot-INC-1"), ("acknowledge", "opsbot-INC-1")]
    # A second press (another person, a stale card) changes nothing and says who was first.
    await timed.press(1, messages.ACTION_ACK, user="U0CAROL", card={"blocks": _page_blocks(timed)})
    await timed.settle()
    assert any("already acknowledged by <@U0BOB>" in r for r in timed.private_replies("U0CAROL"))
    assert len(pd.accepted) == 2


def _page_blocks(bot: Harness) -> list[dict[str, object]]:
    for call in bot.sim.of("chat.postMessage"):
        if "needs you" in call.params["text"]:
            return call.blocks
    raise AssertionError("no page")


async def test_ack_command_take_command_and_status_change_acknowledge(timed: Harness) -> None:
    for text in ("P1 one", "P1 two", "P1 three"):
        await declare(timed, text)
    reply = await timed.command("ack INC-1", user="U0BOB")
    assert reply["text"].startswith("Done") and "acknowledged *INC-1* (with the ack command)" in reply["text"]
    await timed.press(2, "incident_take_command", user="U0CAROL")
    await timed.command("update INC-3 identified cache node down", user="U0DAVE")
    await timed.settle()
    async with timed.runtime.store.transaction() as tx:
        incs = [await repo.get_incident(tx, n) for n in (1, 2, 3)]
    assert [i.acknowledged_by for i in incs if i] == ["U0BOB", "U0CAROL", "U0DAVE"]
    assert "Acknowledged: <@U0CAROL>" in timed.card(2)["text"]
    again = await timed.command("ack INC-1", user="U0DAVE")
    assert "already acknowledged by <@U0BOB>" in again["text"]
    bad = await timed.command("ack INC-1 now please")
    assert "`ack` takes only the incident" in bad["text"] and "/incident ack <INC-n>" in bad["text"]


async def test_resolve_sends_pagerduty_resolve_with_the_same_dedup_key(
    timed: Harness, pd: FakePagerDuty
) -> None:
    await declare(timed, "P1 checkout broken")
    await timed.command("resolve INC-1 fixed")
    await timed.settle()
    assert pd.actions() == [
        ("trigger", "opsbot-INC-1"),
        ("acknowledge", "opsbot-INC-1"),  # resolving changes the status: that acknowledges too
        ("resolve", "opsbot-INC-1"),
    ]
    async with timed.runtime.store.transaction() as tx:
        timers = await tx.fetchall("SELECT kind FROM timers WHERE subject = 'INC-1'")
    assert timers == []  # resolve stops every chain


async def test_pagerduty_retried_on_429_and_5xx_never_on_400_never_twice(
    timed: Harness, pd: FakePagerDuty
) -> None:
    pd.faults = [429, 503]
    await declare(timed, "P0 site down")
    assert [e["event_action"] for e in pd.accepted] == ["trigger"]  # after a 429 and a 503: once
    assert len(pd.received) == 3

    # An event PagerDuty refuses (400) fails for good and is not retried.
    async with timed.runtime.store.transaction() as tx:
        await owe(tx, Page("pagerduty:99", 99, {"event_action": "resolve"}), at=timed.runtime.deps.clock())
    timed.runtime.outbox.notify()
    await timed.settle()
    assert len(pd.received) == 4
    async with timed.runtime.store.transaction() as tx:
        failed = await tx.fetchall("SELECT last_error FROM outbox WHERE state = 'failed'")
    assert len(failed) == 1 and "400" in failed[0]["last_error"] and "dedup_key" in failed[0]["last_error"]


async def test_ack_and_escalate_by_mention_in_the_thread(timed: Harness) -> None:
    await declare(timed, "P2 search slow")
    await timed.say_in_thread(1, "escalate customers are angry", user="U0BOB", mention=True)
    await timed.say_in_thread(1, "ack", user="U0BOB", mention=True)
    async with timed.runtime.store.transaction() as tx:
        inc = await repo.get_incident(tx, 1)
        events = await repo.timeline(tx, 1)
    assert inc is not None and inc.escalation_level == 1 and inc.acknowledged_by == "U0BOB"
    shown = await timed.command("show INC-1")
    assert ":mega:" in shown["text"] and ":raised_hand:" in shown["text"]
    kinds = [e.kind for e in events if e.kind in ("escalated", "ack")]
    assert kinds == ["escalated", "ack"]
