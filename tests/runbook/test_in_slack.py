"""Scenarios end to end: checklist and live diagnostics in the card's thread, the picker, and /ops."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator

import pytest

from bot.store import repo
from tests.fakes.services import FakeStripe, FakeWeb, statuspage_summary, stripe_current
from tests.harness import Harness


@pytest.fixture
async def stripe() -> AsyncIterator[FakeStripe]:
    server = await FakeStripe().start()
    yield server
    await server.stop()


@pytest.fixture
async def ops_bot(store_url: str, stripe: FakeStripe) -> AsyncIterator[Harness]:
    bot = await Harness.start(store_url, stripe_url=stripe.url)
    try:
        yield bot
    finally:
        await bot.close()
    assert bot.sim.problems == []


def thread_texts(bot: Harness, number: int) -> list[str]:
    return [m["text"] for m in bot.thread(number)]


async def test_declare_routes_to_scenario_and_posts_checklist_and_diagnostics(
    ops_bot: Harness, stripe: FakeStripe
) -> None:
    stripe.webhooks.append(stripe.webhook("disabled"))
    ops_bot.web.set("stripestatus.test", "/current", stripe_current("degraded", api="degraded"))
    await ops_bot.command("open P1 stripe webhooks failing")
    await ops_bot.settle()
    assert "Scenario:* payments" in json.dumps(ops_bot.card(1)["blocks"])
    texts = thread_texts(ops_bot, 1)
    assert texts[0].startswith("Runbook: Payment processing failures")
    report = texts[1]
    assert report.startswith("Diagnostics: Payment processing failures (finished")
    assert "FAIL Stripe webhooks: 1/2 enabled - 1 endpoint(s) disabled" in report
    assert "WARN Stripe status: degraded" in report
    assert "OK Stripe failed charges (15 min): 0.0%" in report
    assert "running" not in report
    updates = [c for c in ops_bot.sim.of("chat.update") if "Diagnostics" in c.params.get("text", "")]
    assert len(updates) >= 1  # filled in as checks finish (coalesced when they finish together)
    async with ops_bot.runtime.store.transaction() as tx:
        kinds = [e.kind for e in await repo.timeline(tx, 1)]
    assert "diagnostics" in kinds


async def test_checklist_checkboxes_are_remembered_for_everyone(ops_bot: Harness) -> None:
    await ops_bot.command("open P1 checkout broken")
    await ops_bot.settle()
    checklist = next(m for m in ops_bot.thread(1) if m["text"].startswith("Runbook:"))
    section = next(
        b for b in checklist["blocks"] if str(b.get("block_id")).startswith("checklist:1:investigation")
    )
    from bot.devtools import payloads as p

    async def tick(value: str, user: str) -> None:
        current = next(m for m in ops_bot.thread(1) if m["text"].startswith("Runbook:"))
        block = next(
            b for b in current["blocks"] if str(b.get("block_id")).startswith("checklist:1:investigation")
        )
        element = p.toggled(block["accessory"], value)
        body = p.block_action(
            action=element,
            block_id=block["block_id"],
            user=user,
            channel="C0INCIDENT",
            message_ts=current["ts"],
            response_url=ops_bot.sim.response_url(user),
        )
        assert (await ops_bot.post(body, "application/x-www-form-urlencoded")).status_code == 200
        await ops_bot.settle()

    assert section["accessory"].get("initial_options") is None
    await tick("i1", "U0DANA")
    await tick("i3", "U0ALEX")
    await tick("i1", "U0ALEX")  # unticked again
    current = next(m for m in ops_bot.thread(1) if m["text"].startswith("Runbook:"))
    assert "[ ] Check Stripe status" in current["text"] and "[x] Check orders that failed" in current["text"]
    async with ops_bot.runtime.store.transaction() as tx:
        assert await repo.checked_items(tx, 1) == {"i3": "U0ALEX"}
        events = [e.text for e in await repo.timeline(tx, 1) if e.kind == "checklist"]
    assert events == [
        "checked: Check Stripe status",
        "checked: Check orders that failed in the last hour",
        "unchecked: Check Stripe status",
    ]


async def test_a_tick_from_an_older_view_changes_only_its_own_box(ops_bot: Harness) -> None:
    from bot.devtools import payloads as p

    await ops_bot.command("open P1 checkout broken")
    await ops_bot.settle()

    def view() -> tuple[dict, dict]:
        message = next(m for m in ops_bot.thread(1) if m["text"].startswith("Runbook:"))
        block = next(
            b for b in message["blocks"] if str(b.get("block_id")).startswith("checklist:1:investigation")
        )
        return message, block

    async def tick(seen: tuple[dict, dict], value: str, user: str) -> None:
        message, block = seen
        body = p.block_action(
            action=p.toggled(block["accessory"], value),
            block_id=block["block_id"],
            user=user,
            channel="C0INCIDENT",
            message_ts=message["ts"],
            response_url=ops_bot.sim.response_url(user),
        )
        assert (await ops_bot.post(body, "application/x-www-form-urlencoded")).status_code == 200
        await ops_bot.settle()

    bobs_view = view()  # Bob's client has not redrawn yet
    await tick(view(), "i1", "U0ALICE")
    await tick(bobs_view, "i2", "U0BOB")
    async with ops_bot.runtime.store.transaction() as tx:
        assert await repo.checked_items(tx, 1) == {"i1": "U0ALICE", "i2": "U0BOB"}
        events = [(e.actor, e.text) for e in await repo.timeline(tx, 1) if e.kind == "checklist"]
    assert [actor for actor, _ in events] == ["U0ALICE", "U0BOB"]
    assert not any(text.startswith("unchecked") for _, text in events)
    alices_view = view()  # redrawn with both ticks; Alice unticks hers, Bob's stays
    await tick(alices_view, "i1", "U0ALICE")
    async with ops_bot.runtime.store.transaction() as tx:
        assert await repo.checked_items(tx, 1) == {"i2": "U0BOB"}


async def test_unmatched_title_gets_general_checklist_and_a_picker(ops_bot: Harness) -> None:
    await ops_bot.command("open P2 something odd with the banner")
    await ops_bot.settle()
    texts = thread_texts(ops_bot, 1)
    assert texts[0].startswith("No runbook scenario matched")
    assert texts[1].startswith("Runbook: General incident")
    picker = ops_bot.thread(1)[0]
    select = picker["blocks"][0]["accessory"]
    option = next(o for o in select["options"] if o["value"] == "1:database")
    from bot.devtools import payloads as p

    body = p.block_action(
        action={**select, "selected_option": option},
        block_id=picker["blocks"][0]["block_id"],
        user="U0DANA",
        channel="C0INCIDENT",
        message_ts=picker["ts"],
        response_url=ops_bot.sim.response_url("U0DANA"),
    )
    assert (await ops_bot.post(body, "application/x-www-form-urlencoded")).status_code == 200
    await ops_bot.settle()
    texts = thread_texts(ops_bot, 1)
    assert texts[0].startswith(":books: Runbook scenario: *Database connection errors* (chosen by <@U0DANA>)")
    assert any(t.startswith("Runbook: Database connection errors") for t in texts)
    assert any(t.startswith("Diagnostics: Database connection errors (finished") for t in texts)
    assert "Scenario:* database" in json.dumps(ops_bot.card(1)["blocks"])


async def test_ops_status_acks_at_once_then_reports_failures_first(
    ops_bot: Harness, stripe: FakeStripe
) -> None:
    ops_bot.web.set(
        "supabasestatus.test",
        "/api/v2/summary.json",
        statuspage_summary("major", {"Database": "major_outage"}),
    )
    ops_bot.web.set(
        "githubstatus.test", "/api/v2/summary.json", "<html>oops</html>", content_type="text/html"
    )
    ack = await ops_bot.command("status", command="/ops")
    assert ack["response_type"] == "ephemeral" and "Running" in ack["text"]
    await ops_bot.settle()
    (reply,) = [c.params for c in ops_bot.sim.of("response_url")]
    assert reply["response_type"] == "ephemeral"
    lines = reply["text"].splitlines()
    assert lines[0].startswith("Health at a glance: ")
    assert lines[1].startswith("FAIL Supabase status")
    states = [line.split()[0] for line in lines[1:] if not line.startswith("    ")]
    order = ["FAIL", "WARN", "UNKNOWN", "OK", "NOT"]
    assert states == sorted(states, key=order.index)
    assert "UNKNOWN GitHub status" in reply["text"]


async def test_ops_public_check_db_deploys_and_help(ops_bot: Harness) -> None:
    await ops_bot.command("check payments public", command="/ops")
    await ops_bot.command("deploys", command="/ops")
    await ops_bot.command("db long-queries 0", command="/ops")
    await ops_bot.settle()
    replies = [c.params for c in ops_bot.sim.of("response_url")]
    check = next(r for r in replies if r["text"].startswith("Diagnostics: Payment processing failures"))
    assert check["response_type"] == "in_channel"
    deploys = next(r for r in replies if r["text"].startswith("Recent deploys"))
    assert "Change 0" in json.dumps(deploys["blocks"])
    db = next(r for r in replies if r["text"].startswith("Database: long-queries"))
    assert "NOT CONFIGURED" in db["text"] and "OPS_DATABASE_URL" in db["text"]
    help_reply = await ops_bot.command("help", command="/ops")
    assert "/ops check <scenario>" in help_reply["text"] and "payments" in help_reply["text"]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("bogus", "is not an ops command"),
        ("check nonsense", "is not a scenario. Scenarios: security, performance, auth"),
        ("check", "Name a scenario"),
        ("db", "Name a database report"),
        ("db vacuum", "is not a database report"),
        ("db long-queries soon", "is not a number of minutes"),
        ("status now", "takes no arguments"),
        # str.isdigit() admits superscripts that int() refuses: a usage answer, never a crash
        ("db cancel ²", "`²` is not a backend pid"),
        ("audit ²", "`²` is not a number from 1 to 50"),
        # what the user typed is echoed escaped once: a broadcast stays inert
        ("check <!channel>", "`&lt;!channel&gt;` is not a scenario"),
        ("db <!here|x>", "`&lt;!here|x&gt;` is not a database report"),
        ("<!everyone>", "`&lt;!everyone&gt;` is not an ops command"),
    ],
)
async def test_ops_bad_input_lists_valid_ones(ops_bot: Harness, text: str, expected: str) -> None:
    reply = await ops_bot.command(text, command="/ops")
    assert (
        reply["response_type"] == "ephemeral"
        and expected in reply["text"]
        and "Usage: `/ops" in reply["text"]
    )
    await ops_bot.settle()
    assert ops_bot.sim.of("response_url") == []


async def test_ops_db_reports_on_a_real_database(store_url: str, pg_url: str) -> None:
    bot = await Harness.start(store_url, ops_database_url=pg_url)
    try:
        await bot.command("db connections", command="/ops")
        await bot.command("db cache", command="/ops")
        await bot.settle()
        texts = [c.params["text"] for c in bot.sim.of("response_url")]
        assert any(t.startswith("Database: connections") and "OK DB connections" in t for t in texts)
        assert any(t.startswith("Database: cache") for t in texts)
    finally:
        await bot.close()


async def test_diagnostics_resume_after_restart(store_url: str) -> None:
    web = FakeWeb()
    web.set("shop.test", "/", "slow", delay=30, content_type="text/html")
    bot = await Harness.start(store_url, fake_web=web, probe_timeout_s=60)
    await bot.command("open P1 site down")
    await bot.runtime.outbox.wait_idle()
    await bot.close()  # the process stops with the app check still running
    web.set("shop.test", "/", "ok", content_type="text/html")
    again = await Harness.start(store_url, sim=bot.sim, fake_web=web)
    try:
        await again.settle()
        report = next(t for t in thread_texts(again, 1) if t.startswith("Diagnostics"))
        assert "(finished" in report and "OK App shop.test" in report
    finally:
        await again.close()
