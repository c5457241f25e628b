"""The end-to-end fixture's engine: the real bot over HTTP, the Slack stand-in behind it."""

from __future__ import annotations

import asyncio
import copy
import json
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import httpx
from pydantic import SecretStr

from bot.devtools import payloads
from bot.devtools.slack_sim import BOT_USER, SlackSim
from bot.runtime import Runtime, start_runtime
from bot.settings import Settings
from bot.slack import ids
from bot.store import repo
from bot.webhooks import WebhookSource
from tests.fakes.services import FakeWeb, probe_settings
from tests.fakes.slack_spec import check_call

SECRET = "test-signing-secret-0123456789"
TOKEN = "xoxb-test-not-a-real-token"


def make_settings(database_url: str, api_url: str, **extra: Any) -> Settings:
    return Settings(
        slack_bot_token=SecretStr(TOKEN),
        slack_signing_secret=SecretStr(SECRET),
        slack_api_url=api_url,
        database_url=SecretStr(database_url),
        **extra,
    )


class FakeClock:
    """Real time plus an offset that tests move forward: timers come due without sleeping."""

    def __init__(self) -> None:
        self.offset = 0.0

    def __call__(self) -> float:
        return time.time() + self.offset

    def advance(self, seconds: float) -> None:
        self.offset += seconds


