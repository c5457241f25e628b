"""/ops auth … and named SQL actions against a real PostgreSQL with an ``auth`` schema: rows counted
in a rolled-back transaction, bad ids refused before any SQL, parameters bound, never spliced."""

from __future__ import annotations

import asyncio
import json

from bot.store import remediation
from tests.actions.conftest import StartBot, confirm_element, last_reply, ops, press_confirm
from tests.actions.prod import OTHER_ID, USER_ID, ProdDb

REQUEUE = {
    "name": "requeue-order",
    "sql": "UPDATE public.orders SET status = 'pending'"
    " WHERE id = %(order_id)s::bigint AND status = 'failed'",
    "params": ["order_id"],
    "confirm_text": "Put one failed order back in the queue",
}


def sessions_of(prod: ProdDb, user_id: str) -> int:
    return int(prod.sql("SELECT count(*) FROM auth.sessions WHERE user_id = %s", (user_id,))[0][0])


async def test_clear_sessions_counts_then_deletes_once(start_bot: StartBot, prod: ProdDb) -> None:
    bot = await start_bot()
    prod.add_user(USER_ID, sessions=3)
    prod.add_user(OTHER_ID, sessions=1)
    await ops(bot, f"auth clear-sessions {USER_ID.upper()}")
    preview = last_reply(bot)
    assert f"User `{USER_ID}`:" in preview["text"]
    assert "`DELETE FROM auth.sessions WHERE user_id = %(user_id)s` → 3 row(s)" in preview["text"]
    assert f"user_id = `{USER_ID}`" in preview["text"] and "rolled back" in preview["text"]
    assert sessions_of(prod, USER_ID) == 3, "the preview changed nothing"
    await press_confirm(bot, preview)
    await bot.settle()
    assert "3 row(s) changed" in last_reply(bot)["text"]
    assert (sessions_of(prod, USER_ID), sessions_of(prod, OTHER_ID)) == (0, 1)
    await press_confirm(bot, preview)
    await bot.settle()
    assert last_reply(bot)["text"] == ":information_source: Already done: committed."
    assert sessions_of(prod, OTHER_ID) == 1


async def test_confirm_email_and_disable(start_bot: StartBot, prod: ProdDb) -> None:
    bot = await start_bot()
    prod.add_user(USER_ID, sessions=2)
    await ops(bot, f"auth confirm-email {USER_ID}")
    await press_confirm(bot, last_reply(bot))
    await bot.settle()
    await ops(bot, f"auth confirm-email {USER_ID}")  # already confirmed: nothing would change
    again = last_reply(bot)
    assert "No row would change" in again["text"] and confirm_element(again) is None
    await ops(bot, f"auth disable {USER_ID}")
    preview = last_reply(bot)
    assert "banned_until = 'infinity'" in preview["text"] and "→ 2 row(s)" in preview["text"]
    await press_confirm(bot, preview)
    await bot.settle()
    assert "3 row(s) changed" in last_reply(bot)["text"]
    row = prod.sql("SELECT email_confirmed_at IS NOT NULL, banned_until = 'infinity' FROM auth.users")
    assert row == [(True, True)] and sessions_of(prod, USER_ID) == 0


async def test_auth_schema_setting_and_custom_sql(start_bot: StartBot, prod: ProdDb) -> None:
    prod.sql("ALTER SCHEMA auth RENAME TO identity")
    bot = await start_bot(
        auth_schema="identity",
        auth_sql={"clear_sessions": ["DELETE FROM {schema}.sessions WHERE user_id = %(user_id)s::uuid"]},
    )
    prod.sql(f"GRANT USAGE ON SCHEMA identity TO {prod.admin_role}")
    prod.sql("INSERT INTO identity.users (id, email) VALUES (%s, 'x@shop.test')", (USER_ID,))
    prod.sql("INSERT INTO identity.sessions (user_id) VALUES (%s)", (USER_ID,))
    await ops(bot, f"auth clear-sessions {USER_ID}")
    assert (
        "`DELETE FROM identity.sessions WHERE user_id = %(user_id)s::uuid` → 1 row(s)"
        in last_reply(bot)["text"]
    )


