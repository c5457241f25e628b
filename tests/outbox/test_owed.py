"""What a user was promised is owed through the store: a restart or a dead run only delays it."""

from __future__ import annotations

import asyncio

import pytest

from bot import runtime
from tests.fakes.services import FakeWeb
from tests.harness import Harness


def reports(bot: Harness, title: str) -> list[str]:
    return [
        str(c.params["text"]) for c in bot.sim.of("response_url") if str(c.params["text"]).startswith(title)
    ]


async def test_an_ops_report_promised_before_a_restart_is_sent_once_after_it(store_url: str) -> None:
    web = FakeWeb()
    web.set("shop.test", "/", "slow", delay=30, content_type="text/html")
    bot = await Harness.start(store_url, fake_web=web, probe_timeout_s=60)
    reply = await bot.command("status", command="/ops")
    assert "results follow" in reply["text"]
    await bot.runtime.outbox.wait_idle()
    await bot.close()  # the process stops while the probes run
    web.set("shop.test", "/", "ok", content_type="text/html")
    again = await Harness.start(store_url, sim=bot.sim, fake_web=web)
    try:
        await again.settle()
        (report,) = reports(again, "Health at a glance")
        assert "OK App shop.test" in report
    finally:
        await again.close()


async def test_diagnostics_left_running_are_resumed_without_a_restart(
    store_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(runtime, "RESUME_EVERY", 0.2)
    monkeypatch.setattr(runtime, "ABANDONED", 0.5)
    web = FakeWeb()
    web.set("shop.test", "/", "slow", delay=30, content_type="text/html")
    bot = await Harness.start(store_url, fake_web=web, probe_timeout_s=60)
    try:
        await bot.command("open P1 site down")
        await bot.runtime.outbox.wait_idle()
        await bot.runtime.deps.cancel_background()  # the run dies (a store blip raised inside it)
        web.set("shop.test", "/", "ok", content_type="text/html")
        for _ in range(200):
            thread = [m["text"] for m in bot.thread(1)]
            if any(t.startswith("Diagnostics") and "(finished" in t for t in thread):
                break
            await asyncio.sleep(0.05)
        await bot.settle()
        report = next(m["text"] for m in bot.thread(1) if m["text"].startswith("Diagnostics"))
        assert "(finished" in report and "OK App shop.test" in report
    finally:
        await bot.close()
