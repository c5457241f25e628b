"""Real processes: SIGKILL mid-incident, two instances on one PostgreSQL, the store going away."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from bot.devtools import payloads
from bot.devtools.slack_sim import SlackSim
from tests.harness import Harness
from tests.processes import Served, ThreadedSim
from tests.tcpproxy import TcpProxy


def cards(sim: SlackSim) -> list[dict]:
    return [
        m
        for m in sim.messages["C0INCIDENT"].values()
        if any(str(b.get("block_id", "")).startswith("incident_card:") for b in m.get("blocks") or [])
    ]


def thread_of(sim: SlackSim, card: dict) -> list[str]:
    return [
        line
        for m in sim.thread("C0INCIDENT", card["ts"])
        if m.get("bot_id")
        for line in m["text"].split("\n")
    ]


def test_sigkill_mid_incident_loses_nothing_and_doubles_nothing(
    store_url: str, slack: ThreadedSim, tmp_path: Path
) -> None:
    first = Served(store_url, slack.sim, tmp_path).start()
    try:
        assert first.command("open P1 checkout broken", sim=slack.sim).status_code == 200
        first.wait_drained()
        # Slack turns slow: every post takes 0.4 s, so the outbox falls behind the acks.
        slack.run(lambda: slack.sim.fail("chat.postMessage", status=200, delay=0.4, times=1000))
        for i in range(6):
            assert first.command(f"note INC-1 step {i}", sim=slack.sim).status_code == 200
        time.sleep(0.5)  # some notes are out, one is mid-send, the rest wait
        first.kill()
    finally:
        first.stop()
    slack.run(slack.sim.faults.clear)
    second = Served(store_url, slack.sim, tmp_path).start()
    try:
        # The killed process's lock died with it: taken over at once. The note it had mid-send is looked
        # for in Slack after the in-doubt grace (a post Slack processes late may still land): 13 s.
        second.wait_drained(within=30)
        (card,) = slack.run(lambda: cards(slack.sim))
        notes = [t for t in slack.run(lambda: thread_of(slack.sim, card)) if ":memo:" in t]
        assert notes == [f":memo: <@U0ONCALL>: step {i}" for i in range(6)]
        assert "Updates: step 5" in card["text"]
    finally:
        second.stop()


def test_two_instances_share_one_postgres(pg_url: str, slack: ThreadedSim, tmp_path: Path) -> None:
    a = Served(pg_url, slack.sim, tmp_path).start()
    b = Served(pg_url, slack.sim, tmp_path).start()
    try:
        for i in range(20):
            target = a if i % 2 else b
            assert target.command(f"open P2 incident {i}", sim=slack.sim).status_code == 200
        # The same slash command (same trigger_id) and the same event reach both instances.
        for served in (a, b, a):
            served.command("open P3 delivered three times", sim=slack.sim, trigger_id="77.77.same")
        a.wait_drained()
        b.wait_drained()
        posted = slack.run(lambda: cards(slack.sim))
        numbers = sorted(int(c["text"].split("(INC-")[1].split(")")[0]) for c in posted)
        assert numbers == list(range(1, 22))  # 20 + the one delivered three times, no gaps, no duplicates
        (first_card,) = [c for c in posted if "(INC-1)" in c["text"]]
        msg = slack.run(
            lambda: slack.sim.post_human(
                "C0INCIDENT", "U0DANA", "<@U0OPSBOT> note from both", first_card["ts"]
            )
        )
        event = payloads.app_mention_event(
            channel="C0INCIDENT", user="U0DANA", text=msg["text"], ts=msg["ts"], thread_ts=first_card["ts"]
        )
        body = payloads.event_callback(event, event_id="EvShared1")
        for served in (a, b, a):
            assert served.post(body, "application/json").status_code == 200
        a.wait_drained()
        b.wait_drained()
        notes = [t for t in slack.run(lambda: thread_of(slack.sim, first_card)) if t.endswith(": from both")]
        assert len(notes) == 1
        sent = slack.run(lambda: [c for c in slack.sim.of("chat.postMessage")])
        ids = [i for c in sent for i in c.params["metadata"]["event_payload"]["outbox_ids"]]
        assert len(ids) == len(set(ids))  # no outbox item delivered twice
    finally:
        a.stop()
        b.stop()


@pytest.fixture
async def proxied(pg_url: str) -> AsyncIterator[tuple[str, TcpProxy]]:
    url = httpx.URL(pg_url)
    proxy = await TcpProxy(url.host, url.port or 5432).start()
    yield f"postgresql://postgres@127.0.0.1:{proxy.port}{url.path}", proxy
    await proxy.cut()


async def test_store_unreachable_then_back(proxied: tuple[str, TcpProxy]) -> None:
    url, proxy = proxied
    bot = await Harness.start(url)
    try:
        await bot.command("open P1 checkout broken")
        await bot.settle()
        await proxy.cut()
        started = time.monotonic()
        reply = await bot.command("note INC-1 while the store is gone")
        assert time.monotonic() - started < 3.0  # still inside Slack's ack window
        assert "cannot reach its state store" in reply["text"] and "nothing was recorded" in reply["text"]
        health = await bot.http.get(f"{bot.url}/healthz")
        assert health.status_code == 503 and health.json()["ok"] is False
        await proxy.restore()
        for _ in range(50):
            if (await bot.http.get(f"{bot.url}/healthz")).status_code == 200:
                break
            await asyncio.sleep(0.1)
        reply = await bot.command("note INC-1 store is back")
        assert reply["text"].startswith("Done")
        await bot.settle()
        notes = [t for t in bot.said(1) if ":memo:" in t]
        assert notes == [":memo: <@U0ONCALL>: store is back"]
    finally:
        await bot.close()
