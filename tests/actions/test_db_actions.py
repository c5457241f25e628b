"""/ops db cancel|terminate against a real PostgreSQL: real pg_sleep queries, a superuser session
that must survive, a stranger, a double press, bad pids; over signed HTTP on both stores."""

from __future__ import annotations

import asyncio

from bot.store import remediation
from tests.actions.conftest import StartBot, confirm_element, last_reply, ops, press_confirm, replies
from tests.actions.prod import ProdDb

SLEEP = "SELECT pg_sleep(600)"


async def test_terminate_long_spares_superuser_and_runs_once(start_bot: StartBot, prod: ProdDb) -> None:
    # Diagnostics connect as the app role here, so its "opsbot-diagnostics" session is opsbot's own.
    bot = await start_bot(ops_database_url=prod.app_url)
    app_pid = await prod.running(SLEEP)
    root_pid = await prod.running(SLEEP, as_superuser=True, app="psql")
    replica_pid = await prod.running(SLEEP, role=prod.replica_role, app="standby")
    own_pid = await prod.running(SLEEP, app="opsbot-diagnostics")
    await asyncio.sleep(1.0)

    ack = await ops(bot, "db terminate-long 0.01")
    assert "Preparing a preview of `db terminate-long 0.01`" in ack
    preview = last_reply(bot)
    text = preview["text"]
    assert text.startswith(":mag: *Preview* of `db terminate-long 0.01`")
    assert f"Would terminate 1 session(s) as `{prod.admin_role}`" in text
    assert f"pid {app_pid} {prod.app_role} (shop) active" in text and "`SELECT pg_sleep(N)`" in text
    assert f"pid {root_pid} postgres (psql) active" in text and "*not signalled: superuser*" in text
    assert f"pid {replica_pid} {prod.replica_role} (standby) active" in text
    assert "*not signalled: replication*" in text and "*not signalled: opsbot's own session*" in text
    assert "never signalled" in text
    assert prod.alive(app_pid), "nothing runs before Confirm"

    await press_confirm(bot, preview, user="U0STRANGER")  # someone else's button
    await bot.settle()
    assert (
        "Only <@U0ONCALL>, who asked for this preview, may confirm it."
        in last_reply(bot, "U0STRANGER")["text"]
    )
    assert prod.alive(app_pid)

    await asyncio.gather(press_confirm(bot, preview), press_confirm(bot, preview))  # a double click
    await bot.settle()
    outcome = next(r for r in replies(bot) if r["text"].startswith(":white_check_mark:"))
    assert outcome["replace_original"] is True
    assert f"1 of 1 terminated (pids {app_pid})" in outcome["text"]
    assert [r for r in replies(bot) if r["text"].startswith(":white_check_mark:")] == [outcome]
    second = [r["text"] for r in replies(bot) if r["text"].startswith(":information_source:")]
    assert len(second) == 1 and ("Already confirmed" in second[0] or "Already done" in second[0])
    assert not prod.alive(app_pid)
    assert prod.active(root_pid), "the superuser's query survives"
    assert prod.active(replica_pid) and prod.active(own_pid)

    await press_confirm(bot, preview)  # a later press
    await bot.settle()
    assert last_reply(bot)["text"].startswith(":information_source: Already done: 1 of 1 terminated")

    async with bot.runtime.store.transaction() as tx:
        events = [(r.event, r.actor) for r in reversed(await remediation.latest_audit(tx, limit=20))]
    assert events[:4] == [
        ("preview", "U0ONCALL"),
        ("refusal", "U0STRANGER"),
        ("confirm", "U0ONCALL"),
        ("refusal", "U0ONCALL"),
    ]
    assert ("outcome", "U0ONCALL") in events


async def test_cancel_one_pid_shows_blockers_and_keeps_the_session(start_bot: StartBot, prod: ProdDb) -> None:
    bot = await start_bot()
    prod.add_user("0b0e3c1e-8f6a-4c1e-9d1a-3f1b2c3d4e5f", sessions=0)
    blocker = await prod.running(
        "BEGIN; UPDATE auth.users SET email = 'a@shop.test'; SELECT pg_sleep(600); COMMIT"
    )
    blocked = await prod.running("UPDATE auth.users SET email = 'b@shop.test'")
    await ops(bot, f"db cancel {blocked}")
    text = last_reply(bot)["text"]
    assert f"pid {blocked} {prod.app_role} (shop) active" in text and f"blocked by {blocker}" in text
    assert "end the blocker, not the blocked" in text

    await ops(bot, f"db cancel {blocker}")
    preview = last_reply(bot)
    assert (
        f"blocking {blocked}" in preview["text"]
        and "Would cancel the query of 1 session(s)" in preview["text"]
    )
    await press_confirm(bot, preview)
    await bot.settle()
    assert f"1 of 1 cancelled (pids {blocker})" in last_reply(bot)["text"]
    for _ in range(50):
        if not prod.active(blocked):
            break
        await asyncio.sleep(0.05)
    assert prod.alive(blocker), "cancel ends the query, not the session"
    assert not prod.active(blocked), "the blocked update went through once its blocker stopped"


