"""The monitoring watch: the scenario's diagnostics re-run every few minutes for 30 minutes, one report
edited in the thread, a regression said loudly, all green suggests resolving."""

from __future__ import annotations

from bot.clock import rules
from tests.harness import FakeClock, Harness

EVERY = 5 * 60.0


def reports(bot: Harness, number: int) -> list[dict[str, object]]:
    return [m for m in bot.thread(number) if "Monitoring watch for" in str(m["text"])]


async def test_watch_rounds_edit_one_report_regression_loud_green_suggests_resolve(
    timed: Harness, clock: FakeClock
) -> None:
    await timed.command("open P2 site down 500 errors")
    await timed.command("update INC-1 monitoring rolled back")
    await timed.settle()
    [report] = reports(timed, 1)
    assert "round 0 of 6" in str(report["text"])

    clock.advance(EVERY)
    await timed.fire_due()
    [report] = reports(timed, 1)
    assert "round 1 of 6" in str(report["text"]) and "All green" in str(report["text"])

    timed.web.set("shop.test", "/", "<html>oops</html>", status=500, content_type="text/html")
    clock.advance(EVERY)
    await timed.fire_due()
    [report] = reports(timed, 1)  # still one report, edited
    assert "round 2 of 6" in str(report["text"]) and "Regression" in str(report["text"])
    loud = [
        c for c in timed.sim.of("chat.postMessage") if "Regression while monitoring INC-1" in c.params["text"]
    ]
    assert len(loud) == 1 and str(loud[0].params.get("reply_broadcast")).lower() in ("1", "true")
    assert "*Regression while monitoring INC-1*: App shop.test OK → FAIL." in loud[0].params["text"]

    timed.web.set("shop.test", "/", "<html>shop</html>", content_type="text/html")
    for _ in range(4):
        clock.advance(EVERY)
        await timed.fire_due()
    [report] = reports(timed, 1)
    assert "finished" in str(report["text"])
    assert any(
        "all green at the end of 30m of monitoring" in line and "/incident resolve INC-1" in line
        for line in timed.said(1)
    )
    clock.advance(EVERY)
    await timed.fire_due()
    async with timed.runtime.store.transaction() as tx:
        assert await tx.fetchone("SELECT id FROM timers WHERE kind = ?", (rules.WATCH,)) is None


async def test_leaving_monitoring_stops_the_watch(timed: Harness, clock: FakeClock) -> None:
    await timed.command("open P2 site down")
    await timed.command("update INC-1 monitoring")
    await timed.command("resolve INC-1")
    await timed.settle()
    clock.advance(EVERY)
    await timed.fire_due()
    [report] = reports(timed, 1)
    assert "round 0" in str(report["text"])  # no round ran
    async with timed.runtime.store.transaction() as tx:
        assert await tx.fetchone("SELECT id FROM timers WHERE kind = ?", (rules.WATCH,)) is None
