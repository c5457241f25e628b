"""A follow-up that keeps a slash command's promise takes the place of the command's ack: Slack gives no way
to look a response_url post up, so one whose answer was lost is sent again, and the person still sees it
once. A second, distinct message to the same response_url is a message of its own."""

from __future__ import annotations

import pytest

from tests.harness import Harness


@pytest.mark.parametrize("drop", [False, True])
async def test_an_is_live_link_sent_again_after_a_lost_answer_is_seen_once(bot: Harness, drop: bool) -> None:
    bot.sim.fail_after("response_url", drop=drop)  # Slack shows it, then answers 500 or hangs up
    ack = await bot.command("open P1 checkout broken")
    await bot.settle()
    assert "Declared *INC-1*" in ack["text"]
    assert len([t for t in bot.private_replies() if "is live" in t]) == 2  # the re-send happened
    (seen,) = bot.private_view()
    assert seen.startswith("Declared *INC-1* (P1): checkout broken.") and "is live" in seen


async def test_an_ops_report_sent_again_after_a_lost_answer_is_seen_once(bot: Harness) -> None:
    bot.sim.fail_after("response_url")
    ack = await bot.command("status", command="/ops")
    assert "results follow in a moment" in ack["text"]
    await bot.settle()
    assert len(bot.private_replies()) == 2
    (seen,) = bot.private_view()
    assert seen.startswith("Health at a glance")


async def test_a_refusal_of_a_button_press_is_a_new_message_not_the_cards_replacement(bot: Harness) -> None:
    await bot.command("open P2 checkout slow")
    await bot.settle()
    old_card = bot.card(1)
    await bot.command("update INC-1 identified")
    await bot.settle()
    await bot.press(1, "incident_status_monitoring", card=old_card)
    await bot.settle()
    notices = [c.params for c in bot.sim.of("response_url") if "before your click" in str(c.params["text"])]
    assert len(notices) == 1 and notices[0]["replace_original"] is False  # the card stays as it is
