"""``/livez``, ``/readyz`` and ``/healthz``: what a platform asks before it restarts or routes to us.

- ``/livez``: the process serves HTTP (and names its pid). Nothing else: a database outage must not
  restart every instance.
- ``/readyz``: this instance can do its job: the store takes a write, its schema is the one this code
  knows, Slack accepts the bot token (``auth.test`` at start and again after Slack refuses it), delivery
  is running, neither stopped nor stuck (the outbox's own health), and the oldest undelivered message is
  younger than a bound.
- ``/healthz``: kept for existing probes; the store's state and the outbox backlog, 503 when the store
  cannot be written.
"""

from __future__ import annotations

import enum
import json
import logging
import os
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any

from aiohttp import web
from slack_sdk.errors import SlackApiError, SlackClientError
from slack_sdk.http_retry.async_handler import AsyncRetryHandler
from slack_sdk.http_retry.request import HttpRequest
from slack_sdk.http_retry.response import HttpResponse
from slack_sdk.http_retry.state import RetryState
from slack_sdk.web.async_client import AsyncWebClient

from bot.access.security import SecurityChannel
from bot.errors import StoreUnavailable
from bot.logs import Redactor
from bot.outbox import DeliveryHealth
from bot.store import Store, Tx, queue
from bot.store.schema import probe_write, schema_problem

log = logging.getLogger("opsbot.health")

# Slack's answers meaning the token itself is no good (not a blip): the bot cannot work until fixed.
AUTH_ERRORS = frozenset(
    {"invalid_auth", "not_authed", "token_revoked", "token_expired", "account_inactive", "no_permission"}
)


class TokenState(enum.Enum):
    UNKNOWN = "unknown"  # not checked yet, or Slack could not be reached when it was
    VALID = "valid"
    REFUSED = "refused"


class SlackAuth:
    """Whether Slack accepts the bot token: ``auth.test`` at start and again after any refusal."""

    def __init__(self) -> None:
        self.state = TokenState.UNKNOWN
        self.detail = "not checked yet"
        self._recheck = True

    def watcher(self) -> AuthWatch:
        """A slack_sdk retry handler that only watches: any call Slack refuses for auth flags a recheck."""
        return AuthWatch(self)

    def refused(self, error: str) -> None:
        self.state, self.detail, self._recheck = TokenState.REFUSED, error, True

    async def check(self, client: AsyncWebClient) -> TokenState:
        """Call ``auth.test`` when due (at start, after a refusal); otherwise the last answer."""
        if not self._recheck:
            return self.state
        try:
            response = await client.auth_test()
        except SlackApiError as exc:
            error = str(exc.response.get("error") or exc.response.status_code)
            if error in AUTH_ERRORS:
                self.state, self.detail, self._recheck = TokenState.REFUSED, error, True
                log.error("slack: the bot token is refused (%s); not ready until it is replaced", error)
            else:
                self.state, self.detail = TokenState.UNKNOWN, error
            return self.state
        except (SlackClientError, OSError, TimeoutError) as exc:
            self.state, self.detail = TokenState.UNKNOWN, exc.__class__.__name__
            return self.state
        self.state, self.detail, self._recheck = TokenState.VALID, f"team {response.get('team_id')}", False
        return self.state


class AuthWatch(AsyncRetryHandler):
    """Sees every Slack Web API response (slack_sdk's only per-response hook) and never retries.

    Put it first among the client's handlers: the first handler that retries hides the response from
    the rest."""

    def __init__(self, auth: SlackAuth) -> None:
        super().__init__(max_retry_count=0)
        self.auth = auth

    async def can_retry_async(
        self,
        *,
        state: RetryState,
        request: HttpRequest,
        response: HttpResponse | None = None,
        error: Exception | None = None,
    ) -> bool:
        body = response.body if response is not None else None
        if isinstance(body, dict) and body.get("error") in AUTH_ERRORS:
            self.auth.refused(str(body["error"]))
        return False


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    detail: str


