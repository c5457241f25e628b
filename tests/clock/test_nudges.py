"""Nudges: quiet for update_every -> the commander is nudged in the thread; updates postpone; snooze."""

from __future__ import annotations

from typing import Any

from bot.clock import messages
from bot.store import repo
from tests.harness import FakeClock, Harness

CADENCE = 30 * 60.0  # P1's default update_every


def nudges(bot: Harness, number: int) -> list[dict[str, Any]]:
    return [m for m in bot.thread(number) if "has had no update for" in m["text"] or ":zzz:" in m["text"]]


async def test_quiet_incident_nudges_commander_with_buttons_then_one_cadence_later(
    timed: Harness, clock: FakeClock
) -> None:
    await timed.command("open P1 checkout broken", user="U0DANA")
    await timed.settle()
    clock.advance(CADENCE + 1)
    await timed.fire_due()
    [nudge] = nudges(timed, 1)
    assert nudge["text"].startswith("<@U0DANA> :hourglass_flowing_sand: *INC-1* has had no update for 30m")
    labels = [e["text"]["text"] for b in nudge["blocks"] if b["type"] == "actions" for e in b["elements"]]
    assert labels == ["Post update", "Snooze 30 min", "Snooze 1 h"]
    await timed.fire_due()
    assert len(nudges(timed, 1)) == 1
    clock.advance(CADENCE - 5)
    await timed.fire_due()
    assert len(nudges(timed, 1)) == 1
    clock.advance(10)
    await timed.fire_due()
    assert len(nudges(timed, 1)) == 2


async def test_updates_postpone_the_nudge_note_and_human_thread_message(
    timed: Harness, clock: FakeClock
) -> None:
    await timed.command("open P1 checkout broken")
    await timed.settle()
    clock.advance(20 * 60)
    await timed.command("note INC-1 rolled back")
    clock.advance(11 * 60)  # 31 min after declaring, 11 after the note
    await timed.fire_due()
    assert nudges(timed, 1) == []
    clock.advance(15 * 60)
    await timed.say_in_thread(1, "orders flowing again", user="U0BOB")  # a human thread message counts
    clock.advance(16 * 60)  # 31 min after the note, 16 after the message
    await timed.fire_due()
    assert nudges(timed, 1) == []
    clock.advance(15 * 60)
    await timed.fire_due()
    assert len(nudges(timed, 1)) == 1


async def test_snooze_and_post_update_buttons(timed: Harness, clock: FakeClock) -> None:
    await timed.command("open P1 checkout broken")
    await timed.settle()
    clock.advance(CADENCE + 1)
    await timed.fire_due()
    [nudge] = nudges(timed, 1)
    channel, _ = await timed.card_ref(1)
    await timed.press_on(nudge, messages.ACTION_POST_UPDATE, channel=channel, user="U0ONCALL")
    await timed.settle()
    assert any("/incident note INC-1 <what changed>" in r for r in timed.private_replies())

    await timed.press_on(nudge, f"{messages.ACTION_SNOOZE}_60", channel=channel, user="U0BOB")
    await timed.settle()
    [snoozed] = nudges(timed, 1)  # the nudge itself now says so, with no buttons to press twice
    assert snoozed["ts"] == nudge["ts"] and snoozed["text"].startswith(":zzz: <@U0BOB> snoozed")
    assert not snoozed.get("blocks")
    clock.advance(CADENCE + 60)  # past the usual cadence, within the hour's snooze
    await timed.fire_due()
    assert len(nudges(timed, 1)) == 1
    clock.advance(CADENCE)
    await timed.fire_due()
    assert len(nudges(timed, 1)) == 2


async def test_no_nudge_after_resolve(timed: Harness, clock: FakeClock) -> None:
    await timed.command("open P2 search slow")
    await timed.command("resolve INC-1 reindexed")
    await timed.settle()
    clock.advance(7 * 86400)
    await timed.fire_due()
    assert nudges(timed, 1) == []
    async with timed.runtime.store.transaction() as tx:
        assert [e.kind for e in await repo.timeline(tx, 1) if e.kind == "nudged"] == []
