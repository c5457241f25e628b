"""What a scenario (or ``/ops``) asks to check: typed probe specs, validated when a registry is built.

Pure: no clients here. ``bot.probes.catalog`` turns each spec into probes wired to settings and clients.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable
from dataclasses import dataclass


class Check(enum.StrEnum):
    """A probe (or group of probes) by what it checks."""

    STATUS_PAGES = "status_pages"  # every configured status page
    APP = "app"  # APP_URL and APP_ENDPOINTS
    DB_CONNECTIONS = "db.connections"
    DB_LONG_QUERIES = "db.long-queries"
    DB_BLOCKED = "db.blocked"
    DB_SLOW_QUERIES = "db.slow-queries"
    DB_TABLE_SIZES = "db.table-sizes"
    DB_INDEX_HINTS = "db.index-hints"
    DB_CACHE = "db.cache"
    DB_CHECKS = "db.checks"  # the SQL checks from settings that apply to the scenario
    STRIPE_WEBHOOKS = "stripe.webhooks"
    STRIPE_EVENTS = "stripe.events"
    STRIPE_CHARGES = "stripe.charges"
    SENTRY_SPIKE = "sentry.spike"
    SENTRY_ISSUES = "sentry.issues"
    DEPLOYS = "deploys"


@dataclass(frozen=True)
class StatusPage:
    """One provider's status page, by its name in STATUS_PAGES (case does not matter)."""

    name: str


ProbeSpec = Check | StatusPage


def check_specs(specs: Iterable[object], *, owner: str) -> tuple[ProbeSpec, ...]:
    """``specs`` when each is a probe spec; ValueError naming ``owner`` and the bad one otherwise."""
    checked: list[ProbeSpec] = []
    for spec in specs:
        if (isinstance(spec, StatusPage) and spec.name.strip()) or isinstance(spec, Check):
            checked.append(spec)
        else:
            known = ", ".join(c.value for c in Check)
            raise ValueError(
                f"{owner}: {spec!r} is not a probe; use Check.<name> ({known}) or StatusPage(name)"
            )
    return tuple(checked)