async def test_bad_user_ids_are_refused_before_any_sql(start_bot: StartBot, prod: ProdDb) -> None:
    bot = await start_bot(ops_database_admin_url="postgresql://nobody@127.0.0.1:9/none")
    for given in ["42", "'; DROP TABLE auth.users; --", f"{USER_ID}x", "<!channel>", ""]:
        ack = await ops(bot, f"auth disable {given}".strip())
        assert "Usage: `/ops auth clear-sessions|confirm-email|disable <user-id>" in ack, given
        assert any(why in ack for why in ("give the user's UUID", "Name the user id", "takes one user id"))
        assert "<!channel>" not in ack
    ack = await ops(bot, f"auth wipe {USER_ID}")
    assert "`wipe` is not an auth action. Auth actions: clear-sessions, confirm-email, disable." in ack
    assert bot.sim.of("response_url") == [], "nothing was previewed"


async def test_named_action_binds_parameters(start_bot: StartBot, prod: ProdDb) -> None:
    bot = await start_bot(actions=[REQUEUE])
    await ops(bot, "run requeue-order 1;DROP")
    failed = last_reply(bot)
    assert "invalid input syntax for type bigint" in failed["text"] and confirm_element(failed) is None
    await ops(bot, "run requeue-order 1")
    preview = last_reply(bot)
    assert preview["text"].startswith(":mag: *Preview* of `run requeue-order 1`")
    assert "*Put one failed order back in the queue*" in preview["text"] and "→ 1 row(s)" in preview["text"]
    button, _ = confirm_element(preview) or ({}, "")
    assert button["confirm"]["text"]["text"] == "Put one failed order back in the queue"
    await press_confirm(bot, preview)
    await bot.settle()
    assert prod.sql("SELECT id, status FROM public.orders ORDER BY id") == [(1, "pending"), (2, "paid")]
    for text, expected in [
        ("run requeue-order", "`requeue-order` takes 1 argument(s)."),
        ("run requeue-order 1 2", "`requeue-order` takes 1 argument(s)."),
        ("run nuke", "`nuke` is not an action. Actions: requeue-order."),
    ]:
        assert expected in await ops(bot, text)


async def test_expired_preview_and_rate_limit(start_bot: StartBot, prod: ProdDb) -> None:
    bot = await start_bot(action_confirm_minutes=0.01, action_rate_limit={"count": 1, "minutes": 60})
    prod.add_user(USER_ID, sessions=2)
    await ops(bot, f"auth clear-sessions {USER_ID}")
    stale = last_reply(bot)
    await asyncio.sleep(1.0)
    await press_confirm(bot, stale)
    await bot.settle()
    assert "This preview has expired; run the command again" in last_reply(bot)["text"]
    assert sessions_of(prod, USER_ID) == 2
    await ops(bot, f"auth clear-sessions {USER_ID}")
    await press_confirm(bot, last_reply(bot))
    await bot.settle()
    assert sessions_of(prod, USER_ID) == 0
    prod.add_user(OTHER_ID, sessions=1)
    await ops(bot, f"auth clear-sessions {OTHER_ID}")
    assert "destructive action(s) in 60 minutes, the limit" in last_reply(bot)["text"]
    assert sessions_of(prod, OTHER_ID) == 1


