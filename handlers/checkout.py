"""Runbook 2: Checkout not working."""

from bot.probes.specs import Check, StatusPage
from handlers.scenario import Scenario, steps

SCENARIO = Scenario(
    key="checkout",
    title="Checkout not working",
    runbook_section="2. Checkout Not Working",
    symptoms="Users report checkout failures, high error rate on /checkout",
    keywords={
        "checkout": 3,
        "checkout error": 2,  # the runbook: "high error rate on /checkout" is a checkout symptom
        "check out": 3,
        "check-out": 3,
        "cart": 2,
        "basket": 2,
        "place order": 3,
        "placing orders": 3,
        "orders": 1,
        "order": 1,
        "purchase": 2,
        "purchases": 2,
        "buy": 1,
    },
    investigation=steps(
        "i",
        "Check Stripe status",
        "Check edge function logs for 'checkout' (Stripe errors, timeouts)",
        "Check orders that failed in the last hour",
    ),
    resolution=steps(
        "r",
        "Stripe down: enable the maintenance message",
        "Stripe down: queue orders for later processing",
        "Stripe down: notify users of the delay",
        "Database issue: check RLS policies",
        "Database issue: verify user authentication",
        "Database issue: check for constraint violations",
    ),
    prevention="Implement retry logic and a circuit breaker for Stripe",
    probes=(
        StatusPage("stripe"),
        Check.APP,
        Check.STRIPE_CHARGES,
        Check.STRIPE_EVENTS,
        Check.DB_CHECKS,
        Check.SENTRY_ISSUES,
    ),
)
