"""Every probe opsbot knows, by key, built from settings: the one place that wires probes to clients."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from functools import partial

import httpx
from stripe import StripeClient

from bot.probes import Probe, ProbeObserver, Result, not_configured
from bot.probes import github as gh
from bot.probes import http as app
from bot.probes import postgres as pg
from bot.probes import sentry as se
from bot.probes import statuspage as sp
from bot.probes import stripe as st
from bot.probes.specs import Check, ProbeSpec, StatusPage, check_specs
from bot.settings import Settings

DB_REPORTS: dict[str, tuple[str, Callable[..., Awaitable[Result]]]] = {
    "connections": ("DB connections", pg.connections),
    "long-queries": ("Long-running queries", pg.long_queries),
    "blocked": ("Blocked queries", pg.blocked),
    "slow-queries": ("Slowest statements", pg.slow_queries),
    "table-sizes": ("Largest tables", pg.table_sizes),
    "index-hints": ("Missing-index hints", pg.index_hints),
    "cache": ("Cache hit ratio", pg.cache_hit),
}

# What `/ops status` runs: health, not the longer reports.
STATUS_KEYS: tuple[ProbeSpec, ...] = (
    Check.STATUS_PAGES,
    Check.APP,
    Check.DB_CONNECTIONS,
    Check.DB_LONG_QUERIES,
    Check.DB_BLOCKED,
    Check.DB_CACHE,
    Check.DB_CHECKS,
    Check.STRIPE_WEBHOOKS,
    Check.STRIPE_EVENTS,
    Check.STRIPE_CHARGES,
    Check.SENTRY_SPIKE,
    Check.SENTRY_ISSUES,
)


class Catalog:
    def __init__(
        self, settings: Settings, http: httpx.AsyncClient, *, observe: ProbeObserver | None = None
    ) -> None:
        self.settings = settings
        self.http = http
        self.observe = observe  # passed to run_all/gather by whoever runs this catalog's probes
        self._stripe: StripeClient | None = None

    @property
    def timeout(self) -> float:
        return self.settings.probe_timeout_s

    def probes(self, specs: Sequence[ProbeSpec], *, scenario: str | None = None) -> list[Probe]:
        """The probes for ``specs``, expanding groups (every status page, every endpoint, SQL checks)."""
        found: list[Probe] = []
        for spec in check_specs(specs, owner=scenario or "probes"):
            found.extend(self._expand(spec, scenario))
        unique: dict[str, Probe] = {}
        for probe in found:
            unique.setdefault(probe.key, probe)
        return list(unique.values())

    def _expand(self, spec: ProbeSpec, scenario: str | None) -> list[Probe]:
        s = self.settings
        if isinstance(spec, StatusPage):
            wanted = spec.name.lower()
            pages = [self._status_page(p.name) for p in s.status_pages if p.name.lower() == wanted]
            return pages or [self._missing(f"status:{wanted}", f"{spec.name} status", "STATUS_PAGES")]
        key = spec.value
        if spec is Check.STATUS_PAGES:
            return [self._status_page(page.name) for page in s.status_pages]
        if key == "app":
            urls = [u for u in [s.app_url, *s.app_endpoints] if u]
            if not urls:
                return [self._missing("app", "App", "APP_URL")]
            return [
                Probe(
                    f"app:{u}",
                    f"App {u}",
                    partial(app.endpoint, self.http, u, p95_s=s.thresholds.p95_latency_s),
                )
                for u in urls
            ]
        if key.startswith("db."):
            return self._db(key.removeprefix("db."), scenario)
        if key.startswith("stripe."):
            return [self._stripe_probe(key)]
        if key.startswith("sentry."):
            return [self._sentry_probe(key)]
        if key == "deploys":
            if not (s.github_token and s.github_repo):
                return [self._missing(key, "Recent deploys", "GITHUB_TOKEN and GITHUB_REPO")]
            token = s.github_token.get_secret_value()
            return [
                Probe(
                    key,
                    "Recent deploys",
                    partial(
                        gh.recent_commits,
                        self.http,
                        api_url=s.github_api_url,
                        repo=s.github_repo,
                        token=token,
                    ),
                )
            ]
        raise AssertionError(f"no probe for {spec!r}")  # every Check has a branch above

    def _missing(self, key: str, name: str, setting: str) -> Probe:
        async def unconfigured() -> Result:
            return not_configured(name, setting)

        return Probe(key, name, unconfigured, needs=setting)

    def _status_page(self, name: str) -> Probe:
        page = next(p for p in self.settings.status_pages if p.name == name)
        check = {"stripe": sp.stripe_status, "slack": sp.slack_status}.get(page.kind, sp.statuspage)
        return Probe(
            f"status:{name.lower()}", f"{name} status", partial(check, self.http, page.name, page.url)
        )

    def _db(self, what: str, scenario: str | None) -> list[Probe]:
        s = self.settings
        if what == "checks":
            checks = [
                c for c in s.sql_checks if scenario is None or not c.scenarios or scenario in c.scenarios
            ]
            if not s.ops_database_url:
                return []
            target = self.db_target()
            return [Probe(f"db.check:{c.name}", c.name, partial(pg.sql_check, target, c)) for c in checks]
        name, fn = DB_REPORTS[what]
        if not s.ops_database_url:
            return [self._missing(f"db.{what}", name, "OPS_DATABASE_URL")]
        return [Probe(f"db.{what}", name, partial(fn, self.db_target(), s.thresholds))]

    def db_target(self) -> pg.Target:
        assert self.settings.ops_database_url is not None
        return pg.Target(self.settings.ops_database_url.get_secret_value(), timeout_s=self.timeout)

    def long_queries(self, minutes: float) -> Probe:
        if not self.settings.ops_database_url:
            return self._missing("db.long-queries", "Long-running queries", "OPS_DATABASE_URL")
        return Probe(
            "db.long-queries",
            "Long-running queries",
            partial(pg.long_queries, self.db_target(), self.settings.thresholds, minutes=minutes),
        )

    def _stripe_probe(self, key: str) -> Probe:
        names = {
            "stripe.webhooks": "Stripe webhooks",
            "stripe.events": "Stripe undelivered events (1h)",
            "stripe.charges": "Stripe failed charges (15 min)",
        }
        s = self.settings
        if not s.stripe_api_key:
            return self._missing(key, names[key], "STRIPE_API_KEY")
        if self._stripe is None:
            self._stripe = st.make_client(
                s.stripe_api_key.get_secret_value(), api_url=s.stripe_api_url, timeout_s=self.timeout
            )
        client = self._stripe
        run: Callable[[], Awaitable[Result]] = {
            "stripe.webhooks": partial(st.webhooks, client),
            "stripe.events": partial(st.undelivered_events, client, s.thresholds),
            "stripe.charges": partial(st.failed_charges, client, s.thresholds),
        }[key]
        return Probe(key, names[key], run)

    def _sentry_probe(self, key: str) -> Probe:
        names = {"sentry.issues": "Sentry new issues (24h)", "sentry.spike": "Sentry error rate"}
        s = self.settings
        if not (s.sentry_auth_token and s.sentry_org and s.sentry_project):
            return self._missing(key, names[key], "SENTRY_AUTH_TOKEN, SENTRY_ORG and SENTRY_PROJECT")
        api = se.SentryApi(
            self.http,
            api_url=s.sentry_api_url,
            token=s.sentry_auth_token.get_secret_value(),
            org=s.sentry_org,
            project=s.sentry_project,
        )
        run: Callable[[], Awaitable[Result]] = (
            partial(se.new_issues, api)
            if key == "sentry.issues"
            else partial(se.error_spike, api, s.thresholds)
        )
        return Probe(key, names[key], run)
