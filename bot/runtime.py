"""Wires concrete clients together: the one place that knows every port's implementation.

One AsyncExitStack owns every resource. Each is entered right after it is made, so closing runs in
the reverse order of opening (the server stops taking requests first, the store closes last) and a
start-up that fails half-way closes what it had already opened.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from contextlib import AsyncExitStack
from dataclasses import dataclass
from typing import Any

import aiohttp
import httpx
from slack_bolt.async_app import AsyncApp
from slack_sdk.web.async_client import AsyncWebClient

import handlers
from bot.access.directory import SlackDirectory
from bot.access.security import SecurityChannel
from bot.actions import settle
from bot.alerts import message as alert_message
from bot.alerts import vendors
from bot.alerts.message import ALERT, alert_template
from bot.clock import pagerduty, watch
from bot.clock import service as clock_service
from bot.clock import timers as clock_timers
from bot.deps import Deps
from bot.incidents import confidential, mentions, relocate
from bot.incidents.card import CARD, SECURE_CARD, card_template
from bot.jobs import housekeeping
from bot.jobs.scheduler import Handler, Recurring, Scheduler
from bot.logs import Redactor, report_unexpected
from bot.outbox import Chore, Outbox
from bot.outbox.slack import RepeatSafeRetry
from bot.probes.catalog import Catalog
from bot.public import service as public
from bot.public.routes import routes as public_routes
from bot.runbook import escalate, ops, routine
from bot.runbook import service as diagnostics
from bot.runbook.routing import ScenarioRouter
from bot.server.app import SlackOverHttp, opsbot_server, serving
from bot.server.health import Health, SlackAuth
from bot.server.lifecycle import SINGLE, Stopping, stop_recorder
from bot.server.metrics import Metrics
from bot.settings import Settings, SettingsError
from bot.slack import ids
from bot.slack.app import build_app
from bot.slack.web import BODY_TIMEOUT
from bot.store import Store, Tx, migrate_when_reachable, open_store
from bot.webhooks import Webhooks, WebhookSource
from bot.webhooks import alerts as alert_webhooks

log = logging.getLogger("opsbot.runtime")
# How often the scheduler looks for due timers: a timer fires within this (plus its own work) of its
# due time. The look is one indexed query, however many timers are pending (benchmarks/timers.py).
TIMER_POLL = 0.5

RESUME_EVERY = 30.0  # how often the delivery lease holder looks for abandoned diagnostics and reports
ABANDONED = 60.0  # a run or report silent this long died with its process or a store blip


def job_handlers(deps: Deps) -> dict[str, Handler]:
    """Every timer kind this bot fires, and its handler: add a scheduled job here."""
    keep_for = deps.settings.retention_days * 86400
    return {
        housekeeping.KIND: housekeeping.prune(
            clock=deps.clock, keep_for=keep_for, incidents=incident_record(deps.settings)
        ),
        vendors.WATCH_JOB: vendors.watch_handler(deps),
        mentions.KIND: mentions.handler(deps),  # a mention waiting for its card's ts
        **clock_timers.handlers(deps),  # response and resolve targets, nudges, the monitoring watch
        **routine.handlers(deps),  # the daily, weekly and monthly routine checks
        settle.KIND: settle.handler(deps),  # confirmed actions whose outcome was never recorded
    }


def incident_record(settings: Settings) -> housekeeping.IncidentRecord:
    """How long resolved incidents are kept, and the refs and values of one (owned by their modules)."""
    scenarios = [*handlers.SCENARIOS, handlers.GENERAL.key]

    def diags(n: int) -> list[str]:
        return [ids.diagnostics_ref(n), *(ids.diagnostics_ref(n, s) for s in scenarios)]

    def refs(n: int) -> list[str]:
        own = [ids.card_ref(n), ids.public_card_ref(n), ids.checklist_ref(n), ids.picker_ref(n)]
        return [*own, ids.nudge_ref(n), ids.watch_ref(n), *diags(n)]

    def keys(n: int) -> list[str]:
        return [escalate.marker(n), watch.key(n)]

    def alert_unlinked(tx: Tx, alert_id: int, now: float) -> Awaitable[None]:
        return alert_message.owe_edit(tx, alert_id, at=now)  # its buttons back, the incident's name out

    return housekeeping.IncidentRecord(settings.incident_retention_days, refs, keys, diags, alert_unlinked)


def recurring_jobs(settings: Settings) -> tuple[Recurring, ...]:
    """Jobs on a schedule: add a recurring job here (its handler goes in ``job_handlers``)."""
    try:
        watch = vendors.watch_schedule(settings.status_watch_every)
    except ValueError as exc:
        raise SettingsError(f"STATUS_WATCH_EVERY: {str(exc).split(': ', 1)[-1]}") from None
    vendors_watch = (watch,) if watch and settings.status_pages else ()
    return (housekeeping.HOURLY, *vendors_watch, *routine.recurring(settings))


def webhook_sources(deps: Deps) -> list[WebhookSource[Any]]:
    """Every inbound webhook (``POST /hooks/<name>``): add a source here."""
    return [*alert_webhooks.sources(deps)]


@dataclass
class Runtime:
    """A started bot: its ports, its Bolt app, and the stack that closes them."""

    settings: Settings
    deps: Deps
    app: AsyncApp
    client: AsyncWebClient
    store: Store
    outbox: Outbox
    scheduler: Scheduler
    metrics: Metrics
    webhooks: Webhooks
    stack: AsyncExitStack
    health: Health
    stopping: Stopping

    async def serve_http(
        self,
        *,
        host: str,
        port: int,
        slack: bool = True,
        body_timeout: float = BODY_TIMEOUT,
        reuse_port: bool = False,
    ) -> int:
        """Serve the HTTP app until ``close``; ``slack=False`` leaves out Slack's route (Socket Mode);
        ``reuse_port`` shares the port with the other workers of ``serve --workers``. Returns the bound
        port."""
        over_http = None
        if slack:
            over_http = SlackOverHttp(
                bolt=self.app,
                signing_secret=_signing_secret(self.settings, None),
                foreground=self.outbox.foreground,
                body_timeout=body_timeout,
            )
        server = opsbot_server(
            store=self.store,
            metrics=self.metrics,
            webhooks=self.webhooks,
            slack=over_http,
            health=self.health,
            public=public_routes(self.deps),
        )
        return await self.stack.enter_async_context(
            serving(server, host=host, port=port, reuse_port=reuse_port)
        )

    async def close(self, *, grace: float = 0.0, clean: bool = False) -> None:
        """Close everything, last opened first. With ``grace`` (SIGTERM) the delivery round in progress
        may finish first; ``clean`` records the stop, so the next start can say it was one."""
        self.outbox.grace = grace
        self.stopping.clean = clean
        await self.stack.aclose()


def _signing_secret(settings: Settings, given: str | None) -> str:
    secret = given or (
        settings.slack_signing_secret.get_secret_value() if settings.slack_signing_secret else None
    )
    if not secret:
        raise SettingsError("SLACK_SIGNING_SECRET: is required to verify Slack's requests")
    return secret


async def _slack_client(settings: Settings, stack: AsyncExitStack) -> tuple[AsyncWebClient, SlackAuth]:
    """The Web API client, and what watches its answers for a refused token (for readiness)."""
    auth = SlackAuth()
    token = settings.slack_bot_token.get_secret_value() if settings.slack_bot_token else None
    # One long-lived HTTP session: without it slack_sdk opens a new connection for every call.
    session = await stack.enter_async_context(aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10)))
    client = AsyncWebClient(
        token=token,
        timeout=10,
        base_url=settings.slack_api_url or AsyncWebClient.BASE_URL,
        session=session,
        # auth watches every answer for a refused token; it never retries, so it goes first
        retry_handlers=[auth.watcher(), RepeatSafeRetry()],
    )
    return client, auth


async def _open_store(
    settings: Settings,
    store: Store | None,
    stack: AsyncExitStack,
    clock: Callable[[], float],
    instance: str,
) -> tuple[Store, Stopping]:
    """The store, migrated; closed last, right after a clean stop is recorded in it."""
    store = store or open_store(settings.database_url.get_secret_value())
    stack.push_async_callback(store.close)
    stopping = Stopping(instance=instance)
    stack.push_async_callback(stop_recorder(store, stopping, clock))  # runs after delivery stops
    await migrate_when_reachable(store)  # or exit non-zero after 60 s
    return store, stopping


def _health(deps: Deps, client: AsyncWebClient, auth: SlackAuth) -> Health:
    return Health(
        store=deps.store,
        client=client,
        auth=auth,
        delivery_running=deps.outbox.running,
        delivery=deps.outbox.health,
        max_pending_age_s=deps.settings.ready_max_pending_age_s,
        clock=deps.clock,
        security=deps.security,
    )


def _scheduler(deps: Deps, recurring: Sequence[Recurring], options: Mapping[str, Any]) -> Scheduler:
    return Scheduler(
        deps.store,
        handlers=job_handlers(deps),
        clock=deps.clock,
        recurring=recurring,
        on_error=report_unexpected,
        **{"poll_interval": TIMER_POLL, **options},
    )


async def _outbox(
    settings: Settings,
    *,
    store: Store,
    client: AsyncWebClient,
    clock: Callable[[], float],
    stack: AsyncExitStack,
    options: Mapping[str, Any],
    security: SecurityChannel,
) -> Outbox:
    # Slack's response_urls and PagerDuty; probes have their own client
    outbound = await stack.enter_async_context(httpx.AsyncClient(timeout=10.0))
    pager, key = None, settings.pagerduty_routing_key
    if key is not None:
        pager = pagerduty.PagerDuty(
            outbound, url=settings.pagerduty_events_url, routing_key=key, clock=clock
        ).send
    outbox = Outbox(
        store,
        client,
        http=outbound,
        incident_channel=settings.incident_channel,
        clock=clock,
        on_error=report_unexpected,
        templates={
            CARD: card_template(settings, security),
            SECURE_CARD: card_template(settings, security, secure=True),
            ALERT: alert_template(),
        },
        pager=pager,
        guard=confidential.delivery_guard(security),  # a confidential incident's thread stays private
        **options,
    )
    stack.push_async_callback(outbox.stop)
    return outbox


async def _deps(
    settings: Settings,
    *,
    store: Store,
    stack: AsyncExitStack,
    http: httpx.AsyncClient,
    client: AsyncWebClient,
    metrics: Metrics,
    clock: Callable[[], float],
    outbox_options: Mapping[str, Any],
) -> Deps:
    """The ports every use case receives (the outbox guarding the security channel, checked with
    Slack), with the incident core's wired in; background work is cancelled before delivery stops."""
    security = await SecurityChannel.checked(settings.security_channel, client=client)
    outbox = await _outbox(
        settings,
        store=store,
        client=client,
        clock=clock,
        stack=stack,
        options=outbox_options,
        security=security,
    )
    deps = Deps(
        settings=settings,
        store=store,
        outbox=outbox,
        catalog=Catalog(settings, http, observe=metrics.probe_finished),
        directory=SlackDirectory(client, ttl=settings.access_cache_s),
        clock=clock,
        redact=Redactor(settings.secrets()),
        security_channel=security,
    )
    _wire_incidents(deps)
    stack.push_async_callback(deps.cancel_background)
    return deps


