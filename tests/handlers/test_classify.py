"""Routing incident titles to runbook scenarios: a pure function, on real phrasings."""

from __future__ import annotations

import pytest

import handlers

PHRASINGS = [
    # checkout
    ("checkout broken", "checkout"),
    ("Checkout not working", "checkout"),
    ("Checkout error rate above 5%", "checkout"),
    ("customers can't check out", "checkout"),
    ("cart page throws on add to cart", "checkout"),
    ("Checkout 500 errors", "checkout"),
    ("orders not going through at checkout", "checkout"),
    ("users cannot place order", "checkout"),
    # site down
    ("site down", "site_down"),
    ("Site is down!!", "site_down"),
    ("500 errors everywhere", "site_down"),
    ("lots of 500s on the homepage", "site_down"),
    ("502 Bad Gateway", "site_down"),
    ("homepage not loading", "site_down"),
    ("website down for EU users", "site_down"),
    ("503 service unavailable", "site_down"),
    # performance
    ("slow", "performance"),
    ("site is slow", "performance"),
    ("high latency on product pages", "performance"),
    ("p95 above 3s", "performance"),
    ("P99 spiking on API", "performance"),
    ("slow checkout", "performance"),
    ("pages take forever to load", "performance"),
    ("sluggish admin dashboard", "performance"),
    # auth
    ("login broken", "auth"),
    ("users can't log in", "auth"),
    ("JWT errors", "auth"),
    ("jwt expired errors for all users", "auth"),
    ("Sign-in loop on mobile", "auth"),
    ("magic link emails not arriving", "auth"),
    ("users randomly logged out", "auth"),
    # payments
    ("payment failing", "payments"),
    ("Stripe webhooks failing", "payments"),
    ("stripe webhook errors", "payments"),
    ("cards declined for everyone", "payments"),
    ("refunds not processed", "payments"),
    ("payment processing failures", "payments"),
    # database
    ("DB connection pool exhausted", "database"),
    ("Could not connect to database", "database"),
    ("too many clients already", "database"),
    ("postgres deadlocks", "database"),
    ("database connection errors", "database"),
    ("Supabase connection issues", "database"),
    # error spike
    ("sentry error spike", "error_spike"),
    ("Error rate spiking in Sentry", "error_spike"),
    ("spike in exceptions after deploy", "error_spike"),
    ("Sentry alerts firing", "error_spike"),
    ("high error rate", "error_spike"),
    # security
    ("data breach suspected", "security"),
    ("compromised account on admin", "security"),
    ("leaked key in public repo", "security"),
    ("Stripe secret key leaked on GitHub", "security"),
    ("SQL injection attempts in logs", "security"),
    # typos and other words
    ("chekout broken", "checkout"),
    ("payemnts failing", "payments"),
    ("databse connections maxed", "database"),
    ("users locked out", "auth"),
    ("admin account locked", "auth"),
]


@pytest.mark.parametrize(("title", "expected"), PHRASINGS)
def test_routes_real_phrasings(title: str, expected: str) -> None:
    scenario = handlers.classify(title)
    assert scenario is not None and scenario.key == expected


def test_at_least_forty_phrasings() -> None:
    assert len(PHRASINGS) >= 40
    assert {e for _, e in PHRASINGS} == set(handlers.SCENARIOS)


@pytest.mark.parametrize(
    "title", ["typo on the about page", "weird thing", "", "🔥🔥🔥", "marketing banner wrong"]
)
def test_no_match_is_none(title: str) -> None:
    assert handlers.classify(title) is None


def test_words_match_whole_words_only() -> None:
    assert handlers.classify("download page broken") is None  # "down" inside "download"
    assert handlers.classify("authors page") is None  # not "auth"


def test_config_adds_keywords() -> None:
    assert handlers.classify("basket totals wrong") is not None
    assert handlers.classify("promo codes rejected") is None
    got = handlers.classify("promo codes rejected", {"checkout": ["promo codes"]})
    assert got is not None and got.key == "checkout"


def test_registry_is_explicit_and_complete() -> None:
    assert list(handlers.SCENARIOS) == [
        "security",
        "performance",
        "auth",
        "payments",
        "checkout",
        "database",
        "site_down",
        "error_spike",
    ]
    for key, scenario in handlers.SCENARIOS.items():
        assert scenario.key == key
        assert scenario.investigation and scenario.resolution and scenario.probes
        assert all(len(s.text) <= 75 for s in scenario.steps())
        assert len({s.key for s in scenario.steps()}) == len(scenario.steps())
    assert handlers.get(None) is handlers.GENERAL and handlers.get("nope") is handlers.GENERAL


def test_checklists_come_from_the_runbook() -> None:
    assert handlers.SCENARIOS["site_down"].escalate_if == "Issue persists after rollback"
    assert any("pg_terminate_backend" in s.text for s in handlers.SCENARIOS["database"].resolution)
    assert any("STRIPE_WEBHOOK_SECRET" in s.text for s in handlers.SCENARIOS["payments"].investigation)
