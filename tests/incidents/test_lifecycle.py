"""The incident journey end to end: signed requests over HTTP, on both stores, against the Slack stand-in."""

from __future__ import annotations

import json

import pytest

from bot.devtools.slack_sim import BOT_USER
from bot.store import repo
from tests.harness import Harness, card_text


async def declare(bot: Harness, text: str = "P1 checkout broken", user: str = "U0ONCALL") -> dict:
    reply = await bot.command(f"open {text}", user=user)
    await bot.settle()
    return reply


async def test_declare_posts_card_in_runbook_template_and_links_the_declarer(bot: Harness) -> None:
    reply = await declare(bot)
    assert reply["response_type"] == "ephemeral"
    assert "INC-1" in reply["text"]

    posts = [c for c in bot.sim.of("chat.postMessage") if not c.params.get("thread_ts")]
    assert len(posts) == 1
    assert posts[0].params["channel"] == "C0INCIDENT"  # '#engineering-incidents' resolved to its ID
    card = bot.card(1)
    text = card["text"]
    for line in (
        "🚨 INCIDENT: checkout broken (INC-1)",
        "Severity: P1",
        "Status: Investigating",
        "Impact: Unknown",
        "ETA: Unknown",
        "Commander: <@U0ONCALL>",
        "Updates: No updates yet",
        "Last updated: ",
    ):
        assert line in text
    labels = [e["text"]["text"] for b in card["blocks"] if b["type"] == "actions" for e in b["elements"]]
    assert labels == ["Identified", "Monitoring", "Resolved", "Take command"]
    assert any("is live" in r and "archives/C0INCIDENT" in r for r in bot.private_replies())


async def test_channel_name_is_resolved_once(bot: Harness) -> None:
    await declare(bot, "P2 first")
    await declare(bot, "P2 second")
    assert len(bot.sim.of("conversations.list")) == 1


async def test_status_transitions_edit_the_card_and_tell_the_thread(bot: Harness) -> None:
    await declare(bot)
    reply = await bot.command("update INC-1 identified Stripe API timeouts")
    assert "Identified" in reply["text"]
    await bot.settle()
    card = bot.card(1)
    assert "Status: Identified" in card["text"] and "Updates: Stripe API timeouts" in card["text"]
    assert "edited" in card
    assert "changed status Investigating → *Identified*: Stripe API timeouts" in bot.said(1)[-1]

    await bot.command("update #1 MONITORING")
    await bot.command("resolve 1 all clear")
    await bot.settle()
    card = bot.card(1)
    assert "Status: Resolved" in card["text"]
    resolved = [
        c for c in bot.sim.of("chat.postMessage") if "resolved *INC-1* after" in c.params.get("text", "")
    ]
    assert len(resolved) == 1 and str(resolved[0].params["reply_broadcast"]).lower() in ("1", "true")
    async with bot.runtime.store.transaction() as tx:
        inc = await repo.get_incident(tx, 1)
    assert inc is not None
    assert set(inc.status_times) == {"investigating", "identified", "monitoring", "resolved"}


async def test_skipping_forward_allowed_backward_refused(bot: Harness) -> None:
    await declare(bot)
    await bot.command("update INC-1 monitoring")
    reply = await bot.command("update INC-1 identified")
    assert "back from Monitoring to Identified needs a reason" in reply["text"]
    assert "/incident update INC-1 identified <what changed...>" in reply["text"]
    await bot.settle()
    assert "Status: Monitoring" in bot.card(1)["text"]


async def test_reopen_resolved_incident(bot: Harness) -> None:
    await declare(bot)
    await bot.command("resolve INC-1")
    reply = await bot.command("note INC-1 one more thing")
    assert "resolved; reopen it first" in reply["text"]
    assert "/incident reopen INC-1" in reply["text"]
    await bot.command("reopen INC-1")
    await bot.settle()
    assert "Status: Investigating" in bot.card(1)["text"]
    assert "reopened *INC-1*" in bot.said(1)[-1]


