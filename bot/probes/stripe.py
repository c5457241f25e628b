"""Stripe, with a restricted read-only key: webhook endpoints, undelivered events, failed charges."""

from __future__ import annotations

import time
from typing import Any

import stripe

from bot.probes import Result, State, grade, tally_by, unknown
from bot.settings import Thresholds


def make_client(api_key: str, *, api_url: str, timeout_s: float) -> stripe.StripeClient:
    return stripe.StripeClient(
        api_key,
        base_addresses={"api": api_url},
        http_client=stripe.HTTPXClient(timeout=timeout_s),
        max_network_retries=0,
    )


def _explain(exc: stripe.StripeError) -> str:
    if isinstance(exc, stripe.AuthenticationError):
        return "Stripe rejected the API key"
    if isinstance(exc, stripe.PermissionError):
        return "the restricted key lacks read permission for this"
    if isinstance(exc, stripe.RateLimitError):
        return "Stripe rate-limited the check"
    if isinstance(exc, stripe.APIConnectionError):
        return "could not reach Stripe"
    return f"Stripe error ({exc.__class__.__name__})"


async def webhooks(client: stripe.StripeClient) -> Result:
    name = "Stripe webhooks"
    try:
        endpoints = await client.v1.webhook_endpoints.list_async({"limit": 100})
    except stripe.StripeError as exc:
        return unknown(name, _explain(exc))
    items: list[Any] = list(endpoints.data)
    disabled = [e for e in items if e["status"] != "enabled"]
    details = tuple(f"{e['url']}: {e['status']}" for e in items)
    figure = f"{len(items) - len(disabled)}/{len(items)} enabled"
    if not items:
        return Result(
            name, State.WARN, "no webhook endpoints configured", figure, "every endpoint enabled", details
        )
    state = State.FAIL if disabled else State.OK
    summary = f"{len(disabled)} endpoint(s) disabled" if disabled else "all endpoints enabled"
    return Result(
        name,
        state,
        summary,
        figure,
        "every endpoint enabled",
        details,
        link="https://dashboard.stripe.com/webhooks",
    )


async def undelivered_events(
    client: stripe.StripeClient, t: Thresholds, *, now: float | None = None
) -> Result:
    name = "Stripe undelivered events (1h)"
    since = int((time.time() if now is None else now) - 3600)
    try:
        events = await client.v1.events.list_async(
            {"delivery_success": False, "created": {"gte": since}, "limit": 100}
        )
    except stripe.StripeError as exc:
        return unknown(name, _explain(exc))
    items: list[Any] = list(events.data)
    count = len(items)
    more = "+" if events.has_more else ""
    threshold = f"warn at {t.stripe_undelivered_warn}, fail at {t.stripe_undelivered_fail}"
    state = grade(count, warn=t.stripe_undelivered_warn, fail=t.stripe_undelivered_fail)
    details = tally_by([e["type"] for e in items])
    return Result(
        name,
        state,
        f"{count}{more} not delivered",
        f"{count}{more}",
        threshold,
        details,
        link="https://dashboard.stripe.com/events?delivery_success=false",
    )


async def failed_charges(client: stripe.StripeClient, t: Thresholds, *, now: float | None = None) -> Result:
    name = "Stripe failed charges (15 min)"
    since = int((time.time() if now is None else now) - 900)
    try:
        charges = await client.v1.charges.list_async({"created": {"gte": since}, "limit": 100})
    except stripe.StripeError as exc:
        return unknown(name, _explain(exc))
    items: list[Any] = list(charges.data)
    if not items:
        return unknown(name, "no charges in the last 15 minutes, so no ratio to judge")
    failed = [c for c in items if c["status"] == "failed"]
    pct = 100.0 * len(failed) / len(items)
    threshold = f"warn at {t.failed_charge_warn_pct:g}%, fail at {t.failed_charge_fail_pct:g}%"
    state = grade(pct, warn=t.failed_charge_warn_pct, fail=t.failed_charge_fail_pct)
    details = tally_by([c["failure_code"] or "unknown" for c in failed])
    sample = " (first 100)" if charges.has_more else ""
    return Result(
        name,
        state,
        f"{len(failed)} of {len(items)} failed{sample}",
        f"{pct:.1f}%",
        threshold,
        details,
        link="https://dashboard.stripe.com/payments?status[0]=failed",
    )
