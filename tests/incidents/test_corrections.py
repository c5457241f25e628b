"""Corrections and forgiving input, end to end: signed requests over HTTP, both stores, the Slack stand-in."""

from __future__ import annotations

import json

from bot.devtools import payloads as p
from bot.store import repo
from tests.harness import Harness


async def declare(bot: Harness, text: str = "P1 checkout broken") -> None:
    await bot.command(f"open {text}")
    await bot.settle()


async def events(bot: Harness, number: int = 1) -> list[tuple[str, str]]:
    async with bot.runtime.store.transaction() as tx:
        return [(e.kind, e.text) for e in await repo.timeline(tx, number)]


async def test_a_step_back_with_a_reason_and_reopen_clears_eta_and_updates(bot: Harness) -> None:
    await declare(bot)
    await bot.command("update INC-1 mitigated rolled back")
    await bot.command("eta INC-1 10 min")
    reply = await bot.command("update INC-1 identified")
    assert "needs a reason" in reply["text"]
    reply = await bot.command("update INC-1 identified errors came back after the deploy")
    assert "Done" in reply["text"]
    await bot.settle()
    assert "Status: Identified" in bot.card(1)["text"]
    assert "Monitoring → *Identified* (back): errors came back after the deploy" in bot.said(1)[-1]
    async with bot.runtime.store.transaction() as tx:
        inc = await repo.get_incident(tx, 1)
    assert inc is not None and "monitoring" in inc.status_times  # time to mitigate keeps the first

    await bot.command("update INC-1 fixed")
    await bot.command("reopen INC-1 errors are back")
    await bot.settle()
    card = bot.card(1)["text"]
    assert "Status: Investigating" in card and "ETA: Unknown" in card and "Updates: errors are back" in card
    assert "reopened *INC-1*: errors are back" in bot.said(1)[-1]


async def test_severity_words_status_synonyms_and_ack(bot: Harness) -> None:
    await declare(bot, "high checkout broken")
    assert "Severity: P1" in bot.card(1)["text"]
    await bot.command("severity INC-1 critical")
    await bot.command("ack INC-1")
    await bot.command("update INC-1 mitigated")
    await bot.say_in_thread(1, "closed all good", mention=True)
    card = bot.card(1)["text"]
    assert "Severity: P0" in card and "Status: Resolved" in card
    said = "\n".join(bot.said(1))
    assert "acknowledged *INC-1*" in said and "*Monitoring*" in said and "resolved *INC-1*" in said
    async with bot.runtime.store.transaction() as tx:
        inc = await repo.get_incident(tx, 1)
    assert inc is not None and inc.acknowledged_at is not None


async def test_near_miss_gets_did_you_mean_and_changes_nothing(bot: Harness) -> None:
    await declare(bot)
    reply = await bot.command("updte INC-1 identified")
    assert "Did you mean `update`?" in reply["text"]
    await bot.settle()
    assert "Status: Investigating" in bot.card(1)["text"]


async def test_long_title_is_shortened_on_the_card_and_kept_whole(bot: Harness) -> None:
    line = "ERROR psycopg.OperationalError: connection to server failed: " + "x" * 400 + " END"
    await declare(bot, f"P2 {line}")
    card = bot.card(1)
    assert "END" not in card["text"] and "…" in card["text"]
    assert (("declared", f"declared P2: {line}")) in await events(bot)
    shown = await bot.command("show INC-1")
    assert "END" in json.dumps(shown["blocks"])  # the full title, privately


async def test_resolving_p0_or_p1_from_a_button_asks_first(bot: Harness) -> None:
    await declare(bot, "P0 site down")
    await declare(bot, "P2 banner wrong")
    buttons = {
        n: {
            e["text"]["text"]: e
            for b in bot.card(n)["blocks"]
            if b["type"] == "actions"
            for e in b["elements"]
        }
        for n in (1, 2)
    }
    assert buttons[1]["Resolved"]["confirm"]["confirm"]["text"] == "Resolve"
    assert "confirm" not in buttons[2]["Resolved"]
    assert "confirm" not in buttons[1]["Identified"]


async def test_timeline_takes_earlier_events_in_time_order(bot: Harness) -> None:
    await declare(bot)
    await bot.command("note INC-1 looking")
    reply = await bot.command("timeline INC-1 25m ago deploy of v2026.11.3")
    assert "added to the timeline" in reply["text"]
    bad = await bot.command("timeline INC-1 tomorrow deploy")
    assert "is not a time" in bad["text"]
    kinds = [k for k, _ in await events(bot) if k != "diagnostics"]
    assert kinds == ["earlier", "declared", "note"]
    await bot.settle()
    assert "added to the timeline at <!date^" in bot.said(1)[-1]


