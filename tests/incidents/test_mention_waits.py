"""A mention in a thread whose card's ts is not recorded yet waits in the store, not in a sleeping task: it
is carried out once the ts lands, even after a restart, and answered "not an incident thread" once after
the grace, however many instances there are."""

from __future__ import annotations

import asyncio
from typing import Any

from bot.devtools import payloads
from bot.devtools.slack_sim import BOT_USER, SlackSim
from bot.errors import StoreUnavailable
from bot.incidents import mentions
from bot.jobs import scheduler
from tests.fakes.slack_spec import check_call
from tests.harness import FakeClock, Harness
from tests.outbox.test_exactly_once import LateSlack

QUICK_TAKEOVER = {"in_doubt_grace": 0.3}  # a post cut off mid-send is looked for soon after


async def _card_in_slack(sim: SlackSim) -> dict[str, Any]:
    for _ in range(200):
        card = next(iter(sim.messages.get("C0INCIDENT", {}).values()), None)
        if card:
            return card
        await asyncio.sleep(0.02)
    raise AssertionError("the card never reached Slack")


def _mention(sim: SlackSim, text: str, thread_ts: str) -> dict[str, Any]:
    said = f"<@{BOT_USER}> {text}"
    human = sim.post_human("C0INCIDENT", "U0DANA", said, thread_ts)
    return dict(channel="C0INCIDENT", user="U0DANA", text=said, ts=human["ts"], thread_ts=thread_ts)


async def test_a_mention_waiting_for_its_cards_ts_is_carried_out_after_a_restart(store_url: str) -> None:
    sim = await LateSlack().start()
    first = await Harness.start(store_url, sim=sim, outbox_options=QUICK_TAKEOVER)
    try:
        sim.late["chat.postMessage"] = [4.0]  # Slack shows the card at once, but answers late
        await first.command("open P1 checkout broken")
        card = await _card_in_slack(sim)
        where = _mention(sim, "note rolling back", card["ts"])
        await first.event(payloads.message_event(**where))
        await first.event(payloads.app_mention_event(**where))
        await asyncio.sleep(0.3)
    finally:
        await first.close()  # killed while the card's post is on its way: its ts is not recorded here
    second = await Harness.start(store_url, sim=sim, outbox_options=QUICK_TAKEOVER)
    try:
        for _ in range(100):  # the new process finds the card in Slack, records its ts, and then...
            await second.settle()
            if any("rolling back" in t for t in second.said(1)):
                break
            await asyncio.sleep(0.1)
        await asyncio.sleep(0.3)
        await second.settle()
        assert [t for t in second.said(1) if "rolling back" in t] == [":memo: <@U0DANA>: rolling back"]
        assert not [t for t in second.ephemerals() if "Mention me" in t]
        assert sim.problems == []
    finally:
        await second.close()
        await sim.stop()


async def test_a_mention_in_a_thread_no_card_claims_is_answered_once_after_the_grace(store_url: str) -> None:
    clock = FakeClock()
    sim = await SlackSim(validator=check_call).start()
    one = await Harness.start(store_url, sim=sim, clock=clock, scheduler_poll=3600.0)
    two = await Harness.start(store_url, sim=sim, clock=clock, scheduler_poll=3600.0)
    try:
        chatter = sim.post_human("C0INCIDENT", "U0DANA", "is checkout down?")  # not an incident's card
        where = _mention(sim, "note rolling back", chatter["ts"])
        await one.event(payloads.app_mention_event(**where), event_id="Ev0WAIT")
        await two.event(payloads.app_mention_event(**where), event_id="Ev0WAIT", retry_num=1)
        await one.fire_due()
        await two.fire_due()
        assert not one.ephemerals(), "answered before the card could have landed"
        clock.advance(mentions.CARD_WAIT + 1)
        for _ in range(3):  # both instances fire due timers, again after a retry's delay
            await asyncio.gather(one.fire_due(), two.fire_due())
            await asyncio.sleep(0.1)
            clock.advance(mentions.RETRY_AFTER + 1)
        await one.settle()
        await two.settle()
        assert one.ephemerals() == [mentions.NOT_IN_A_THREAD]
        assert sim.problems == []
    finally:
        await one.close()
        await two.close()
        await sim.stop()


async def test_a_mention_waits_past_the_grace_while_a_new_incidents_card_ts_is_still_unknown(
    store_url: str, monkeypatch: Any
) -> None:
    monkeypatch.setattr(mentions, "CARD_WAIT", 0.5)  # Slack answers the card's post after the grace
    sim = await LateSlack().start()
    bot = await Harness.start(store_url, sim=sim)
    try:
        sim.late["chat.postMessage"] = [3.0]
        await bot.command("open P1 checkout broken")
        card = await _card_in_slack(sim)
        where = _mention(sim, "note rolling back", card["ts"])
        await bot.event(payloads.app_mention_event(**where))
        for _ in range(100):  # the card's ts lands ~3 s in, well after the grace
            await bot.settle()
            if any("rolling back" in t for t in bot.said(1)) or bot.ephemerals():
                break
            await asyncio.sleep(0.1)
        await asyncio.sleep(0.3)
        await bot.settle()
        assert not [t for t in bot.ephemerals() if "Mention me" in t]
        assert [t for t in bot.said(1) if "rolling back" in t] == [":memo: <@U0DANA>: rolling back"]
    finally:
        await bot.close()
        await sim.stop()


async def test_a_waiting_mention_keeps_no_secret_in_the_store(store_url: str) -> None:
    sim = await SlackSim(validator=check_call).start()
    bot = await Harness.start(store_url, sim=sim, scheduler_poll=3600.0)
    try:
        chatter = sim.post_human("C0INCIDENT", "U0DANA", "is checkout down?")
        secret = "sk_live_" + "a1B2c3D4e5F6g7H8i9J0k1L2"
        where = _mention(sim, f"note rotated {secret}", chatter["ts"])
        await bot.event(payloads.app_mention_event(**where))
        async with bot.runtime.store.transaction() as tx:
            waiting = [t for t in await scheduler.pending(tx) if t.kind == mentions.KIND]
        assert len(waiting) == 1
        assert secret not in str(waiting[0].payload) and "[redacted]" in str(waiting[0].payload)
    finally:
        await bot.close()
        await sim.stop()


async def test_a_store_blip_after_a_waiting_mention_fires_is_no_unexpected_error(
    store_url: str, monkeypatch: Any, caplog: Any
) -> None:
    sim = await SlackSim(validator=check_call).start()
    bot = await Harness.start(store_url, sim=sim, scheduler_poll=3600.0)
    try:
        chatter = sim.post_human("C0INCIDENT", "U0DANA", "is checkout down?")
        where = _mention(sim, "note rolling back", chatter["ts"])
        mention = mentions.Mention(**{k: where[k] for k in ("channel", "user", "ts", "text", "thread_ts")})

        async def unavailable(*args: Any, **kwargs: Any) -> None:
            raise StoreUnavailable("the store is restarting")

        monkeypatch.setattr(mentions.thread_messages, "incident_for_thread", unavailable)
        await mentions._after_wait(bot.runtime.deps, mention)  # its timer fires again later
        assert not [r for r in caplog.records if r.levelname == "ERROR"]
    finally:
        await bot.close()
        await sim.stop()
