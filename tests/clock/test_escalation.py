"""Escalation along the path on missed targets, /incident escalate, and stale timers dropping themselves.

The clock is moved forward (tests/harness.FakeClock) and due timers fired as the scheduler's poll does."""

from __future__ import annotations

from bot.clock import rules
from bot.jobs import scheduler
from bot.store import repo
from tests.harness import FakeClock, Harness

HOUR = 3600.0


def thread_pages(bot: Harness, number: int) -> list[str]:
    return [line for line in bot.said(number) if "needs you" in line or "top of the escalation path" in line]


async def level(bot: Harness, number: int) -> int:
    async with bot.runtime.store.transaction() as tx:
        inc = await repo.get_incident(tx, number)
    assert inc is not None
    return inc.escalation_level


async def test_missed_response_target_calls_next_level_once_ack_stops_resolve_target_escalates(
    timed: Harness, clock: FakeClock
) -> None:
    await timed.command("open P1 checkout broken")
    await timed.settle()
    clock.advance(2 * HOUR - 60)
    await timed.fire_due()
    assert await level(timed, 1) == 1  # not yet

    clock.advance(61)
    await timed.fire_due()
    assert await level(timed, 1) == 2
    page = thread_pages(timed, 1)[-1]
    assert page.startswith("<@U0MANAGER> :rotating_light: *INC-1* (P1) needs you")
    assert "Escalation: level 2 of 3 · Engineering manager" in timed.card(1)["text"]
    await timed.fire_due()
    assert len([p for p in thread_pages(timed, 1) if "U0MANAGER" in p]) == 1  # once per level

    await timed.command("ack INC-1", user="U0MANAGER")
    async with timed.runtime.store.transaction() as tx:
        kinds = {r["kind"] for r in await tx.fetchall("SELECT kind FROM timers WHERE subject = 'INC-1'")}
    assert rules.RESPOND not in kinds and rules.RESOLVE in kinds  # acknowledging stops the response chain
    clock.advance(1.5 * HOUR)
    await timed.fire_due()
    assert await level(timed, 1) == 2

    clock.advance(0.5 * HOUR + 1)  # 4 h after declaring: the P1 resolve target
    await timed.fire_due()
    assert await level(timed, 1) == 3
    cto = [c for c in timed.sim.of("chat.postMessage") if c.params["text"].startswith("<@U0CTO>")]
    assert {c.params["channel"] for c in cto} == {"C0INCIDENT", "C0GENERAL"}
    assert "not resolved within 4h (P1 resolve target)" in cto[0].params["text"]
    async with timed.runtime.store.transaction() as tx:
        events = [e.text for e in await repo.timeline(tx, 1) if e.kind == "escalated"]
    assert [e.split(" (")[0] for e in events] == [
        "escalated to level 1",
        "escalated to level 2",
        "escalated to level 3",
    ]


async def test_top_of_the_path_is_said_once(timed: Harness, clock: FakeClock) -> None:
    await timed.command("open P0 site down")
    await timed.settle()
    for _ in range(2):
        clock.advance(5 * 60 + 1)
        await timed.fire_due()
    assert await level(timed, 1) == 3
    clock.advance(5 * 60 + 1)  # 15 min: response target at level 3, and the P0 resolve target
    await timed.fire_due()
    clock.advance(HOUR)
    await timed.fire_due()
    tops = [line for line in timed.said(1) if "top of the escalation path" in line]
    assert len(tops) == 2  # one for each missed target, and nothing after
    assert all(line.startswith("<@U0CTO>") for line in tops)


async def test_escalate_command_moves_one_level_now_with_reason(timed: Harness) -> None:
    await timed.command("open P2 search slow")
    reply = await timed.command("escalate INC-1 customers <!channel> complaining")
    assert reply["text"] == "Done: called level 1 (On-call engineer) for INC-1."
    await timed.settle()
    page = thread_pages(timed, 1)[-1]
    assert "escalated by <@U0ONCALL>: customers &lt;!channel&gt; complaining" in "\n".join(timed.said(1))
    assert page.startswith("<!subteam^S0ONCALL>")
    for _ in range(2):
        await timed.command("escalate INC-1")
    top = await timed.command("escalate INC-1")
    assert "already at the top of the escalation path (CTO/VP Engineering)" in top["text"]
    assert await level(timed, 1) == 3
    await timed.command("resolve INC-1")
    closed = await timed.command("escalate INC-1")
    assert "is resolved; reopen it first" in closed["text"]
    missing = await timed.command("escalate INC-99")
    assert "There is no INC-99" in missing["text"]


async def test_status_change_acknowledges_so_no_escalation(timed: Harness, clock: FakeClock) -> None:
    await timed.command("open P0 site down")
    await timed.command("update INC-1 identified bad deploy")
    await timed.settle()
    clock.advance(5 * 60 + 1)
    await timed.fire_due()
    assert await level(timed, 1) == 1


async def test_stale_timer_drops_itself(timed: Harness, clock: FakeClock) -> None:
    """A response timer scheduled for level 1 that fires after the incident moved to level 2 does nothing
    (the incident's row is locked, its level compared with the timer's), as grafana/oncall's steps do."""
    await timed.command("open P0 site down")
    await timed.command("escalate INC-1 manager now")
    await timed.settle()
    before = len(timed.sim.of("chat.postMessage"))
    async with timed.runtime.store.transaction() as tx:
        await scheduler.schedule(
            tx, kind=rules.RESPOND, subject="INC-1", due=clock() - 1, payload={"level": 1}
        )
    await timed.fire_due()
    assert await level(timed, 1) == 2
    assert len(timed.sim.of("chat.postMessage")) == before
    async with timed.runtime.store.transaction() as tx:
        assert (
            await tx.fetchone("SELECT id FROM timers WHERE kind = ? AND subject = 'INC-1'", (rules.RESPOND,))
            is None
        )
