"""Exactly once when Slack is slow, the store blips, the token is revoked, or the deliverer changes."""

from __future__ import annotations

import asyncio
import dataclasses
import os
import socket
import subprocess
import time
from typing import Any

import pytest
from aiohttp import web

from bot.devtools import payloads
from bot.devtools.slack_sim import SlackSim
from bot.errors import StoreUnavailable
from bot.incidents.card import card_posted
from bot.incidents.thread_messages import record_message
from bot.outbox import Rendered, Template
from bot.outbox.send import RECORD_ATTEMPTS
from bot.store import Store, queue, repo
from tests.fakes.slack_spec import check_call
from tests.harness import Harness
from tests.jobs.test_lease import kill_lock


class LateSlack(SlackSim):
    """The stand-in, able to act on a call and answer it late (``late[method]`` seconds), and paging
    history newest first, a few messages a page, with ``has_more``, as Slack does."""

    def __init__(self) -> None:
        super().__init__(validator=check_call)
        self.late: dict[str, list[float]] = {}
        self.page_size = 200

    async def _api(self, request: web.Request) -> web.Response:
        response = await super()._api(request)
        delays = self.late.get(request.match_info["method"])
        if delays:
            await asyncio.sleep(delays.pop(0))
        return response

    def _history(
        self, channel_id: str, p: dict[str, Any], keep: Any, *, newest_first: bool
    ) -> dict[str, Any]:
        # The stand-in pages like Slack (newest first, has_more, cursors); small pages make this test page.
        limit = min(int(p.get("limit") or 100), self.page_size)
        return super()._history(channel_id, {**p, "limit": limit}, keep, newest_first=newest_first)


async def outbox_counts(bot: Harness) -> dict[str, int]:
    async with bot.runtime.store.transaction() as tx:
        return await queue.outbox_counts(tx)


async def test_a_card_that_cannot_render_fails_alone_and_the_rest_flows(bot: Harness) -> None:
    await bot.command("open P1 checkout broken")
    await bot.command("open P2 search slow")
    await bot.settle()
    templates = bot.runtime.outbox.delivery.templates
    card = templates["card"]

    async def render(tx: Any, number: int) -> Rendered:
        if number == 1:  # a render bug that only this incident's data triggers (#8.1: 600 '&' once did)
            raise ValueError("section text over 3000 characters")
        return await card.render(tx, number)

    templates["card"] = Template(render=render, posted=card.posted)
    await bot.command("note INC-1 " + "&" * 600)
    await bot.command("note INC-2 still delivered")
    await bot.settle()
    assert "Updates: still delivered" in bot.card(2)["text"]
    assert any(t.endswith("&amp;" * 600) for t in bot.said(1))  # INC-1's thread was told all the same
    assert (await outbox_counts(bot)).get("failed") == 1  # the one card edit that cannot render
    templates["card"] = card
    await bot.command("note INC-1 after the bad one")
    await bot.settle()
    assert "Updates: after the bad one" in bot.card(1)["text"]  # the next edit renders again


class FlakyRecords:
    """The deliverer's store, whose outcome writes fail ``times`` times (a store blip after the send)."""

    def __init__(self, inner: Store, times: int) -> None:
        self.inner = inner
        self.times = times

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)

    async def run(self, body: Any) -> Any:
        if "record" in getattr(body, "__qualname__", "") and self.times > 0:
            self.times -= 1
            raise StoreUnavailable("simulated: connection lost while recording")
        return await self.inner.run(body)


async def test_a_store_error_after_a_send_is_recovered_without_a_restart(bot: Harness) -> None:
    await bot.command("open P1 checkout broken")
    await bot.settle()
    delivery = bot.runtime.outbox.delivery
    # Longer than the deliverer retries writing an outcome (~6 s) before it gives up on this round.
    delivery.store = FlakyRecords(delivery.store, times=RECORD_ATTEMPTS + 2)  # type: ignore[assignment]
    await bot.command("note INC-1 sent while the store blinked")
    stuck = None
    for _ in range(600):
        stuck = stuck or bot.runtime.outbox.health().stuck
        if stuck and delivery.store.times == 0:  # type: ignore[attr-defined]
            break
        await asyncio.sleep(0.02)
    assert stuck and "not recorded" in stuck
    await bot.settle()
    assert [t for t in bot.said(1) if "blinked" in t] == [":memo: <@U0ONCALL>: sent while the store blinked"]
    assert bot.runtime.outbox.health().ok
    assert (await outbox_counts(bot)).get("sending", 0) == 0


