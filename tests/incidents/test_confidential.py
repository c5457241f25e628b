"""Confidential incidents end to end: re-routed to security after the card went public, the public card
becomes a stub and the incident continues in the private security channel; nothing more reaches the
public thread; show and postmortem answer privately outside that channel; never published. And the
fail-safe: a security channel that is public (or unknown) keeps every confidential detail out of Slack
and /readyz says why, until Slack says it is private."""

from __future__ import annotations

import asyncio
import json
import logging
import time

import pytest

from bot.access.security import RECHECK_SAFE
from bot.devtools import payloads
from bot.devtools.slack_sim import SlackSim
from bot.store import repo
from tests.clock.conftest import start_timed
from tests.fakes.pagerduty import FakePagerDuty
from tests.fakes.slack_spec import check_call
from tests.harness import FakeClock, Harness

SECRET_WORDS = ("customer table", "rotated the api keys", "Runbook: Security incident", "became confidential")


def channel_text(bot: Harness, channel: str) -> str:
    return json.dumps(list(bot.sim.messages[channel].values()))


async def card_refs(bot: Harness, number: int) -> tuple[tuple[str, str] | None, tuple[str, str] | None]:
    async with bot.runtime.store.transaction() as tx:
        return await repo.get_ref(tx, f"card:{number}"), await repo.get_ref(tx, f"card-public:{number}")


async def test_rerouted_to_security_the_card_goes_private_and_the_public_one_becomes_a_stub(
    sec_bot: Harness,
) -> None:
    await sec_bot.command("open P2 checkout totals wrong for some customers")
    await sec_bot.settle()
    public_ts = (await sec_bot.card_ref(1))[1]
    await sec_bot.command("note INC-1 the customer table was copied to an unknown host")
    await sec_bot.command("scenario INC-1 security")
    await sec_bot.settle()

    card, public = await card_refs(sec_bot, 1)
    assert card is not None and card[0] == "G0SECURITY" and public == ("C0INCIDENT", public_ts)
    stub = sec_bot.sim.messages["C0INCIDENT"][public_ts]
    assert stub["text"] == ":lock: INC-1 is confidential; it is handled in a private channel."
    assert "checkout" not in json.dumps(stub)
    secure = sec_bot.card(1)
    assert "checkout totals wrong" in secure["text"] and secure["ts"] == card[1]
    said = "\n".join(sec_bot.said(1))
    assert "Runbook: Security incident" in said and "became confidential" in said

    await sec_bot.command("update INC-1 identified rotated the api keys")
    await sec_bot.settle()
    assert "rotated the api keys" in "\n".join(sec_bot.said(1))
    public_text = channel_text(sec_bot, "C0INCIDENT")
    assert not [w for w in SECRET_WORDS if w in public_text]  # the move's own lines never went public
    assert "customer table" not in public_text  # the note said with the re-route was withheld too
    async with sec_bot.runtime.store.transaction() as tx:
        held = await tx.fetchall("SELECT state, last_error FROM outbox WHERE state IN ('withheld', 'failed')")
    assert held and all(r["state"] == "withheld" for r in held), "withheld on purpose, not a failure"

    # Looking from outside: a private answer, no details; from the security channel: the record.
    outside = await sec_bot.command("show INC-1")
    assert "confidential" in outside["text"] and "<#G0SECURITY>" in outside["text"]
    assert "checkout" not in json.dumps(outside)
    inside = await sec_bot.command("show INC-1", channel="G0SECURITY")
    assert "checkout totals wrong" in json.dumps(inside)
    listed = await sec_bot.command("list")
    assert "checkout" not in json.dumps(listed) and "confidential" in listed["text"]
    refused = await sec_bot.command("publish INC-1 We are looking into an issue.")
    assert "never published" in refused["text"]

    await sec_bot.command("resolve INC-1 contained", channel="G0SECURITY")
    outside = await sec_bot.command("postmortem INC-1")
    assert "confidential" in outside["text"]
    await sec_bot.settle()
    assert sec_bot.sim.of("files.completeUploadExternal") == []
    await sec_bot.command("postmortem INC-1", channel="G0SECURITY")
    await sec_bot.settle()
    uploads = sec_bot.sim.of("files.completeUploadExternal")
    assert len(uploads) == 1 and uploads[0].params["channel_id"] == "G0SECURITY"


async def test_an_update_revealing_a_breach_moves_the_incident_and_stays_out_of_public(
    sec_bot: Harness,
) -> None:
    await sec_bot.command("open P3 odd exports")
    await sec_bot.settle()
    await sec_bot.command("note INC-1 data breach suspected, the customer table left the building")
    await sec_bot.settle()
    assert (await card_refs(sec_bot, 1))[0] == ((await sec_bot.card_ref(1))[0], sec_bot.card(1)["ts"])
    assert (await sec_bot.card_ref(1))[0] == "G0SECURITY"
    # (The first checklist's "Wrong runbook?" menu describes every scenario, so read the texts.)
    public_text = "\n".join(m["text"] for m in sec_bot.sim.messages["C0INCIDENT"].values())
    assert (
        "breach" not in public_text
        and "customer table" not in public_text
        and "odd exports" not in public_text
    )
    said = "\n".join(sec_bot.said(1))
    assert "needs you" in said and "escalate immediately" in said  # escalated, in the private thread


