"""Stripe probes through the stripe library against a local server built from Stripe's fixtures."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from bot.probes import State
from bot.probes import stripe as sp
from bot.settings import Thresholds
from tests.fakes.services import FakeStripe


@pytest.fixture
async def fake() -> AsyncIterator[FakeStripe]:
    server = await FakeStripe().start()
    yield server
    await server.stop()


def client(fake: FakeStripe, key: str = FakeStripe.KEY) -> sp.stripe.StripeClient:
    return sp.make_client(key, api_url=fake.url, timeout_s=2)


async def test_webhook_endpoints(fake: FakeStripe) -> None:
    result = await sp.webhooks(client(fake))
    assert result.state is State.OK and result.figure == "1/1 enabled"
    fake.webhooks.append(fake.webhook("disabled", "https://shop.test/old-hook"))
    result = await sp.webhooks(client(fake))
    assert result.state is State.FAIL and result.summary == "1 endpoint(s) disabled"
    assert "https://shop.test/old-hook: disabled" in result.details


async def test_undelivered_events_last_hour(fake: FakeStripe) -> None:
    t = Thresholds()
    assert (await sp.undelivered_events(client(fake), t)).state is State.OK
    fake.events = [fake.event("charge.failed"), fake.event("checkout.session.completed")]
    result = await sp.undelivered_events(client(fake), t)
    assert result.state is State.WARN and result.figure == "2"
    fake.events = [fake.event() for _ in range(10)]
    assert (await sp.undelivered_events(client(fake), t)).state is State.FAIL
    resource, query = fake.requests[-1]
    assert resource == "events" and query["delivery_success"] == "false" and "created[gte]" in query


async def test_failed_charge_ratio(fake: FakeStripe) -> None:
    t = Thresholds()
    assert (await sp.failed_charges(client(fake), t)).state is State.OK
    fake.charges = [fake.charge("succeeded") for _ in range(9)] + [fake.charge("failed", "card_declined")]
    result = await sp.failed_charges(client(fake), t)
    assert result.state is State.WARN and result.figure == "10.0%" and result.details == ("card_declined: 1",)
    fake.charges = [fake.charge("failed", "processing_error") for _ in range(3)] + [fake.charge("succeeded")]
    assert (await sp.failed_charges(client(fake), t)).state is State.FAIL
    fake.charges = []
    result = await sp.failed_charges(client(fake), t)
    assert result.state is State.UNKNOWN and "no charges" in result.summary


async def test_bad_key_and_outage_are_unknown(fake: FakeStripe) -> None:
    result = await sp.webhooks(client(fake, key="rk_test_wrong"))
    assert result.state is State.UNKNOWN and result.summary == "Stripe rejected the API key"
    fake.status = 500
    assert (await sp.webhooks(client(fake))).state is State.UNKNOWN


async def test_unreachable_stripe_is_unknown() -> None:
    result = await sp.webhooks(sp.make_client("rk_test_x", api_url="http://127.0.0.1:1", timeout_s=1))
    assert result.state is State.UNKNOWN and result.summary == "could not reach Stripe"