def _webhooks(deps: Deps, given: Sequence[WebhookSource[Any]] | None, metrics: Metrics) -> Webhooks:
    sources = webhook_sources(deps) if given is None else given
    return Webhooks(sources, clock=deps.clock, observe=metrics.webhook)


def _wire_incidents(deps: Deps) -> None:
    """The incident core's ports: how titles route, and who hears what it does in its transaction
    (listed here, never self-registered)."""
    deps.router = ScenarioRouter(deps.settings.scenario_keywords)
    deps.subscribers = (
        clock_service.subscriber(deps),
        relocate.subscriber(deps),
        diagnostics.subscriber(deps),
        public.subscriber(deps),
    )


async def start_runtime(
    settings: Settings,
    *,
    store: Store | None = None,
    http: httpx.AsyncClient | None = None,
    clock: Callable[[], float] = time.time,
    outbox_options: Mapping[str, Any] | None = None,
    scheduler_options: Mapping[str, Any] | None = None,
    webhooks: Sequence[WebhookSource[Any]] | None = None,
    deliver: bool = True,
    signing_secret: str | None = None,
    instance: str = SINGLE,
) -> Runtime:
    """Open the store (migrating it), build the clients and the app, start delivering and firing timers."""
    secret = _signing_secret(settings, signing_secret)
    recurring = recurring_jobs(settings)  # a bad schedule stops start-up before anything is opened
    async with AsyncExitStack() as stack:
        store, stopping = await _open_store(settings, store, stack, clock, instance)
        http = await stack.enter_async_context(
            http or httpx.AsyncClient(timeout=httpx.Timeout(settings.probe_timeout_s))
        )
        client, auth = await _slack_client(settings, stack)
        metrics = Metrics(clock=clock)
        deps = await _deps(
            settings,
            store=store,
            stack=stack,
            http=http,
            client=client,
            metrics=metrics,
            clock=clock,
            outbox_options=outbox_options or {},
        )
        app = build_app(deps, client=client, signing_secret=secret, observe=metrics.slack_request)
        scheduler = _scheduler(deps, recurring, scheduler_options or {})
        registry = _webhooks(deps, webhooks, metrics)
        if deliver:
            deps.outbox.start()
            await stack.enter_async_context(scheduler)
            await _resume_owed_work(deps.outbox, deps)
        owned = stack.pop_all()  # Runtime.close() owns them now; a failure above has closed them
    return Runtime(
        settings=settings,
        deps=deps,
        app=app,
        client=client,
        store=store,
        outbox=deps.outbox,
        scheduler=scheduler,
        metrics=metrics,
        webhooks=registry,
        stack=owned,
        health=_health(deps, client, auth),
        stopping=stopping,
    )


async def _resume_owed_work(outbox: Outbox, deps: Deps) -> None:
    """Resume diagnostics and ``/ops`` reports a stopped process left, now and, by the delivery lease
    holder, periodically in the delivery loop (they spawn probe runs, which a scheduler handler, being
    quick work inside its claiming transaction, should not)."""
    await diagnostics.resume(deps)
    await ops.resume(deps)
    outbox.add_chore(
        Chore("resume diagnostics", RESUME_EVERY, lambda: diagnostics.resume(deps, abandoned_after=ABANDONED))
    )
    outbox.add_chore(
        Chore("resume /ops reports", RESUME_EVERY, lambda: ops.resume(deps, abandoned_after=ABANDONED))
    )