async def test_a_public_security_channel_keeps_everything_out_until_it_is_private(
    store_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    sim = await SlackSim(validator=check_call).start()
    channel = sim.add_channel("C0SECURITY", "security-incidents", is_private=False)
    with caplog.at_level(logging.ERROR, logger="opsbot.security"):
        bot = await Harness.start(store_url, sim=sim, security_channel="#security-incidents")
    try:
        assert any("PUBLIC" in r.getMessage() and "stub" in r.getMessage() for r in caplog.records)
        ready = await bot.http.get(f"{bot.url}/readyz")
        assert ready.status_code == 503
        check = next(c for c in ready.json()["checks"] if c["name"] == "security_channel")
        assert not check["ok"] and "PUBLIC" in check["detail"]

        await bot.command("open P1 leaked key for the billing database")
        await bot.settle()
        everything = json.dumps(sim.messages)
        assert "leaked key" not in everything and "billing" not in everything
        assert "INC-1 is confidential" in channel_text(bot, "C0SECURITY")

        channel.is_private = True  # fixed: made private
        assert await bot.runtime.deps.security.check()
        ready = await bot.http.get(f"{bot.url}/readyz")
        assert ready.status_code == 200
        await bot.command("note INC-1 billing keys rotated")  # the card is edited: now in full
        await bot.settle()
        assert "leaked key for the billing database" in channel_text(bot, "C0SECURITY")
    finally:
        await bot.close()
    assert bot.sim.problems == []


async def test_a_private_channel_made_public_later_is_noticed_at_the_next_recheck(sec_bot: Harness) -> None:
    security = sec_bot.runtime.deps.security
    assert security.safe
    sec_bot.sim.channels["G0SECURITY"].is_private = False  # someone converts it to a public channel
    await security.check_if_due()
    assert security.safe  # asked a moment ago: not yet
    now = time.monotonic() + RECHECK_SAFE + 1
    security.clock = lambda: now
    ready = await sec_bot.http.get(f"{sec_bot.url}/readyz")
    assert ready.status_code == 503 and not security.safe
    check = next(c for c in ready.json()["checks"] if c["name"] == "security_channel")
    assert "PUBLIC" in check["detail"]
    await sec_bot.command("open P1 leaked key for the payroll export")
    await sec_bot.settle()
    assert "payroll" not in json.dumps(sec_bot.sim.messages)


async def test_a_security_channel_nobody_can_find_is_not_ready(store_url: str) -> None:
    bot = await Harness.start(store_url, security_channel="#no-such-channel")
    try:
        ready = await bot.http.get(f"{bot.url}/readyz")
        assert ready.status_code == 503
        check = next(c for c in ready.json()["checks"] if c["name"] == "security_channel")
        assert "not found" in check["detail"]
        reply = await bot.command("open P2 compromised account on the admin panel")
        assert reply["text"].startswith("Declared")
        await asyncio.sleep(0.5)  # the card waits for a channel that can be found; nothing goes public
        assert "admin panel" not in json.dumps(bot.sim.messages)
    finally:
        await bot.close()


async def test_the_wrong_runbook_menu_moves_it_too(sec_bot: Harness) -> None:
    await sec_bot.command("open P2 chekout broken for some customers")
    await sec_bot.settle()
    public_ts = (await sec_bot.card_ref(1))[1]
    checklist = next(m for m in sec_bot.thread(1) if m["text"].startswith("Runbook: Checkout"))
    menu_block = next(b for b in checklist["blocks"] if b.get("block_id") == "reroute:1")
    menu = menu_block["elements"][0]
    option = next(o for o in menu["options"] if o["value"] == "1:security")
    body = payloads.block_action(
        action={**menu, "selected_option": option},
        block_id=menu_block["block_id"],
        user="U0DANA",
        channel="C0INCIDENT",
        message_ts=checklist["ts"],
        response_url=sec_bot.sim.response_url("U0DANA"),
    )
    assert (await sec_bot.post(body, "application/x-www-form-urlencoded")).status_code == 200
    await sec_bot.settle()
    assert (await sec_bot.card_ref(1))[0] == "G0SECURITY"
    assert "chekout" not in json.dumps(sec_bot.sim.messages["C0INCIDENT"][public_ts])
    assert any(m["text"].startswith("Runbook: Security incident") for m in sec_bot.thread(1))
    public_texts = "\n".join(m["text"] for m in sec_bot.sim.messages["C0INCIDENT"].values())
    assert "Runbook: Security incident" not in public_texts and "became confidential" not in public_texts


async def test_a_monitoring_watch_report_left_in_the_public_thread_is_not_edited_after_the_move(
    store_url: str,
) -> None:
    clock = FakeClock()
    pd = await FakePagerDuty().start()
    sim = await SlackSim(validator=check_call, clock=clock).start()
    sim.add_channel("G0SECURITY", "security-incidents", is_private=True)
    bot = await start_timed(store_url, pd=pd, clock=clock, sim=sim, security_channel="#security-incidents")
    try:
        await bot.command("open P2 site down 500 errors")
        await bot.command("update INC-1 monitoring rolled back")
        await bot.settle()
        public = sim.messages["C0INCIDENT"]
        [report] = [m for m in public.values() if "Monitoring watch for" in m["text"]]
        before = report["text"]
        await bot.command("scenario INC-1 security")
        await bot.settle()
        clock.advance(5 * 60.0)
        await bot.fire_due()
        await bot.settle()
        assert public[report["ts"]]["text"] == before  # its later rounds never reach the public thread
    finally:
        await bot.close()
        await pd.stop()
    assert bot.sim.problems == []
