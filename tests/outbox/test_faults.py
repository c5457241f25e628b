"""Slack misbehaving: 429, 5xx, timeouts; the outbox recovers and delivers every message exactly once."""

from __future__ import annotations

import asyncio
import time

from bot.store import queue
from tests.harness import Harness
from tests.outbox.test_exactly_once import outbox_counts


def postings(bot: Harness) -> list[str]:
    return [c.params.get("text", "") for c in bot.sim.of("chat.postMessage")]


async def test_ratelimited_waits_retry_after_then_delivers_once(bot: Harness) -> None:
    bot.sim.fail("chat.postMessage", status=429, times=2, retry_after=1)
    started = time.monotonic()
    await bot.command("open P1 checkout broken")
    await bot.settle()
    assert (
        time.monotonic() - started >= 1.0
    )  # Retry-After honoured (twice would be >= 2 s with a fresh clock)
    attempts = [c for c in bot.sim.calls if c.method == "chat.postMessage" and c.status == 429]
    assert len(attempts) == 2
    cards = [t for t in postings(bot) if "INCIDENT: checkout broken" in t]
    assert len(cards) == 1


async def test_server_errors_and_timeouts_retry_with_backoff(bot: Harness) -> None:
    await bot.command("open P1 checkout broken")
    await bot.settle()
    bot.sim.fail("chat.postMessage", status=500, times=2)
    bot.sim.fail("chat.update", status=503, times=1)
    bot.runtime.outbox.client.timeout = 1
    bot.sim.fail("chat.postMessage", status=200, delay=1.5, times=1)  # answers after the client gave up
    for i in range(3):
        await bot.command(f"note INC-1 update {i}")
    await bot.settle()
    # The post that timed out had reached Slack: the retry finds it by its metadata and does not repost.
    replies = [t for t in bot.said(1) if ":memo:" in t]
    assert replies == [f":memo: <@U0ONCALL>: update {i}" for i in range(3)]
    assert len(bot.sim.of("conversations.replies")) >= 1
    assert "Updates: update 2" in bot.card(1)["text"]
    async with bot.runtime.store.transaction() as tx:
        counts = await queue.outbox_counts(tx)
    assert counts.get("pending", 0) == 0 and counts.get("failed", 0) == 0


async def test_every_message_exactly_once_through_errors(bot: Harness) -> None:
    bot.sim.fail("chat.postMessage", status=500, times=3)
    bot.sim.fail("chat.postMessage", status=429, times=1, retry_after=1)
    bot.sim.fail("chat.update", status=502, times=2)
    await bot.command("open P1 checkout broken")
    for i in range(5):
        await bot.command(f"note INC-1 step {i}")
    await bot.settle()
    thread = bot.said(1)
    notes = [t for t in thread if ":memo:" in t]
    assert notes == [f":memo: <@U0ONCALL>: step {i}" for i in range(5)]  # each once, in order
    assert "Updates: step 4" in bot.card(1)["text"]


async def test_card_edits_are_coalesced(bot: Harness) -> None:
    await bot.command("open P2 search slow")
    await bot.settle()
    bot.sim.fail("chat.update", status=429, times=1, retry_after=1)
    await bot.command("note INC-1 first")  # its edit is held back by the 429
    for i in range(10):
        await bot.command(f"note INC-1 burst {i}")
    await bot.settle()
    updates = [c for c in bot.sim.of("chat.update") if "INCIDENT" in c.params.get("text", "")]
    assert len(updates) < 11  # the burst landed as far fewer edits
    assert "Updates: burst 9" in bot.card(1)["text"]
    assert len([t for t in bot.said(1) if ":memo:" in t]) == 11


async def test_unfixable_error_marks_failed_and_moves_on(bot: Harness) -> None:
    await bot.command("open P2 search slow")
    await bot.settle()
    bot.sim.fail("chat.postMessage", status=200, error="msg_too_long", times=1)
    await bot.command("note INC-1 this one is refused")
    await bot.command("note INC-1 this one goes through")
    await bot.settle()
    async with bot.runtime.store.transaction() as tx:
        counts = await queue.outbox_counts(tx)
    assert counts.get("failed") == 1
    assert any("goes through" in t for t in bot.said(1))


async def test_lanes_keep_order_while_other_incidents_flow(bot: Harness) -> None:
    await bot.command("open P1 first incident")
    await bot.command("open P2 second incident")
    await bot.settle()
    for i in range(4):
        await bot.command(f"note INC-1 a{i}")
        await bot.command(f"note INC-2 b{i}")
    await bot.settle()
    assert [t.split(": ")[-1] for t in bot.said(1) if ":memo:" in t] == [
        "a0",
        "a1",
        "a2",
        "a3",
    ]
    assert [t.split(": ")[-1] for t in bot.said(2) if ":memo:" in t] == [
        "b0",
        "b1",
        "b2",
        "b3",
    ]


async def test_undelivered_items_go_out_after_restart(store_url: str) -> None:
    bot = await Harness.start(store_url)
    bot.sim.fail("chat.postMessage", status=500, times=1000)
    await bot.command("open P1 checkout broken")
    await bot.command("note INC-1 written while Slack was down")
    await asyncio.sleep(0.3)
    sim = bot.sim
    await bot.close()
    sim.faults.clear()
    again = await Harness.start(store_url, sim=sim)
    try:
        await again.settle()
        assert "Updates: written while Slack was down" in again.card(1)["text"]
        assert sum(":memo:" in t for t in again.said(1)) == 1
    finally:
        await again.close()


async def test_a_retry_that_cannot_look_for_its_earlier_attempt_still_posts(bot: Harness) -> None:
    await bot.command("open P1 checkout broken")
    await bot.settle()
    bot.sim.fail("chat.postMessage", status=500, times=1)
    bot.sim.fail("conversations.replies", status=200, error="missing_scope", times=1)
    await bot.command("note INC-1 still gets through")
    await bot.settle()
    assert [t for t in bot.said(1) if "still gets through" in t] == [":memo: <@U0ONCALL>: still gets through"]


async def test_a_post_whose_connection_drops_after_it_landed_is_posted_once(bot: Harness) -> None:
    # The connection is cut after Slack posted the message: whoever retries must look for it first
    # (the Web API client must not quietly send it again).
    await bot.command("open P1 checkout broken")
    await bot.settle()
    bot.sim.fail_after("chat.postMessage", drop=True)
    await bot.command("note INC-1 landed before the cut")
    await bot.settle()
    await asyncio.sleep(0.2)
    assert [t for t in bot.said(1) if "before the cut" in t] == [":memo: <@U0ONCALL>: landed before the cut"]
    assert "failed" not in await outbox_counts(bot)  # an uncertain send, looked for, not a failure
