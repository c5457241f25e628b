"""Runbook 5: Payment processing failures (Stripe payments and webhooks)."""

from bot.probes.specs import Check, StatusPage
from handlers.scenario import Scenario, steps

SCENARIO = Scenario(
    key="payments",
    title="Payment processing failures",
    runbook_section="5. Payment Processing Failures",
    symptoms="Payments failing, Stripe webhook errors",
    keywords={
        "payment": 3,
        "payments": 3,
        "stripe": 3,
        "webhook": 3,
        "webhooks": 3,
        "charge": 2,
        "charges": 2,
        "card declined": 3,
        "cards declined": 3,
        "declined": 2,
        "refund": 2,
        "refunds": 2,
        "payout": 2,
        "payouts": 2,
        "invoice": 1,
        "billing": 2,
        "pay": 2,
    },
    investigation=steps(
        "i",
        "Check the Stripe dashboard for webhook delivery failures",
        "Check edge function logs for 'stripe-webhook'",
        "Verify STRIPE_WEBHOOK_SECRET (Cloud → Secrets)",
    ),
    resolution=steps(
        "r",
        "Re-sync the webhook secret from the Stripe dashboard",
        "Retry failed webhooks from the Stripe dashboard",
    ),
    probes=(StatusPage("stripe"), Check.STRIPE_WEBHOOKS, Check.STRIPE_EVENTS, Check.STRIPE_CHARGES),
)