@pytest.mark.parametrize(
    ("text", "card_line", "thread_words"),
    [
        ("note INC-1 rolled back to v41", "Updates: rolled back to v41", "rolled back to v41"),
        ("severity INC-1 p0", "Severity: P0", "changed severity P1 → *P0*"),
        ("commander INC-1 <@U0DANA|dana>", "Commander: <@U0DANA>", "handed command of *INC-1* to <@U0DANA>"),
        ("impact INC-1 All card payments fail", "Impact: All card payments fail", "set Impact"),
        ("eta INC-1 30 minutes", "ETA: 30 minutes", "set ETA: 30 minutes"),
    ],
)
async def test_every_change_edits_card_and_replies_in_thread(
    bot: Harness, text: str, card_line: str, thread_words: str
) -> None:
    await declare(bot)
    updates_before = len(bot.sim.of("chat.update"))
    reply = await bot.command(text)
    assert reply["text"].startswith("Done")
    await bot.settle()
    assert card_line in bot.card(1)["text"]
    assert len(bot.sim.of("chat.update")) == updates_before + 1
    assert thread_words in bot.said(1)[-1]


async def test_p1_mentions_oncall_group(store_url: str) -> None:
    bot = await Harness.start(store_url, oncall_usergroup="S0ONCALL")
    try:
        await declare(bot, "P1 checkout broken")
        await declare(bot, "P3 typo on about page")
        assert "<!subteam^S0ONCALL>" in bot.card(1)["text"]
        assert "subteam" not in bot.card(2)["text"]
    finally:
        await bot.close()


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("frobnicate", "is not an incident command"),
        ("open P9 checkout broken", "`P9` is not a severity"),
        ("open P1", "needs a title"),
        ("open", "Say the severity and a title"),
        ("open P1 " + "x" * 3001, "keep it within 3000"),
        ("update INC-7 identified", "There is no INC-7"),
        ("update INC-1 done", "`done` is not a status"),
        ("update banana identified", "`banana` is not an incident"),
        ("note INC-1", "needs some text"),
        ("severity INC-1 huge", "is not a severity"),
        ("commander INC-1 dana", "Name the new commander"),
        ("list everything", "is not a list scope"),
        ("show", "needs an incident"),
        ("severity INC-1 <!channel>", "`&lt;!channel&gt;` is not a severity"),  # echoed escaped once
    ],
)
async def test_bad_input_gets_private_message_and_changes_nothing(
    bot: Harness, text: str, expected: str
) -> None:
    await declare(bot)
    calls_before = len(bot.sim.calls)
    async with bot.runtime.store.transaction() as tx:
        events_before = len(await repo.timeline(tx, 1))
    reply = await bot.command(text)
    assert reply["response_type"] == "ephemeral"
    assert expected in reply["text"]
    assert "Usage: `/incident" in reply["text"]
    await bot.settle()
    assert len(bot.sim.calls) == calls_before
    async with bot.runtime.store.transaction() as tx:
        assert len(await repo.list_incidents(tx, include_resolved=True)) == 1
        assert len(await repo.timeline(tx, 1)) == events_before


async def test_changing_resolved_incident_is_refused(bot: Harness) -> None:
    await declare(bot)
    await bot.command("resolve INC-1")
    await bot.settle()
    calls_before = len(bot.sim.calls)
    for text in ("severity INC-1 P0", "eta INC-1 soon", "update INC-1 monitoring"):
        reply = await bot.command(text)
        assert "reopen" in reply["text"]
    await bot.settle()
    assert len(bot.sim.calls) == calls_before


async def test_help_lists_every_command_with_example(bot: Harness) -> None:
    reply = await bot.command("help")
    for form in (
        "open <P0|P1|P2|P3>",
        "update <INC-n>",
        "note <INC-n>",
        "severity <INC-n>",
        "commander <INC-n>",
        "impact <INC-n>",
        "eta <INC-n>",
        "resolve <INC-n>",
        "reopen <INC-n>",
        "list [open|all]",
        "show <INC-n>",
        "e.g. `/incident open P1 checkout broken`",
    ):
        assert form in reply["text"]
    assert await bot.command("") == reply


async def test_list_and_show(bot: Harness) -> None:
    await declare(bot, "P1 checkout broken")
    await declare(bot, "P3 typo")
    await bot.command("resolve 2")
    listed = await bot.command("list")
    assert "INC-1" in listed["text"] and "INC-2" not in listed["text"]
    everything = await bot.command("list all")
    assert "INC-2" in everything["text"] and "Resolved" in everything["text"]
    shown = await bot.command("show INC-1")
    assert shown["response_type"] == "ephemeral"
    assert "Timeline" in json.dumps(shown["blocks"]) and "declared P1: checkout broken" in shown["text"]


