"""Alerts end to end: recorded once, one message per alert, buttons, rules, resolves; on both stores."""

from __future__ import annotations

import copy
import hashlib
import hmac
import json
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr

from bot.alerts.model import Source
from bot.devtools import payloads
from bot.jobs import housekeeping
from bot.jobs.scheduler import Timer
from bot.runtime import job_handlers
from bot.settings import AlertRule
from tests.harness import FakeClock, Harness


@dataclass(frozen=True)
class Answer:
    status: int
    text: str


REFERENCE = Path(__file__).resolve().parents[3] / "shared" / "reference"
SENTRY_SECRET = "sentry-client-secret-for-tests"
AM_TOKEN = "alertmanager-token-for-tests"


@pytest.fixture
async def bot(store_url: str) -> AsyncIterator[Harness]:
    harness = await Harness.start(
        store_url,
        sentry_client_secret=SecretStr(SENTRY_SECRET),
        alertmanager_token=SecretStr(AM_TOKEN),
        alert_rules=[
            AlertRule(source="alertmanager", match={"service": "shop", "page": "yes"}, declare="P0")
        ],
    )
    try:
        yield harness
    finally:
        await harness.close()
    assert harness.sim.problems == [], harness.sim.problems


def firing(**labels: str) -> dict[str, Any]:
    data = json.loads((REFERENCE / "alertmanager" / "firing.json").read_text())
    data["alerts"][0]["labels"].update(labels)
    return data


def resolved(data: dict[str, Any], ends: str = "2026-11-27T10:30:00Z") -> dict[str, Any]:
    data = copy.deepcopy(data)
    data["status"] = "resolved"
    for a in data["alerts"]:
        a["status"] = "resolved"
        a["endsAt"] = ends
    return data


async def deliver(bot: Harness, source: Source, data: dict[str, Any] | bytes, **headers: str) -> Answer:
    """POST the webhook to /hooks/<source> as the sender would, then let the outbox drain."""
    body = data if isinstance(data, bytes) else json.dumps(data).encode()
    if source == "alertmanager":
        headers.setdefault("Authorization", f"Bearer {AM_TOKEN}")
    headers.setdefault("Content-Type", "application/json")
    response = await bot.http.post(f"{bot.url}/hooks/{source}", content=body, headers=headers)
    await bot.settle()
    reply = response.json()
    return Answer(response.status_code, str(reply.get("message") or reply.get("error")))


def sentry_headers(body: bytes, resource: str) -> dict[str, str]:
    return {
        "Sentry-Hook-Resource": resource,
        "Sentry-Hook-Timestamp": str(int(time.time())),
        "Sentry-Hook-Signature": hmac.new(SENTRY_SECRET.encode(), body, hashlib.sha256).hexdigest(),
    }


def alert_messages(bot: Harness) -> list[dict[str, Any]]:
    """Alert messages as Slack now shows them (copies: the stand-in edits its own in place)."""
    return [
        copy.deepcopy(m)
        for msgs in bot.sim.messages.values()
        for m in msgs.values()
        if m.get("text", "").startswith(("Firing:", "Resolved:"))
    ]


async def press(bot: Harness, msg: dict[str, Any], action_id: str, *, option: int | None = None) -> None:
    for block in msg["blocks"]:
        for element in block.get("elements", []):
            if isinstance(element, dict) and element.get("action_id", "").startswith(action_id):
                if option is not None:
                    element = {**element, "selected_option": element["options"][option]}
                body = payloads.block_action(
                    action=element,
                    block_id=block.get("block_id", "b"),
                    user="U0ONCALL",
                    channel=msg.get("channel", "C0INCIDENT"),
                    message_ts=msg["ts"],
                    response_url=bot.sim.response_url("U0ONCALL"),
                )
                response = await bot.post(body, "application/x-www-form-urlencoded")
                assert response.status_code == 200
                await bot.settle()
                return
    raise AssertionError(f"no {action_id} on the message")


async def test_repeats_update_one_message_and_never_post_again(bot: Harness) -> None:
    data = firing()
    for _ in range(3):
        assert (await deliver(bot, "alertmanager", data)).status == 202
    [msg] = alert_messages(bot)
    assert "Checkout error rate above 5%" in msg["text"]
    assert "Seen:* 3 times" in json.dumps(msg["blocks"])
    assert "checkout" in json.dumps(msg["blocks"])  # routed to the checkout scenario
    posts = [c for c in bot.sim.of("chat.postMessage") if "Checkout error rate" in str(c.params.get("text"))]
    assert len(posts) == 1


async def test_resolve_then_an_old_firing_out_of_order_stays_resolved(bot: Harness) -> None:
    data = firing()
    await deliver(bot, "alertmanager", data)
    await deliver(bot, "alertmanager", resolved(data))
    [msg] = alert_messages(bot)
    assert msg["text"].startswith("Resolved:")
    await deliver(bot, "alertmanager", data)  # the first firing, retried late: older than the resolve
    [msg] = alert_messages(bot)
    assert msg["text"].startswith("Resolved:")
    later = firing()
    later["alerts"][0]["startsAt"] = "2026-11-27T11:00:00Z"  # a new episode
    await deliver(bot, "alertmanager", later)
    [msg] = alert_messages(bot)
    assert msg["text"].startswith("Firing:")