class Harness:
    """Signed requests in through HTTP; what the bot said to Slack, out of the stand-in."""

    def __init__(self, sim: SlackSim, runtime: Runtime, url: str, fake_web: FakeWeb) -> None:
        self.sim = sim
        self.web = fake_web
        self.runtime = runtime
        self.url = url
        self.http = httpx.AsyncClient(timeout=10)

    @classmethod
    async def start(
        cls,
        database_url: str,
        *,
        sim: SlackSim | None = None,
        fake_web: FakeWeb | None = None,
        stripe_url: str | None = None,
        clock: Callable[[], float] = time.time,
        scheduler_poll: float = 0.05,
        webhooks: Sequence[WebhookSource[Any]] | None = None,
        outbox_options: Mapping[str, Any] | None = None,
        **extra: Any,
    ) -> Harness:
        sim = sim or await SlackSim(validator=check_call).start()
        fake_web = fake_web or FakeWeb()
        settings = make_settings(database_url, sim.api_url, **{**probe_settings(stripe_url), **extra})
        runtime = await start_runtime(
            settings,
            http=fake_web.client(),
            clock=clock,
            outbox_options={
                "poll_interval": 0.05,
                "backoff_base": 0.01,
                "backoff_max": 0.2,
                **(outbox_options or {}),
            },
            scheduler_options={"poll_interval": scheduler_poll},
            webhooks=webhooks,
        )
        port = await runtime.serve_http(host="127.0.0.1", port=0, body_timeout=1.0)
        return cls(sim, runtime, f"http://127.0.0.1:{port}", fake_web)

    async def close(self) -> None:
        await self.http.aclose()
        await self.runtime.close()

    # --- requests --------------------------------------------------------------------------

    async def post(
        self, body: str, content_type: str, *, headers: dict[str, str] | None = None, secret: str = SECRET
    ) -> httpx.Response:
        signed = payloads.signed_headers(secret, body, content_type=content_type)
        return await self.http.post(
            f"{self.url}/slack/events", content=body, headers={**signed, **(headers or {})}
        )

    async def command(
        self,
        text: str,
        *,
        user: str = "U0ONCALL",
        command: str = "/incident",
        trigger_id: str | None = None,
        channel: str = "C0INCIDENT",
    ) -> dict[str, Any]:
        """Send a slash command typed in ``channel``; returns the ack's JSON (what the user sees)."""
        body = payloads.slash_command(
            command,
            text,
            user=user,
            channel=channel,
            response_url=self.sim.response_url(user),
            trigger_id=trigger_id,
        )
        response = await self.post(body, "application/x-www-form-urlencoded")
        assert response.status_code == 200, response.text
        return dict(response.json()) if response.content else {}

    async def event(
        self, event: dict[str, Any], *, event_id: str | None = None, retry_num: int | None = None
    ) -> httpx.Response:
        headers = (
            {"X-Slack-Retry-Num": str(retry_num), "X-Slack-Retry-Reason": "http_timeout"}
            if retry_num
            else None
        )
        response = await self.post(
            payloads.event_callback(event, event_id=event_id), "application/json", headers=headers
        )
        assert response.status_code == 200, response.text
        return response

    async def say_in_thread(
        self, number: int, text: str, *, user: str = "U0ONCALL", mention: bool = False
    ) -> dict[str, Any]:
        """A person writes in the incident's thread; Slack sends `message` (and `app_mention`)."""
        channel, thread_ts = await self.card_ref(number)
        if mention:
            text = f"<@{BOT_USER}> {text}"
        msg = self.sim.post_human(channel, user, text, thread_ts)
        await self.event(
            payloads.message_event(channel=channel, user=user, text=text, ts=msg["ts"], thread_ts=thread_ts)
        )
        if mention:
            await self.event(
                payloads.app_mention_event(
                    channel=channel, user=user, text=text, ts=msg["ts"], thread_ts=thread_ts
                )
            )
        await self.settle()
        return msg

    async def press(
        self,
        number: int,
        action_id: str,
        *,
        user: str = "U0ONCALL",
        trigger_id: str | None = None,
        card: dict[str, Any] | None = None,
    ) -> httpx.Response:
        """Press a button on the incident's card as it is now in Slack (or as ``card`` showed it)."""
        channel, ts = await self.card_ref(number)
        blocks = (card or self.card(number))["blocks"]
        for block in blocks:
            for element in block.get("elements", []):
                if isinstance(element, dict) and element.get("action_id") == action_id:
                    body = payloads.block_action(
                        action=element,
                        block_id=block["block_id"],
                        user=user,
                        channel=channel,
                        message_ts=ts,
                        response_url=self.sim.response_url(user),
                        trigger_id=trigger_id,
                    )
                    return await self.post(body, "application/x-www-form-urlencoded")
        raise AssertionError(f"no button {action_id} on the card of INC-{number}")

    async def press_on(
        self, message: dict[str, Any], action_id: str, *, channel: str, user: str = "U0ONCALL"
    ) -> httpx.Response:
        """Press a button on any message the bot posted (a page, a nudge)."""
        for block in message.get("blocks") or []:
            for element in block.get("elements", []):
                if isinstance(element, dict) and element.get("action_id") == action_id:
                    body = payloads.block_action(
                        action=element,
                        block_id=block["block_id"],
                        user=user,
                        channel=channel,
                        message_ts=message["ts"],
                        response_url=self.sim.response_url(user),
                    )
                    return await self.post(body, "application/x-www-form-urlencoded")
        raise AssertionError(f"no button {action_id} on that message")

    async def settle(self) -> None:
        assert await self.runtime.deps.settle(within=30), "outbox did not drain"

    async def fire_due(self) -> int:
        """Fire the timers due by the runtime's clock now (as the scheduler's poll would), then settle."""
        fired = await self.runtime.scheduler.fire_due()
        await asyncio.sleep(0.01)  # work a handler handed to this loop (spawn_soon) starts
        await self.settle()
        return fired

    # --- what Slack now shows --------------------------------------------------------------

    async def card_ref(self, number: int) -> tuple[str, str]:
        async with self.runtime.store.transaction() as tx:
            ref = await repo.get_ref(tx, f"card:{number}")
        assert ref is not None, f"INC-{number} has no card"
        return ref

    def card(self, number: int) -> dict[str, Any]:
        for channel in self.sim.messages.values():
            for msg in channel.values():
                if any(b.get("block_id") == ids.card_block(number) for b in msg.get("blocks") or []):
                    return copy.deepcopy(msg)
        raise AssertionError(f"no card for INC-{number} in Slack")

    def thread(self, number: int) -> list[dict[str, Any]]:
        card = self.card(number)
        for channel_id, msgs in self.sim.messages.items():
            if card["ts"] in msgs:
                return [m for m in self.sim.thread(channel_id, card["ts"]) if m.get("user") == BOT_USER]
        return []

    def said(self, number: int) -> list[str]:
        """Every line the bot said in the incident's thread (a backlog of replies may share a message)."""
        return [line for m in self.thread(number) for line in m["text"].split("\n")]

    def private_replies(self, user: str = "U0ONCALL") -> list[str]:
        return [
            str(c.params.get("text")) for c in self.sim.of("response_url") if c.params.get("name") == user
        ]

    def private_view(self, user: str = "U0ONCALL") -> list[str]:
        """The private follow-ups ``user`` sees through their response_url (an ack's replacement once)."""
        view = self.sim.private.get(user)
        return view.visible if view is not None else []

    def ephemerals(self) -> list[str]:
        return [str(c.params.get("text")) for c in self.sim.of("chat.postEphemeral")]


def card_text(msg: dict[str, Any]) -> str:
    return json.dumps(msg.get("blocks")) + msg.get("text", "")