async def test_buttons_transition_and_take_command(bot: Harness) -> None:
    await declare(bot)
    response = await bot.press(1, "incident_status_identified", user="U0ALEX")
    assert response.status_code == 200
    await bot.settle()
    assert "Status: Identified" in bot.card(1)["text"]
    await bot.press(1, "incident_take_command", user="U0ALEX")
    await bot.settle()
    assert "Commander: <@U0ALEX>" in bot.card(1)["text"]
    assert "handed command of *INC-1* to <@U0ALEX>" in bot.said(1)[-1]


async def test_double_click_transitions_once(bot: Harness) -> None:
    await declare(bot)
    card = bot.card(1)
    await bot.press(1, "incident_status_identified", card=card)
    await bot.press(1, "incident_status_identified", card=card)  # same card state, second click
    await bot.settle()
    transitions = [t for t in bot.said(1) if "changed status" in t]
    assert len(transitions) == 1
    assert any("changed before your click" in r for r in bot.private_replies())


async def test_redelivered_interaction_has_one_effect(bot: Harness) -> None:
    await declare(bot)
    card = bot.card(1)
    for _ in range(3):
        await bot.press(1, "incident_status_monitoring", card=card, trigger_id="111.222.same")
    await bot.settle()
    assert len([t for t in bot.said(1) if "changed status" in t]) == 1


async def test_redelivered_slash_command_declares_once(bot: Harness) -> None:
    for _ in range(3):
        await bot.command("open P2 search slow", trigger_id="42.42.same")
    await bot.settle()
    async with bot.runtime.store.transaction() as tx:
        assert len(await repo.list_incidents(tx, include_resolved=True)) == 1


async def test_thread_mentions_act_once_without_incident_id(bot: Harness) -> None:
    await declare(bot)
    await bot.say_in_thread(1, "identified Stripe API timeouts", mention=True)
    assert "Status: Identified" in bot.card(1)["text"]
    await bot.say_in_thread(1, "note rolled back", mention=True)
    await bot.say_in_thread(1, "severity P0", mention=True)
    await bot.say_in_thread(1, "resolve", mention=True)
    text = bot.card(1)["text"]
    assert "Severity: P0" in text and "Status: Resolved" in text and "Updates: rolled back" in text
    said = bot.said(1)
    assert sum("changed status" in t for t in said) == 1
    assert sum("resolved *INC-1*" in t for t in said) == 1


async def test_thread_mention_redelivered_acts_once(bot: Harness) -> None:
    await declare(bot)
    msg = await bot.say_in_thread(1, "note rolled back", mention=True)
    channel, thread_ts = await bot.card_ref(1)
    from bot.devtools import payloads as p

    event = p.app_mention_event(
        channel=channel, user="U0ONCALL", text=msg["text"], ts=msg["ts"], thread_ts=thread_ts
    )
    await bot.event(event, event_id="EvSAME1")
    await bot.event(event, event_id="EvSAME1", retry_num=1)
    await bot.event(event, event_id="EvSAME1", retry_num=2)
    await bot.settle()
    assert sum("rolled back" in t for t in bot.said(1)) == 1


async def test_bad_thread_mention_gets_ephemeral_help(bot: Harness) -> None:
    await declare(bot)
    await bot.say_in_thread(1, "severity P9", mention=True)
    await bot.say_in_thread(1, "dance", mention=True)
    ephemerals = bot.ephemerals()
    assert any("is not a severity" in e for e in ephemerals)
    assert any("not something I can do" in e for e in ephemerals)
    assert "Status: Investigating" in bot.card(1)["text"]


async def test_every_human_message_joins_the_timeline_with_edits_and_deletions(bot: Harness) -> None:
    await declare(bot)
    first = await bot.say_in_thread(1, "checking Stripe dashboard", user="U0DANA")
    second = await bot.say_in_thread(1, "typo message", user="U0ALEX")
    channel, thread_ts = await bot.card_ref(1)
    from bot.devtools import payloads as p

    # Redelivery of the same message is recorded once.
    await bot.event(
        p.message_event(
            channel=channel, user="U0DANA", text=first["text"], ts=first["ts"], thread_ts=thread_ts
        ),
        retry_num=1,
    )
    await bot.event(
        p.message_changed_event(
            channel=channel,
            ts=first["ts"],
            thread_ts=thread_ts,
            user="U0DANA",
            text="checking Stripe dashboard: webhooks failing",
        )
    )
    await bot.event(
        p.message_deleted_event(channel=channel, ts=second["ts"], thread_ts=thread_ts, user="U0ALEX")
    )
    async with bot.runtime.store.transaction() as tx:
        events = [e for e in await repo.timeline(tx, 1) if e.kind == "message"]
    assert [(e.actor, e.text) for e in events] == [
        ("U0DANA", "checking Stripe dashboard: webhooks failing"),
        ("U0ALEX", "typo message"),
    ]
    assert events[0].edited_at is not None and events[1].deleted_at is not None
    shown = await bot.command("show INC-1")
    assert "(edited)" in shown["text"] and "(deleted)" in shown["text"]