async def test_actions_for_an_incident_go_to_its_thread_and_audit(start_bot: StartBot, prod: ProdDb) -> None:
    bot = await start_bot()
    prod.add_user(USER_ID, sessions=1)
    await bot.command("open P1 users cannot log in")
    await bot.settle()
    await ops(bot, f"auth clear-sessions {USER_ID} for INC-1")
    await press_confirm(bot, last_reply(bot))
    await bot.settle()
    lines = [line for line in bot.said(1) if line.startswith(":shield:")]
    action = f"`auth clear-sessions {USER_ID}`"
    assert lines == [
        f":shield: <@U0ONCALL> previewed {action}: 1 row(s) would change — awaiting Confirm",
        f":shield: <@U0ONCALL> confirmed {action}",
        f":shield: <@U0ONCALL> ran {action}: 1 row(s) changed — committed",
    ]
    assert "There is no INC-7." in await ops(bot, f"auth clear-sessions {USER_ID} for INC-7")
    await ops(bot, "audit 2")
    listing = last_reply(bot)["text"]
    assert listing.startswith("*Remediation audit log* (latest 2, newest first)")
    assert "*outcome* <@U0ONCALL>" in listing and "INC-1" in listing
    from bot.actions.audit import incident_actions

    async with bot.runtime.store.transaction() as tx:
        entries = await incident_actions(tx, 1)
        params = json.loads((await remediation.incident_audit(tx, 1))[0].params)
    assert [e.split("*")[1] for e in entries] == ["preview", "confirm", "outcome"]
    assert params == {"op": "clear-sessions", "user_id": USER_ID}


async def test_channels_are_configurable(start_bot: StartBot, prod: ProdDb) -> None:
    bot = await start_bot(allowed_channels={"actions": ["C0OPS"], "ops": ["C0OPS", "C0INCIDENT"]})
    ack = await ops(bot, f"auth disable {USER_ID}")
    assert ack == ":no_entry: This command is accepted only in <#C0OPS>."
    assert "Running" in await ops(bot, "status")


async def test_stranger_is_refused_in_the_ack_when_only_user_ids_are_listed(
    start_bot: StartBot, prod: ProdDb
) -> None:
    bot = await start_bot(remediation_allowed=["U0ONCALL"])
    await bot.command("open P1 login broken")
    ack = await ops(bot, f"auth disable {USER_ID} for INC-1", user="U0STRANGER")
    assert ack == ":no_entry: Only <@U0ONCALL> may run remediation actions. Ask one of them."
    assert bot.sim.of("users.info") == [] and bot.sim.of("usergroups.users.list") == []
    assert f":shield: <@U0STRANGER> was refused `auth disable {USER_ID}`" in bot.said(1)


async def test_a_preview_survives_a_restart_and_forged_buttons_do_nothing(
    start_bot: StartBot, prod: ProdDb
) -> None:
    first = await start_bot()
    prod.add_user(USER_ID, sessions=2)
    await ops(first, f"auth clear-sessions {USER_ID}")
    preview = last_reply(first)
    await first.close()
    second = await start_bot(sim=first.sim)  # another process, the same store: the token is there
    await press_confirm(second, preview)
    await second.settle()
    assert "2 row(s) changed" in last_reply(second)["text"] and sessions_of(prod, USER_ID) == 0
    element, _ = confirm_element(preview) or ({}, "")
    for value, expected in [
        ("A" * 32, "That preview is gone"),
        ("not a token!", "That Confirm button is not one of opsbot's"),
    ]:
        forged = {"blocks": [{"block_id": "action_confirm", "elements": [{**element, "value": value}]}]}
        await press_confirm(second, forged)
        await second.settle()
        assert expected in last_reply(second)["text"]


async def test_a_secret_passed_to_a_named_action_is_refused_and_stored_nowhere(
    start_bot: StartBot, prod: ProdDb
) -> None:
    # A Confirm must run exactly what was previewed, so a preview keeps its bound arguments in the
    # store; a secret-shaped argument is therefore refused before anything is stored or shown.
    secret = "ghp_abcdefghijklmnop0123456789ABCDEFGH"
    bot = await start_bot(actions=[REQUEUE])
    ack = await ops(bot, f"run requeue-order {secret}")
    assert "looks like a secret" in ack and secret not in ack
    async with bot.runtime.store.transaction() as tx:
        stored = json.dumps(
            [
                *await tx.fetchall("SELECT * FROM action_requests"),
                *await tx.fetchall("SELECT * FROM action_audit"),
                *await tx.fetchall("SELECT payload FROM outbox"),
            ]
        )
    assert secret not in stored
    assert secret not in json.dumps([c.params for c in bot.sim.calls])