async def test_show_pages_the_whole_timeline_from_the_declaration(bot: Harness) -> None:
    await declare(bot)
    for i in range(45):
        await bot.command(f"note INC-1 step {i}")
    first = json.dumps((await bot.command("show INC-1"))["blocks"])
    assert "47 events, page 1 of 2; next: `/incident show INC-1 2`" in first  # with the diagnostics
    assert "declared P1: checkout broken" in first and "step 39" not in first
    second = json.dumps((await bot.command("show INC-1 2"))["blocks"])
    assert "page 2 of 2" in second and "step 44" in second and "declared P1" not in second


async def test_thread_commands_are_recorded_once_by_their_effect(bot: Harness) -> None:
    await declare(bot)
    await bot.say_in_thread(1, "note rolled back to v41", mention=True)
    await bot.say_in_thread(1, "show", mention=True)
    await bot.say_in_thread(1, "dance", mention=True)
    await bot.say_in_thread(1, "I think it is the deploy")
    recorded = await events(bot)
    assert [k for k, _ in recorded].count("note") == 1
    assert [t for k, t in recorded if k == "message"] == ["I think it is the deploy"]


async def test_scenario_command_reroutes_and_keeps_old_ticks_on_the_timeline(bot: Harness) -> None:
    await declare(bot)
    checklist = next(m for m in bot.thread(1) if m["text"].startswith("Runbook: Checkout"))
    block = next(
        b for b in checklist["blocks"] if b.get("block_id", "").startswith("checklist:1:investigation")
    )
    channel, _ = await bot.card_ref(1)

    async def tick(msg: dict, blk: dict, value: str, trigger: str) -> int:
        body = p.block_action(
            action=p.toggled(blk["accessory"], value),
            block_id=blk["block_id"],
            user="U0ONCALL",
            channel=channel,
            message_ts=msg["ts"],
            response_url=bot.sim.response_url("U0ONCALL"),
            trigger_id=trigger,
        )
        return (await bot.post(body, "application/x-www-form-urlencoded")).status_code

    assert await tick(checklist, block, block["accessory"]["options"][0]["value"], "t1") == 200
    await bot.settle()
    reply = await bot.command("scenario INC-1 paymnts")
    assert "switched *INC-1* to the *Payment processing" in reply["text"]
    await bot.settle()
    texts = [m["text"] for m in bot.thread(1)]
    assert any(t.startswith("Runbook: Payment") for t in texts)
    assert any(t.startswith("Diagnostics: Payment") for t in texts)
    recorded = await events(bot)
    assert any(k == "checklist" and "set aside the Checkout" in t and "1 ticked" in t for k, t in recorded)
    assert "Scenario:* payments" in json.dumps(bot.card(1)["blocks"])
    # the old checklist no longer ticks the new one
    old = next(m for m in bot.thread(1) if m["ts"] == checklist["ts"])
    old_block = next(
        b for b in old["blocks"] if b.get("block_id", "").startswith("checklist:1:investigation")
    )
    assert await tick(old, old_block, old_block["accessory"]["options"][1]["value"], "t2") == 200
    await bot.settle()  # the refusal is owed through the outbox
    assert any("earlier Checkout" in r for r in bot.private_replies())


async def test_wrong_runbook_menu_on_the_checklist_reroutes(bot: Harness) -> None:
    await declare(bot)
    checklist = next(m for m in bot.thread(1) if m["text"].startswith("Runbook: Checkout"))
    menu_block = next(b for b in checklist["blocks"] if b.get("block_id") == "reroute:1")
    menu = menu_block["elements"][0]
    assert menu["placeholder"]["text"].startswith("Wrong runbook?")
    option = next(o for o in menu["options"] if o["value"] == "1:database")
    channel, _ = await bot.card_ref(1)
    body = p.block_action(
        action={**menu, "selected_option": option},
        block_id=menu_block["block_id"],
        user="U0DANA",
        channel=channel,
        message_ts=checklist["ts"],
        response_url=bot.sim.response_url("U0DANA"),
    )
    assert (await bot.post(body, "application/x-www-form-urlencoded")).status_code == 200
    await bot.settle()
    texts = [m["text"] for m in bot.thread(1)]
    assert any(t.startswith("Runbook: Database") for t in texts)
    assert "Scenario:* database" in json.dumps(bot.card(1)["blocks"])
