from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import httpx
import pytest

from bot.actions.ids import ACTION_CONFIRM
from bot.devtools import payloads
from tests.actions.prod import ProdDb
from tests.harness import Harness


@pytest.fixture
async def prod(pg_admin: str) -> AsyncIterator[ProdDb]:
    db = ProdDb(pg_admin)
    try:
        yield db
    finally:
        await db.close()


StartBot = Callable[..., Awaitable[Harness]]


@pytest.fixture
async def start_bot(store_url: str, prod: ProdDb) -> AsyncIterator[StartBot]:
    """Start the bot with remediation configured: U0ONCALL and the S0SRE group (U0SRE) may act."""
    started: list[Harness] = []

    async def start(**extra: Any) -> Harness:
        settings: dict[str, Any] = {
            "ops_database_admin_url": prod.admin_url,
            "remediation_allowed": ["U0ONCALL", "S0SRE"],
            **extra,
        }
        bot = await Harness.start(store_url, **settings)
        bot.sim.usergroups["S0SRE"] = ["U0SRE"]
        started.append(bot)
        return bot

    yield start
    for bot in started:
        await bot.close()  # closing twice is harmless
        assert bot.sim.problems == [], bot.sim.problems


async def ops(bot: Harness, text: str, *, user: str = "U0ONCALL") -> str:
    """Run ``/ops text`` as ``user``; returns the ack's text once what follows has been delivered."""
    ack = await bot.command(text, user=user, command="/ops")
    await bot.settle()
    return str(ack.get("text", ""))


def replies(bot: Harness, user: str = "U0ONCALL") -> list[dict[str, Any]]:
    """What reached ``user`` privately through response_urls, oldest first."""
    return [dict(c.params) for c in bot.sim.of("response_url") if c.params.get("name") == user]


def last_reply(bot: Harness, user: str = "U0ONCALL") -> dict[str, Any]:
    found = replies(bot, user)
    assert found, f"nothing reached {user}"
    return found[-1]


def confirm_element(reply: dict[str, Any]) -> tuple[dict[str, Any], str] | None:
    for block in reply.get("blocks") or []:
        for element in block.get("elements", []):
            if isinstance(element, dict) and element.get("action_id") == ACTION_CONFIRM:
                return element, str(block["block_id"])
    return None


async def press_confirm(bot: Harness, preview: dict[str, Any], *, user: str = "U0ONCALL") -> httpx.Response:
    """Press the preview's Confirm button as ``user`` (Slack sends the press to the bot over HTTP)."""
    found = confirm_element(preview)
    assert found is not None, f"no Confirm button in {preview.get('text')}"
    element, block_id = found
    body = payloads.block_action(
        action=element,
        block_id=block_id,
        user=user,
        channel="C0INCIDENT",
        message_ts="1700000000.000100",
        response_url=bot.sim.response_url(user),
    )
    response = await bot.post(body, "application/x-www-form-urlencoded")
    assert response.status_code == 200, response.text
    return response