async def test_open_incident_from_alert_links_it_and_the_thread_hears_the_resolve(bot: Harness) -> None:
    data = firing()
    await deliver(bot, "alertmanager", data)
    [msg] = alert_messages(bot)
    await press(bot, msg, "alert_open")
    card = bot.card(1)
    assert "Checkout error rate above 5%" in card["text"] and "P1" in card["text"]  # critical -> P1
    said = "\n".join(bot.said(1))
    assert "is linked to this incident" in said
    assert "Runbook: Checkout" in said  # the scenario's checklist came too
    [msg] = alert_messages(bot)
    assert "Linked to *INC-1*" in json.dumps(msg["blocks"])
    assert not any(b.get("type") == "actions" for b in msg["blocks"])  # buttons gone
    await deliver(bot, "alertmanager", resolved(data))
    said = "\n".join(bot.said(1))
    assert "resolved" in said and "Every alert linked to *INC-1* has resolved" in said
    assert "Resolved" not in bot.card(1)["text"].split("Status:")[1][:30]  # never resolved by itself


async def test_double_press_on_open_declares_once(bot: Harness) -> None:
    await deliver(bot, "alertmanager", firing())
    [msg] = alert_messages(bot)
    await press(bot, msg, "alert_open")
    await press(bot, msg, "alert_open")  # the old message, pressed again
    cards = [c for c in bot.sim.of("chat.postMessage") if "INCIDENT:" in str(c.params.get("text"))]
    assert len(cards) == 1
    assert any("already linked to *INC-1*" in r for r in bot.private_replies())


async def test_attach_to_open_incident_and_dismiss(bot: Harness) -> None:
    await bot.command("open P2 checkout slow for some users")
    await bot.settle()
    await deliver(bot, "alertmanager", firing())
    other = firing()
    other["alerts"][0]["fingerprint"] = "beef"
    await deliver(bot, "alertmanager", other)
    first, second = sorted(alert_messages(bot), key=lambda m: float(m["ts"]))
    await press(bot, first, "alert_attach")
    choices = [c for c in bot.sim.of("response_url") if c.params.get("blocks")]
    assert choices, "no private list of incidents"
    picker = {"blocks": choices[-1].params["blocks"], "ts": first["ts"], "channel": "C0INCIDENT"}
    await press(bot, picker, "alert_attach_to")
    assert any("was attached by <@U0ONCALL>" in line for line in bot.said(1))
    await press(bot, second, "alert_dismiss", option=0)
    dismissed = next(m for m in alert_messages(bot) if m["ts"] == second["ts"])
    assert "Dismissed by <@U0ONCALL>: false alarm" in json.dumps(dismissed["blocks"])


async def test_rule_declares_by_itself_once(bot: Harness) -> None:
    data = firing(page="yes")
    await deliver(bot, "alertmanager", data)
    await deliver(bot, "alertmanager", data)  # a repeat does not declare again
    card = bot.card(1)
    assert "P0" in card["text"]
    assert any("opened this incident by rule" in line for line in bot.said(1))
    cards = [c for c in bot.sim.of("chat.postMessage") if "INCIDENT:" in str(c.params.get("text"))]
    assert len(cards) == 1


async def test_sentry_reference_payloads_signed_and_unsigned(bot: Harness) -> None:
    body = (REFERENCE / "sentry" / "issue_alert_triggered.json").read_bytes()
    assert (await deliver(bot, "sentry", body, **sentry_headers(body, "event_alert"))).status == 202
    [msg] = alert_messages(bot)
    assert "heck is not defined" in msg["text"]
    assert "error_spike" in json.dumps(msg["blocks"])  # Sentry: the error spike scenario
    bad = {**sentry_headers(body, "event_alert"), "Sentry-Hook-Signature": "00" * 32}
    assert (await deliver(bot, "sentry", body, **bad)).status == 401
    assert (await deliver(bot, "sentry", body)).status == 401
    junk = b'{"action": "critical", "data": {}}'
    answer = await deliver(bot, "sentry", junk, **sentry_headers(junk, "metric_alert"))
    assert answer.status == 400 and "metric_alert" in answer.text
    assert len(alert_messages(bot)) == 1  # nothing stored for the refused ones


async def test_unconfigured_source_and_bad_token(bot: Harness) -> None:
    assert (await deliver(bot, "grafana", firing())).status == 404
    assert (await deliver(bot, "alertmanager", firing(), Authorization="Bearer wrong")).status == 401
    assert alert_messages(bot) == []


async def test_user_text_in_alerts_is_inert(bot: Harness) -> None:
    data = firing()
    data["alerts"][0]["annotations"]["summary"] = "<!channel> checkout & <script> *boom*"
    await deliver(bot, "alertmanager", data)
    [msg] = alert_messages(bot)
    blob = json.dumps(msg["blocks"])
    assert "<!channel>" not in blob and "&lt;!channel&gt;" in blob


async def test_a_firing_alert_unlinked_by_retention_offers_its_buttons_again(store_url: str) -> None:
    clock = FakeClock()
    bot = await Harness.start(
        store_url,
        clock=clock,
        scheduler_poll=3600.0,
        incident_retention_days=30,
        alertmanager_token=SecretStr(AM_TOKEN),
    )
    try:
        await deliver(bot, "alertmanager", firing())
        [msg] = alert_messages(bot)
        await press(bot, msg, "alert_open")
        await bot.command("resolve INC-1 fixed")  # the alert itself keeps firing
        await bot.settle()
        assert "Linked to *INC-1*" in json.dumps(alert_messages(bot)[0]["blocks"])
        clock.advance(31 * 86400.0)
        prune = job_handlers(bot.runtime.deps)[housekeeping.KIND]
        await bot.runtime.store.run(lambda tx: prune(tx, Timer(0, housekeeping.KIND, "", clock(), 1, {})))
        await bot.settle()
        [msg] = alert_messages(bot)
    finally:
        await bot.close()
    assert bot.sim.problems == [], bot.sim.problems
    assert "INC-1" not in json.dumps(msg["blocks"]), "it no longer points at an incident that is gone"
    assert any(b.get("type") == "actions" for b in msg["blocks"]), "it can be opened or attached again"