async def test_bot_joins_public_channel_when_not_a_member(bot: Harness) -> None:
    bot.sim.channels["C0INCIDENT"].is_member = False
    await declare(bot)
    assert len(bot.sim.of("conversations.join")) == 1
    assert "INCIDENT: checkout broken" in bot.card(1)["text"]


async def test_private_channel_asks_to_be_invited_then_posts(bot: Harness) -> None:
    bot.sim.add_channel("C0PRIVATE", "incidents-private", is_private=True, is_member=False)
    bot.runtime.settings.incident_channel = "C0PRIVATE"
    reply = await bot.command("open P1 checkout broken")
    assert "INC-1" in reply["text"]
    import asyncio

    for _ in range(200):
        if any("/invite @opsbot" in r for r in bot.private_replies()):
            break
        await asyncio.sleep(0.02)
    assert any("/invite @opsbot" in r for r in bot.private_replies())
    async with bot.runtime.store.transaction() as tx:
        assert await repo.get_incident(tx, 1) is not None  # recorded all the same
    bot.sim.channels["C0PRIVATE"].is_member = True  # someone invites the bot
    await bot.settle()
    assert "INCIDENT: checkout broken" in bot.card(1)["text"]
    assert sum(1 for r in bot.private_replies() if "/invite" in r) == 1


async def test_user_text_cannot_ping_the_whole_channel(bot: Harness) -> None:
    await declare(bot, "P2 <!channel> look <https://x.test|here>")
    text = card_text(bot.card(1))
    assert "<!channel>" not in text and "&lt;!channel&gt;" in text
    assert BOT_USER  # the stand-in's bot user exists


async def test_a_mention_held_up_until_after_later_changes_does_not_apply(bot: Harness) -> None:
    await declare(bot)
    channel, thread_ts = await bot.card_ref(1)
    # Someone says "resolve"; the event is held up (a frozen process) while others resolve and reopen.
    msg = bot.sim.post_human(channel, "U0DANA", f"<@{BOT_USER}> resolve", thread_ts)
    await bot.command("resolve INC-1 fixed")
    await bot.command("reopen INC-1")
    await bot.settle()
    from bot.devtools import payloads as p

    event = p.app_mention_event(
        channel=channel, user="U0DANA", text=msg["text"], ts=msg["ts"], thread_ts=thread_ts
    )
    await bot.event(event)
    await bot.settle()
    assert "Status: Investigating" in bot.card(1)["text"]  # the reopen stands
    assert any("changed after you sent that" in e for e in bot.ephemerals())


async def test_list_pages_and_says_how_many_more(bot: Harness) -> None:
    from bot.incidents.model import Incident, Severity, Status

    title = "payments degraded for EU customers " * 4  # 140 characters: a long page cut mid-word before
    async with bot.runtime.store.transaction() as tx:
        for n in range(1, 61):
            await repo.insert_incident(
                tx,
                Incident(
                    number=n,
                    title=title.strip(),
                    severity=Severity.P2,
                    status=Status.INVESTIGATING,
                    commander="U0ONCALL",
                    declared_by="U0ONCALL",
                    created_at=1e9,
                    updated_at=1e9,
                ),
            )
    first = await bot.command("list")
    sections = [b["text"]["text"] for b in first["blocks"]]
    shown = "\n".join(sections)
    assert "INC-60" in shown and "INC-36" in shown and "INC-35" not in shown
    assert "…and 35 more: `/incident list before INC-36`" in shown
    assert all(
        line.endswith("<@U0ONCALL>") or "more" in line or "incidents" in line for line in shown.split("\n")
    )
    assert all(len(s) <= 3000 for s in sections)
    second = await bot.command("list before INC-36")
    assert "INC-35" in second["text"] and "INC-11" in second["text"] and "10 more" in second["text"]
    last = await bot.command("list open before INC-11")
    assert "INC-1*" in last["text"] and "more" not in last["text"]
