"""Who may: incident_admins for destructive /incident changes, allowed channels, guests."""

from __future__ import annotations

from bot.devtools import payloads
from bot.incidents.model import Status
from bot.store import repo
from tests.harness import Harness


async def status_of(bot: Harness, number: int) -> tuple[Status, str]:
    async with bot.runtime.store.transaction() as tx:
        inc = await repo.get_incident(tx, number)
    assert inc is not None
    return inc.status, inc.severity.value


async def test_incident_admins_reserve_resolving_p1_and_lowering_p0(store_url: str) -> None:
    bot = await Harness.start(store_url, incident_admins=["U0LEAD", "S0LEADS"])
    bot.sim.usergroups["S0LEADS"] = ["U0DEPUTY"]
    try:
        await bot.command("open P1 checkout broken")
        await bot.command("open P2 banner typo")
        await bot.command("open P0 site down")
        await bot.settle()
        ack = await bot.command("resolve INC-1 fixed")
        assert ack["text"] == ":hourglass_flowing_sand: Checking that you may resolve P1 INC-1…"
        await bot.settle()
        assert bot.private_replies()[-1] == (
            ":no_entry: Only <@U0LEAD>, <!subteam^S0LEADS> may do that to this incident."
        )
        assert await status_of(bot, 1) == (Status.INVESTIGATING, "P1")
        assert "Done" in (await bot.command("resolve INC-2 fixed"))["text"]  # a P2: anyone
        await bot.command("severity INC-3 P2")
        await bot.settle()
        assert await status_of(bot, 3) == (Status.INVESTIGATING, "P0")
        await bot.command("resolve INC-1 fixed", user="U0DEPUTY")  # in the S0LEADS group
        await bot.settle()
        assert bot.private_replies("U0DEPUTY")[-1].startswith("Done: :white_check_mark: <@U0DEPUTY> resolved")
        assert (
            bot.private_replies().count(
                ":no_entry: Only <@U0LEAD>, <!subteam^S0LEADS> may do that to this incident."
            )
            == 2
        )  # the P1 resolve and the P0 severity change
        assert await status_of(bot, 1) == (Status.RESOLVED, "P1")
        await bot.press(3, "incident_status_resolved", user="U0ALEX")  # the card's button, same rule
        await bot.settle()
        assert bot.private_replies("U0ALEX") == [
            ":no_entry: Only <@U0LEAD>, <!subteam^S0LEADS> may do that to this incident."
        ]
        assert await status_of(bot, 3) == (Status.INVESTIGATING, "P0")
        ack = await bot.command("severity INC-3 P1", user="U0LEAD")  # listed by id: no lookup
        assert ack["text"].startswith("Done")
        assert len(bot.sim.of("usergroups.users.list")) == 1, "membership is cached briefly"
        assert len(bot.sim.of("users.info")) == 0
    finally:
        await bot.close()
    assert bot.sim.problems == []


async def test_incident_admins_by_id_only_refuse_at_once(store_url: str) -> None:
    bot = await Harness.start(store_url, incident_admins=["U0LEAD"])
    try:
        await bot.command("open P0 site down")
        ack = await bot.command("resolve INC-1")
        assert ack["text"] == ":warning: Only <@U0LEAD> may resolve P0 INC-1."
        assert bot.sim.of("usergroups.users.list") == []
    finally:
        await bot.close()


async def test_incident_channels(store_url: str) -> None:
    bot = await Harness.start(store_url, allowed_channels={"incident": ["C0INCIDENT"]})
    try:
        body = payloads.slash_command(
            "/incident", "open P2 x", channel="C0GENERAL", response_url=bot.sim.response_url("U0ONCALL")
        )
        response = await bot.post(body, "application/x-www-form-urlencoded")
        assert response.json()["text"] == ":warning: This command is accepted only in <#C0INCIDENT>."
        assert "INC-1" in (await bot.command("open P2 x"))["text"]
    finally:
        await bot.close()


async def test_incident_admins_cannot_be_bypassed_by_lowering_a_p1_first(store_url: str) -> None:
    # Resolving a P1 is reserved; lowering it to P2 and then resolving the P2 must not get round that.
    bot = await Harness.start(store_url, incident_admins=["U0LEAD"])
    try:
        await bot.command("open P1 checkout broken")
        ack = await bot.command("severity INC-1 P2")
        assert ack["text"] == ":warning: Only <@U0LEAD> may lower the severity of P1 INC-1."
        await bot.command("resolve INC-1 fixed")
        await bot.settle()
        assert await status_of(bot, 1) == (Status.INVESTIGATING, "P1")
        assert (await bot.command("severity INC-1 P0"))["text"].startswith("Done")  # raising: anyone
        assert (await bot.command("severity INC-1 P2", user="U0LEAD"))["text"].startswith("Done")
    finally:
        await bot.close()
    assert bot.sim.problems == []