async def test_protected_missing_and_bad_pids(start_bot: StartBot, prod: ProdDb) -> None:
    bot = await start_bot()
    root_pid = await prod.running(SLEEP, as_superuser=True)
    await ops(bot, f"db terminate {root_pid}")
    reply = last_reply(bot)
    assert f"pid {root_pid} is superuser; opsbot never signals it. Nothing will run." in reply["text"]
    assert confirm_element(reply) is None
    await ops(bot, "db cancel 2147483")
    assert "No session has pid 2147483 (it may have ended). Nothing will run." in last_reply(bot)["text"]
    for text, expected in [
        ("db cancel", "Name the backend's pid"),
        ("db cancel 12x", "`12x` is not a backend pid"),
        ("db terminate -1", "`-1` is not a backend pid"),
        ("db cancel-long soon", "`soon` is not a number of minutes"),
        ("db cancel 5 for yesterday", "`yesterday` is not an incident"),
        ("db cancel 5 public", "always private"),
    ]:
        ack = await ops(bot, text)
        assert expected in ack and "Usage: `/ops db cancel|terminate" in ack, (text, ack)
    assert prod.active(root_pid)


async def test_stranger_and_guest_are_refused_before_any_sql(start_bot: StartBot, prod: ProdDb) -> None:
    # The admin URL points at a closed port: a refusal that reached the database would say so instead.
    bot = await start_bot(ops_database_admin_url="postgresql://nobody@127.0.0.1:9/none")
    bot.sim.guests.add("U0GUEST")
    await ops(bot, "db terminate-long", user="U0STRANGER")
    assert last_reply(bot, "U0STRANGER")["text"] == (
        ":no_entry: Only <@U0ONCALL>, <!subteam^S0SRE> may run remediation actions. Ask one of them."
    )
    await ops(bot, "status", user="U0GUEST")
    assert last_reply(bot, "U0GUEST")["text"] == (
        ":no_entry: Guests may not run `/ops`; ask a full member of the workspace."
    )
    await ops(bot, "db terminate-long", user="U0SRE")  # in the S0SRE group: allowed, reaches the database
    assert "cannot reach the database as the admin role" in last_reply(bot, "U0SRE")["text"]
    assert [c.params["usergroup"] for c in bot.sim.of("usergroups.users.list")] == ["S0SRE"]
    async with bot.runtime.store.transaction() as tx:
        refusal = (await remediation.latest_audit(tx, limit=10))[-1]
    assert (refusal.event, refusal.actor, refusal.action) == ("refusal", "U0STRANGER", "db terminate-long 5")


async def test_superuser_admin_role_is_refused(start_bot: StartBot, prod: ProdDb) -> None:
    bot = await start_bot(ops_database_admin_url=prod.superuser_url)
    await ops(bot, "db terminate-long 1")
    reply = last_reply(bot)
    assert "connects as a superuser; opsbot acts only through a dedicated role" in reply["text"]
    assert confirm_element(reply) is None


async def test_cancel_long_skips_idle_transactions_that_terminate_long_ends(
    start_bot: StartBot, prod: ProdDb
) -> None:
    bot = await start_bot()
    idle = await prod.running("BEGIN; SELECT 1", state="idle in transaction")
    busy = await prod.running(SLEEP)
    await asyncio.sleep(1.0)
    await ops(bot, "db cancel-long 0.01")
    text = last_reply(bot)["text"]
    assert f"pid {busy} " in text and f"pid {idle} " not in text
    await ops(bot, "db terminate-long 0.01")
    text = last_reply(bot)["text"]
    assert f"pid {idle} {prod.app_role} (shop) idle in transaction" in text and f"pid {busy} " in text


async def test_a_guest_in_an_allowed_group_is_refused(start_bot: StartBot, prod: ProdDb) -> None:
    # Guests may not run /ops at all; being in a listed user group does not make them members.
    bot = await start_bot(ops_database_admin_url="postgresql://nobody@127.0.0.1:9/none")
    bot.sim.usergroups["S0SRE"] = ["U0SRE", "U0CONTRACTOR"]
    bot.sim.guests.add("U0CONTRACTOR")
    await ops(bot, "db terminate-long", user="U0CONTRACTOR")
    assert last_reply(bot, "U0CONTRACTOR")["text"] == (
        ":no_entry: Guests may not run remediation actions; ask a full member of the workspace."
    )
    async with bot.runtime.store.transaction() as tx:
        refusal = (await remediation.latest_audit(tx, limit=1))[0]
    assert (refusal.event, refusal.actor) == ("refusal", "U0CONTRACTOR")


async def test_an_application_calling_itself_opsbot_is_not_shielded(
    start_bot: StartBot, prod: ProdDb
) -> None:
    # "opsbot's own session" is opsbot's roles with opsbot's application_name; any client can set the
    # name, and a runaway query must not escape terminate by choosing it.
    bot = await start_bot()
    spoof = await prod.running(SLEEP, app="opsbot-diagnostics")
    own = await prod.running(SLEEP, role=prod.admin_role, app="opsbot-actions")  # another instance's
    await asyncio.sleep(1.0)
    await ops(bot, "db terminate-long 0.01")
    preview = last_reply(bot)
    assert f"Would terminate 1 session(s) as `{prod.admin_role}`" in preview["text"]
    assert f"pid {spoof} {prod.app_role} (opsbot-diagnostics) active" in preview["text"]
    assert "*not signalled: opsbot's own session*" in preview["text"]
    await press_confirm(bot, preview)
    await bot.settle()
    assert f"1 of 1 terminated (pids {spoof})" in last_reply(bot)["text"]
    assert prod.active(own) and not prod.alive(spoof)
