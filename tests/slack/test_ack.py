"""No Slack call before the ack, and every event Slack can send is acked."""

from __future__ import annotations

import asyncio
import json
import time

from bot.devtools import payloads
from bot.devtools.slack_sim import BOT_USER
from tests.harness import Harness


async def _declare(bot: Harness) -> None:
    await bot.command("open P2 checkout slow")
    await bot.settle()


async def test_mentions_are_acked_at_once_when_slack_is_slow_and_answered_once(bot: Harness) -> None:
    await _declare(bot)
    bot.sim.fail("chat.postEphemeral", status=200, times=1, delay=3.0)
    channel, thread_ts = await bot.card_ref(1)
    acks = []
    for text in ("show", "dance"):  # a private answer, and an error answered privately
        said = f"<@{BOT_USER}> {text}"
        msg = bot.sim.post_human(channel, "U0ONCALL", said, thread_ts)
        event = payloads.app_mention_event(
            channel=channel, user="U0ONCALL", text=said, ts=msg["ts"], thread_ts=thread_ts
        )
        started = time.monotonic()
        await bot.event(event)
        acks.append(time.monotonic() - started)
    outside = bot.sim.post_human(channel, "U0ONCALL", f"<@{BOT_USER}> show")
    started = time.monotonic()
    await bot.event(
        payloads.app_mention_event(channel=channel, user="U0ONCALL", text=outside["text"], ts=outside["ts"])
    )
    acks.append(time.monotonic() - started)
    assert max(acks) < 1.5, acks
    await bot.settle()
    ephemerals = bot.ephemerals()
    assert len(ephemerals) == 3
    assert any("not something I can do" in e for e in ephemerals)
    assert any("Mention me in an incident card's thread" in e for e in ephemerals)


async def test_a_stale_click_is_acked_at_once_and_its_notice_survives_a_429(bot: Harness) -> None:
    await _declare(bot)
    old_card = bot.card(1)
    await bot.command("update INC-1 identified")
    await bot.settle()
    bot.sim.fail("response_url", status=429, times=1, retry_after=0)
    bot.sim.fail("response_url", status=200, times=1, delay=3.0)
    before = len(bot.private_replies())
    started = time.monotonic()
    response = await bot.press(1, "incident_status_monitoring", card=old_card)
    assert response.status_code == 200 and time.monotonic() - started < 1.5
    await bot.settle()
    notices = [r for r in bot.private_replies()[before:] if "changed before your click landed" in r]
    assert len(notices) == 1


async def test_every_event_slack_can_send_is_acked(bot: Harness) -> None:
    for event in (
        {"type": "reaction_added", "user": "U0ONCALL", "reaction": "eyes", "event_ts": "1.0"},
        {"type": "channel_rename", "channel": {"id": "C0INCIDENT", "name": "x"}, "event_ts": "1.0"},
        {"type": "member_joined_channel", "user": "U0X", "channel": "C0INCIDENT", "event_ts": "1.0"},
        {"type": "app_home_opened", "user": "U0ONCALL", "channel": "D0X", "event_ts": "1.0"},
    ):
        await bot.event(event)  # asserts 200
    limited = json.dumps(
        {
            "token": "legacy-verification-token",
            "type": "app_rate_limited",
            "team_id": "T0OPSBOT",
            "minute_rate_limited": 1518467820,
            "api_app_id": payloads.APP_ID,
        }
    )
    response = await bot.post(limited, "application/json")
    assert response.status_code == 200


async def test_revoked_tokens_stop_delivery_and_keep_the_items(bot: Harness) -> None:
    await _declare(bot)
    await bot.event({"type": "tokens_revoked", "tokens": {"oauth": [], "bot": [BOT_USER]}, "event_ts": "1.0"})
    await bot.event({"type": "app_uninstalled", "event_ts": "1.0"})
    assert bot.runtime.deps.delivery_stopped is not None
    assert "tokens_revoked" in bot.runtime.deps.delivery_stopped
    posts = len(bot.sim.of("chat.postMessage"))
    await bot.command("note INC-1 still slow")
    bot.runtime.outbox.notify()
    await asyncio.sleep(0.5)
    assert len(bot.sim.of("chat.postMessage")) == posts
    async with bot.runtime.store.transaction() as tx:
        rows = await tx.fetchall("SELECT state FROM outbox WHERE state = 'pending'")
    assert rows  # kept, for a restart with a working token
