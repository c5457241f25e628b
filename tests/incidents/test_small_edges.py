"""Small edges: who may command, an archived incident channel, a DATABASE_URL with no scheme."""

from __future__ import annotations

import pytest

from bot.devtools.slack_sim import BOT_USER
from bot.settings import SettingsError, load_settings
from tests.harness import Harness


async def test_the_bot_or_slackbot_cannot_command(bot: Harness) -> None:
    await bot.command("open P2 checkout slow")
    await bot.settle()
    for who in (f"<@{BOT_USER}>", "<@USLACKBOT|slackbot>"):
        reply = await bot.command(f"commander INC-1 {who}")
        assert "A bot cannot command an incident" in reply["text"], reply
    await bot.say_in_thread(1, f"commander <@{BOT_USER}>", mention=True)
    assert any("A bot cannot command" in e for e in bot.ephemerals())
    assert "Commander: <@U0ONCALL>" in bot.card(1)["text"]


async def test_an_archived_incident_channel_gives_the_declarer_an_answer(bot: Harness) -> None:
    bot.sim.channels["C0INCIDENT"].is_archived = True
    reply = await bot.command("open P1 checkout broken")
    assert "INC-1" in reply["text"]
    await bot.settle()
    told = [r for r in bot.private_replies() if "archived" in r]
    assert len(told) == 1 and "The incident is recorded" in told[0]


@pytest.mark.parametrize("url", ["opsbot:hunter2@db.internal/opsbot", "hunter2secretvalue", "db/x"])
def test_a_database_url_without_a_scheme_is_not_echoed(url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATABASE_URL", url)
    with pytest.raises(SettingsError) as caught:
        load_settings()
    message = str(caught.value)
    assert "no scheme" in message
    assert "hunter2" not in message and "opsbot:" not in message and "db/x" not in message