class Health:
    """Runs the readiness checks; one instance per process, shared by every route."""

    def __init__(
        self,
        *,
        store: Store,
        client: AsyncWebClient,
        auth: SlackAuth,
        delivery_running: Callable[[], bool],
        delivery: Callable[[], DeliveryHealth],
        max_pending_age_s: float,
        clock: Callable[[], float] = time.time,
        security: SecurityChannel | None = None,
    ) -> None:
        self.store = store
        self.client = client
        self.auth = auth
        self.delivery_running = delivery_running
        self.delivery = delivery
        self.max_pending_age_s = max_pending_age_s
        self.clock = clock
        self.security = security

    async def _store(self) -> tuple[Check, Check, bool, float | None]:
        """The store's and the schema's checks; whether the store answered; the oldest pending wait."""
        now = self.clock()

        async def probe(tx: Tx) -> tuple[str | None, float | None]:
            await probe_write(tx)  # a store that answers reads may still refuse writes
            return await schema_problem(tx), await oldest_pending(tx)

        try:
            problem, oldest = await self.store.run(probe)
        except (StoreUnavailable, OSError) as exc:
            failed = Check("store", False, f"cannot write: {exc.__class__.__name__}")
            return failed, Check("schema", False, "unknown: the store is unreachable"), False, None
        except Exception as exc:  # a read-only database, a full disk: not ready, whatever the cause
            failed = Check("store", False, f"cannot write: {exc.__class__.__name__}")
            return failed, Check("schema", False, "unknown"), False, None
        schema = Check("schema", problem is None, problem or "current")
        age = None if oldest is None else max(0.0, now - oldest)
        return Check("store", True, "writable"), schema, True, age

    async def readiness(self) -> list[Check]:
        """Every readiness check, in a fixed order."""
        store, schema, reached, age = await self._store()
        token = await self.auth.check(self.client)
        checks = [store, schema, Check("slack_token", token is not TokenState.REFUSED, self.auth.detail)]
        if self.security is not None and self.security.configured:
            # Confidential incidents need a private channel; until Slack says it is one, not ready.
            await self.security.check_if_due()
            checks.append(Check("security_channel", self.security.safe, self.security.detail))
        if not reached:
            return [*checks, Check("delivery", False, "unknown: the store is unreachable")]
        delivery = self.delivery()  # the outbox's own account (from memory)
        if delivery.stopped:
            checks.append(Check("delivery", False, f"stopped: {delivery.stopped}"))
        elif not self.delivery_running():
            checks.append(Check("delivery", False, "the deliverer has stopped"))
        elif delivery.stuck:
            checks.append(Check("delivery", False, f"stuck: {delivery.stuck}"))
        elif age is not None and age > self.max_pending_age_s:
            bound = self.max_pending_age_s
            checks.append(Check("delivery", False, f"oldest undelivered waits {age:.0f} s (> {bound:.0f} s)"))
        else:
            waits = "nothing waiting" if age is None else f"oldest waits {age:.1f} s"
            checks.append(Check("delivery", True, waits))
        return checks


async def oldest_pending(tx: Tx) -> float | None:
    """When the oldest undelivered item was owed (the outbox index on (state, id) finds it)."""
    row = await tx.fetchone(
        "SELECT created_at FROM outbox WHERE state IN ('pending', 'sending') ORDER BY id LIMIT 1"
    )
    return float(row["created_at"]) if row else None


def _json(status: int, body: dict[str, Any]) -> web.Response:
    return web.Response(status=status, text=json.dumps(body), content_type="application/json")


def health_routes(store: Store, health: Health | None = None) -> list[web.RouteDef]:
    """/healthz, and with ``health`` /livez and /readyz, for whichever application serves this process."""

    async def healthz(request: web.Request) -> web.Response:
        try:
            state = await store.ping()
            await store.writable()
            async with store.transaction() as tx:
                undelivered = await queue.undelivered_count(tx)
        except (StoreUnavailable, OSError) as exc:
            why = getattr(exc, "cause", None) or Redactor()(str(exc)) or exc.__class__.__name__
            return _json(503, {"ok": False, "store": f"cannot write: {why}"})
        return _json(200, {"ok": True, "store": state, "outbox_pending": undelivered})

    group = [web.get("/healthz", healthz)]
    return group if health is None else [*group, *routes(health)]


def routes(health: Health) -> list[web.RouteDef]:
    """/livez and /readyz."""

    async def livez(request: web.Request) -> web.Response:
        # Which process answered: with ``serve --workers N`` several share the port.
        return _json(200, {"ok": True, "pid": os.getpid()})

    async def readyz(request: web.Request) -> web.Response:
        checks = await health.readiness()
        ok = all(c.ok for c in checks)
        return _json(200 if ok else 503, {"ok": ok, "checks": [asdict(c) for c in checks]})

    return [web.get("/livez", livez), web.get("/readyz", readyz)]
