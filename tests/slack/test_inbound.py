"""Text Slack already escaped is stored as the person meant it and escaped once on the way out."""

from __future__ import annotations

import json

from bot.devtools import payloads
from bot.slack.inbound import typed
from bot.store import repo
from tests.harness import Harness

# What Slack sends when someone types: a & b <td>x</td> @channel-as-text, plus a real mention and link
AS_SLACK_SENDS = (
    "a &amp; b &lt;td&gt;x&lt;/td&gt; &lt;!channel&gt; <@U0DANA> <https://status.example.com|status>"
)
MEANT = "a & b <td>x</td> <!channel> <@U0DANA> <https://status.example.com|status>"
SHOWN = "a &amp; b &lt;td&gt;x&lt;/td&gt; &lt;!channel&gt; <@U0DANA> <https://status.example.com|status>"


def test_typed_decodes_slacks_three_entities_once() -> None:
    assert typed(AS_SLACK_SENDS) == MEANT
    assert typed("&amp;lt;") == "&lt;"  # someone typed the entity itself
    assert typed(None) == ""


async def _timeline(bot: Harness) -> list[str]:
    async with bot.runtime.store.transaction() as tx:
        return [e.text for e in await repo.timeline(tx, 1)]


async def test_slash_command_text_is_unescaped_in_and_escaped_once_out(bot: Harness) -> None:
    await bot.command("open P2 checkout &amp; cart &lt;slow&gt;")
    await bot.command(f"note INC-1 {AS_SLACK_SENDS}")
    await bot.settle()
    card = json.dumps(bot.card(1)["blocks"], ensure_ascii=False)
    assert "checkout &amp; cart &lt;slow&gt;" in card
    assert SHOWN in card
    everything = json.dumps([c.params for c in bot.sim.calls], ensure_ascii=False)
    assert "&amp;amp;" not in everything and "&amp;lt;" not in everything
    assert "<!channel>" not in everything and "<!here>" not in everything
    timeline = await _timeline(bot)
    assert timeline[0] == "declared P2: checkout & cart <slow>" and MEANT in timeline


async def test_thread_messages_and_edits_are_stored_as_meant(bot: Harness) -> None:
    await bot.command("open P2 checkout slow")
    await bot.settle()
    msg = await bot.say_in_thread(1, "rolled back &amp; watching &lt;!here&gt;")
    channel, thread_ts = await bot.card_ref(1)
    await bot.event(
        payloads.message_changed_event(
            channel=channel,
            ts=msg["ts"],
            thread_ts=thread_ts,
            user="U0ONCALL",
            text="fixed &lt;b&gt; &amp; done",
        )
    )
    await bot.say_in_thread(1, "note ship it &amp; see", mention=True)
    await bot.command("show INC-1")
    timeline = await _timeline(bot)
    assert "fixed <b> & done" in timeline
    # The mention is recorded once, by its effect (the note), not also as a thread message.
    assert not any(t.startswith("<@U0OPSBOT>") for t in timeline)
    assert "ship it & see" in timeline
    shown = bot.private_replies()[-1] if bot.private_replies() else ""
    detail = json.dumps(bot.sim.calls[-1].params, ensure_ascii=False) + shown
    assert "&amp;amp;" not in detail
    assert ":memo: <@U0ONCALL>: ship it &amp; see" in bot.said(1)


async def test_fullwidth_title_routes_like_ascii(bot: Harness) -> None:
    await bot.command("ｏｐｅｎ Ｐ１ ＳＴＲＩＰＥ down")
    await bot.settle()
    async with bot.runtime.store.transaction() as tx:
        inc = await repo.get_incident(tx, 1)
    assert inc is not None and inc.scenario == "payments"
    assert inc.title == "ＳＴＲＩＰＥ down"  # stored as typed; only routing and keywords are folded