async def test_a_revoked_token_stops_delivery_and_keeps_every_item(store_url: str) -> None:
    bot = await Harness.start(store_url)
    try:
        await bot.command("open P1 checkout broken")
        await bot.settle()
        bot.sim.fail("chat.postMessage", status=200, error="token_revoked", times=1)
        await bot.command("note INC-1 written after the token was revoked")
        for _ in range(200):
            if bot.runtime.outbox.health().stopped:
                break
            await asyncio.sleep(0.02)
        health = bot.runtime.outbox.health()
        assert not health.ok and health.stopped and "token_revoked" in health.stopped
        calls = len(bot.sim.calls)
        await bot.command("note INC-1 and another")
        await asyncio.sleep(0.5)
        assert len(bot.sim.calls) == calls  # nothing more is tried
        assert (await outbox_counts(bot)).get("pending", 0) >= 2
        bot.runtime.outbox.stop_for("tokens_revoked event")  # a second cause changes nothing
        assert "token_revoked" in (bot.runtime.outbox.health().stopped or "")
    finally:
        sim = bot.sim
        await bot.close()
    again = await Harness.start(store_url, sim=sim)  # a restart with a working token
    try:
        await again.settle()
        notes = [t for t in again.said(1) if ":memo:" in t]
        assert notes == [
            ":memo: <@U0ONCALL>: written after the token was revoked",
            ":memo: <@U0ONCALL>: and another",
        ]
    finally:
        await again.close()


async def test_a_new_cards_ts_is_recorded_as_soon_as_slack_answers(store_url: str) -> None:
    sim = await LateSlack().start()
    bot = await Harness.start(store_url, sim=sim)
    try:
        sim.late["chat.postMessage"] = [0.0, 3.0, 3.0]  # the card is quick; its thread's first posts slow
        await bot.command("open P1 checkout broken")
        channel, ts = await wait_for_card_ref(bot)
        human = sim.post_human(channel, "U0DANA", "I see errors in the EU", ts)
        await bot.event(
            payloads.message_event(
                channel=channel, user="U0DANA", text=human["text"], ts=human["ts"], thread_ts=ts
            )
        )
        await bot.settle()
        async with bot.runtime.store.transaction() as tx:
            events = await repo.timeline(tx, 1)
        assert [e.text for e in events if e.kind == "message"] == ["I see errors in the EU"]
    finally:
        await bot.close()
        await sim.stop()


async def wait_for_card_ref(bot: Harness) -> tuple[str, str]:
    for _ in range(250):
        async with bot.runtime.store.transaction() as tx:
            ref = await repo.get_ref(tx, "card:1")
        if ref:
            return ref
        await asyncio.sleep(0.02)
    raise AssertionError("the card's ts was not recorded while its thread was still being posted")


async def test_a_reply_that_arrives_before_its_cards_ts_is_known_joins_the_timeline(store_url: str) -> None:
    sim = await LateSlack().start()
    bot = await Harness.start(store_url, sim=sim)
    try:
        sim.late["chat.postMessage"] = [2.0]  # Slack shows the card at once, but answers late
        await bot.command("open P1 checkout broken")
        card = None
        for _ in range(100):
            card = next(iter(sim.messages["C0INCIDENT"].values()), None)
            if card:
                break
            await asyncio.sleep(0.02)
        assert card is not None
        human = sim.post_human("C0INCIDENT", "U0DANA", "on it", card["ts"])
        event = payloads.message_event(
            channel="C0INCIDENT", user="U0DANA", text="on it", ts=human["ts"], thread_ts=card["ts"]
        )
        await bot.event(event)
        await bot.settle()
        async with bot.runtime.store.transaction() as tx:
            events = await repo.timeline(tx, 1)
        assert [(e.actor, e.text) for e in events if e.kind == "message"] == [("U0DANA", "on it")]
    finally:
        await bot.close()
        await sim.stop()


