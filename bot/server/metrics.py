"""/metrics in Prometheus's text format, from a registry of this app's own (never the global one, so
tests and several runtimes in one process do not collide).

Counters and histograms are observed as things happen (Slack requests, webhooks, probes); the store's
state (outbox, open incidents, timers) is read when scraped, one short transaction per scrape.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence

from aiohttp import web
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)

from bot.errors import StoreUnavailable
from bot.jobs.scheduler import due_counts
from bot.probes import Probe, Result
from bot.store import Store, Tx, queue, stats

METRICS_PATH = "/metrics"
ACK_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 3.0, 5.0)  # Slack gives up at 3 s
OUTBOX_STATES = ("pending", "sending", "failed", "withheld")
JOBS_LATE_AFTER = 60.0  # a timer due for longer than this is late: no instance is firing timers


class Metrics:
    """Every opsbot metric, in one registry per runtime."""

    def __init__(self, *, clock: Callable[[], float]) -> None:
        self.clock = clock
        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
        self.requests = Counter("opsbot_requests", "Slack requests handled, by kind", ["kind"], registry=r)
        self.ack_seconds = Histogram(
            "opsbot_ack_seconds",
            "Time to ack a Slack request, by kind",
            ["kind"],
            buckets=ACK_BUCKETS,
            registry=r,
        )
        self.webhooks = Counter(
            "opsbot_webhook_requests",
            "Webhook requests, by source and HTTP status",
            ["source", "status"],
            registry=r,
        )
        self.outbox = Gauge("opsbot_outbox_items", "Outbox items, by state", ["state"], registry=r)
        self.delivery_seconds = Histogram(
            "opsbot_outbox_delivery_seconds",
            "From owing a Slack message to its delivery (read from the store, so every instance sees all)",
            buckets=(0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0),
            registry=r,
        )
        self.probe_results = Counter(
            "opsbot_probe_results", "Probe results, by probe and state", ["probe", "state"], registry=r
        )
        self.probe_seconds = Histogram("opsbot_probe_seconds", "Probe durations", ["probe"], registry=r)
        self.open_incidents = Gauge(
            "opsbot_open_incidents", "Open incidents, by severity", ["severity"], registry=r
        )
        self.jobs_due = Gauge("opsbot_jobs_due", "Timers due now", registry=r)
        self.jobs_late = Gauge(
            "opsbot_jobs_late", f"Timers due for more than {JOBS_LATE_AFTER:g} s", registry=r
        )
        self.store_up = Gauge("opsbot_store_up", "1 if the last scrape could read the store", registry=r)
        self._delivered_until = clock()
        self._by_kind: dict[str, tuple[Counter, Histogram]] = {}
        self._refreshing = asyncio.Lock()  # two scrapes at once must not count the same deliveries twice

    def slack_request(self, kind: str, seconds: float) -> None:
        """One Slack request acked after ``seconds``."""
        children = self._by_kind.get(kind)
        if children is None:  # labels() locks and looks up on every call; the kinds are few and fixed
            children = (self.requests.labels(kind=kind), self.ack_seconds.labels(kind=kind))
            self._by_kind[kind] = children
        children[0].inc()
        children[1].observe(seconds)

    def webhook(self, source: str, status: int) -> None:
        self.webhooks.labels(source=source, status=str(status)).inc()

    def probe_finished(self, probe: Probe, results: Sequence[Result]) -> None:
        """A probe ran: its results by state, and how long it took."""
        for result in results:
            self.probe_results.labels(probe=probe.key, state=result.state.value).inc()
        if results:
            self.probe_seconds.labels(probe=probe.key).observe(max(r.elapsed for r in results))

    async def refresh(self, store: Store) -> None:
        """Read the store's state into the gauges (and new deliveries into their histogram); an
        unreachable store sets opsbot_store_up to 0 and leaves the last figures."""
        async with self._refreshing:
            try:
                await store.run(self._read_store)
            except StoreUnavailable:
                self.store_up.set(0)
            else:
                self.store_up.set(1)

    async def _read_store(self, tx: Tx) -> None:
        now = self.clock()

        outbox = await queue.outbox_counts(tx, states=OUTBOX_STATES)
        for state in OUTBOX_STATES:
            self.outbox.labels(state=state).set(outbox.get(state, 0))
        self.open_incidents.clear()
        for severity, count in (await stats.open_incidents_by_severity(tx)).items():
            self.open_incidents.labels(severity=severity).set(count)
        due, late = await due_counts(tx, now=now, late_after=JOBS_LATE_AFTER)
        self.jobs_due.set(due)
        self.jobs_late.set(late)
        for sent_at, seconds in await stats.deliveries_since(tx, after=self._delivered_until):
            self.delivery_seconds.observe(max(0.0, seconds))
            self._delivered_until = sent_at

    def exposition(self) -> bytes:
        return generate_latest(self.registry)


def metrics_routes(metrics: Metrics, store: Store) -> list[web.RouteDef]:
    """GET /metrics."""

    async def scrape(request: web.Request) -> web.Response:
        await metrics.refresh(store)
        response = web.Response(body=metrics.exposition())
        response.headers["Content-Type"] = CONTENT_TYPE_LATEST
        return response

    return [web.get(METRICS_PATH, scrape)]