async def test_the_earlier_copy_is_found_on_a_later_page_of_history(store_url: str) -> None:
    sim = await LateSlack().start()
    bot = await Harness.start(store_url, sim=sim)
    try:
        await bot.command("open P1 checkout broken")
        await bot.settle()
        channel, ts = await bot.card_ref(1)
        sim.page_size = 3
        bot.runtime.outbox.slack.call_timeout = 1
        sim.late["chat.postMessage"] = [1.5]  # posted, but the answer comes after the client gave up
        await bot.command("note INC-1 slow to confirm")
        await asyncio.sleep(1.2)
        for i in range(8):  # people keep talking: the bot's post is pages deep by the time it looks
            sim.post_human(channel, "U0DANA", f"chatter {i}", ts)
        await bot.settle()
        assert [t for t in bot.said(1) if "slow to confirm" in t] == [":memo: <@U0ONCALL>: slow to confirm"]
        assert len(sim.of("conversations.replies")) >= 2  # it paged
    finally:
        await bot.close()
        await sim.stop()


def a_dead_pid() -> int:
    gone = subprocess.Popen(["true"])
    gone.wait()
    return gone.pid


async def test_two_deliverers_on_one_host_name_never_both_lead(
    store_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A container with a fixed hostname: its pid means nothing in this PID namespace.
    with monkeypatch.context() as patch:
        patch.setattr(os, "getpid", a_dead_pid)
        first = await Harness.start(store_url)
    assert first.runtime.outbox.holder.startswith(f"{socket.gethostname()}:")
    await first.command("open P1 checkout broken")
    await first.settle()
    first.sim.fail("chat.postMessage", status=200, delay=0.4, times=1000)  # Slack is slow
    for i in range(6):
        await first.command(f"note INC-1 step {i}")
    await asyncio.sleep(0.3)  # a note is on its way to Slack when the second instance starts
    second = await Harness.start(store_url, sim=first.sim)
    try:
        for i in range(6, 12):
            await second.command(f"note INC-1 step {i}")
        await first.settle()
        await second.settle()
        notes = [t for t in first.said(1) if ":memo:" in t]
        assert notes == [f":memo: <@U0ONCALL>: step {i}" for i in range(12)]
        posts = first.sim.of("chat.postMessage")
        ids = [i for c in posts for i in c.params["metadata"]["event_payload"]["outbox_ids"]]
        assert len(ids) == len(set(ids))
        assert [b.runtime.outbox.lease.held for b in (first, second)] == [True, False]
        term = first.runtime.outbox.lease.term
        first.sim.faults.clear()
        await first.close()  # the holder goes away: the other takes over, in a newer term
        await second.command("note INC-1 after the handover")
        await second.settle()
        assert second.runtime.outbox.lease.held and (second.runtime.outbox.lease.term or 0) > (term or 0)
        assert [t for t in second.said(1) if "handover" in t] == [":memo: <@U0ONCALL>: after the handover"]
    finally:
        await second.close()


async def test_a_card_edit_overtaken_while_in_flight_is_edited_again(store_url: str) -> None:
    sim = await LateSlack().start()
    bot = await Harness.start(store_url, sim=sim)
    try:
        await bot.command("open P1 checkout broken")
        await bot.settle()
        sim.late["chat.update"] = [1.0]
        await bot.command("note INC-1 first")
        await asyncio.sleep(0.5)  # the card edit showing "first" is in flight
        async with bot.runtime.store.transaction() as tx:  # a change that owes no edit of its own
            inc = await repo.get_incident(tx, 1, for_update=True)
            assert inc is not None
            await repo.update_incident(
                tx, dataclasses.replace(inc, latest_update="second", version=inc.version + 1)
            )
        await bot.settle()
        assert "Updates: second" in bot.card(1)["text"]
    finally:
        await bot.close()
        await sim.stop()


async def test_a_new_holder_waits_for_a_post_the_old_one_had_on_its_way(pg_url: str) -> None:
    """The holder loses its lock while Slack is slow to process its post: the new holder must not look
    for that post (and, not finding it yet, post it again) before it could have landed."""
    first = await Harness.start(pg_url)
    second = await Harness.start(pg_url, sim=first.sim)
    try:
        await first.command("open P1 checkout broken")
        await first.settle()
        for bot in (first, second):
            bot.runtime.outbox.slack.call_timeout = 4.5  # grace: 4.5 + 3 s
        first.sim.fail("chat.postMessage", status=200, delay=4.0)  # processed 4 s after it arrives
        sent = len(first.sim.calls)
        await first.command("note INC-1 slow to land")
        while not any(c.method == "chat.postMessage" for c in first.sim.calls[sent:]):
            await asyncio.sleep(0.01)
        await kill_lock(first.runtime.outbox.lease, pg_url)  # the holder is replaced mid-send
        await second.settle()
        await first.settle()
        while any(c.method == "chat.postMessage" and not c.response for c in first.sim.calls):
            await asyncio.sleep(0.05)  # every post on its way has landed
        assert second.runtime.outbox.lease.held
        assert [t for t in first.said(1) if "slow to land" in t] == [":memo: <@U0ONCALL>: slow to land"]
    finally:
        await second.close()
        await first.close()


async def test_a_reply_held_while_its_cards_ts_is_being_recorded_is_not_missed(pg_url: str) -> None:
    """PostgreSQL, read committed: the card's ts is being recorded (not yet committed) when a reply in its
    thread arrives; the reply must not be held where the card's transaction no longer looks."""
    bot = await Harness.start(pg_url)
    try:
        await bot.command("open P1 checkout broken")
        await bot.settle()
        deps, ts = bot.runtime.deps, f"{time.time():.6f}"
        reply = dict(channel="C0INCIDENT", thread_ts=ts, ts=f"{time.time() + 1:.6f}", actor="U0DANA")
        async with deps.store.transaction() as tx:
            await card_posted(tx, 1, "C0INCIDENT", ts)  # the outbox records where the card landed
            arriving = asyncio.create_task(record_message(deps, **reply, text="on it"))
            await asyncio.sleep(0.3)  # the reply arrives before that commits
        await arriving
        async with deps.store.transaction() as tx:
            events = await repo.timeline(tx, 1)
        assert [(e.actor, e.text) for e in events if e.kind == "message"] == [("U0DANA", "on it")]
    finally:
        await bot.close()


async def test_a_mention_that_arrives_before_its_cards_ts_is_known_is_carried_out(store_url: str) -> None:
    sim = await LateSlack().start()
    bot = await Harness.start(store_url, sim=sim)
    try:
        sim.late["chat.postMessage"] = [2.0]  # Slack shows the card at once, but answers late
        await bot.command("open P1 checkout broken")
        card = None
        for _ in range(100):
            card = next(iter(sim.messages["C0INCIDENT"].values()), None)
            if card:
                break
            await asyncio.sleep(0.02)
        assert card is not None
        text = "<@U0OPSBOT> note rolling back"
        human = sim.post_human("C0INCIDENT", "U0DANA", text, card["ts"])
        where = dict(channel="C0INCIDENT", user="U0DANA", text=text, ts=human["ts"], thread_ts=card["ts"])
        await bot.event(payloads.message_event(**where))
        await bot.event(payloads.app_mention_event(**where))
        for _ in range(200):
            await bot.settle()
            if any("rolling back" in t for t in bot.said(1)):
                break
            await asyncio.sleep(0.05)
        assert [t for t in bot.said(1) if "rolling back" in t] == [":memo: <@U0DANA>: rolling back"]
        assert not [t for t in bot.ephemerals() if "Mention me" in t]
    finally:
        await bot.close()
        await sim.stop()


async def test_a_private_reply_sent_as_the_lease_changes_hands_is_not_sent_again(pg_url: str) -> None:
    """The holder is replaced while a response_url post is on its way; it lands. That it was sent is
    written all the same (the new term had only put it back in doubt), so the new holder, which cannot
    look a private reply up, does not send it a second time."""
    first = await Harness.start(pg_url)
    second = await Harness.start(pg_url, sim=first.sim)
    try:
        for bot in (first, second):
            bot.runtime.outbox.slack.call_timeout = 1.5  # grace: 1.5 + 3 s
        first.sim.fail("response_url", status=200, delay=2.0)  # the "is live" link lands 2 s late
        await first.command("open P1 checkout broken")
        while not await _sending(first, "respond"):
            await asyncio.sleep(0.01)
        await kill_lock(first.runtime.outbox.lease, pg_url)
        await asyncio.sleep(5.0)  # past the new holder's grace
        await second.settle()
        await first.settle()
        assert second.runtime.outbox.lease.held
        assert len([t for t in first.private_replies() if "is live" in t]) == 1
    finally:
        await second.close()
        await first.close()


async def _sending(bot: Harness, kind: str) -> bool:
    async with bot.runtime.store.transaction() as tx:
        row = await tx.fetchone(
            "SELECT count(*) AS n FROM outbox WHERE state = 'sending' AND kind = ?", (kind,)
        )
    return bool(row and row["n"])
