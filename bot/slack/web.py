"""HTTP mode: Slack's requests at /slack/events, and /healthz for the platform's checks."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import logging
import time
from collections.abc import Callable, Mapping, Sequence

from aiohttp import web
from slack_bolt.adapter.aiohttp import to_aiohttp_response, to_bolt_request
from slack_bolt.async_app import AsyncApp

from bot.errors import StoreUnavailable
from bot.logs import Redactor
from bot.slack.foreground import Foreground
from bot.store import Store, repo

EVENTS_PATH = "/slack/events"
BODY_TIMEOUT = 10.0  # Slack sends its whole request at once; a body still arriving after this never will
MAX_SKEW = 300.0  # Slack's own rule: refuse requests signed more than five minutes away from now

log = logging.getLogger("opsbot.slack")


def verified(body: bytes, headers: Mapping[str, str], secret: str, *, now: float) -> str | None:
    """None when Slack signed ``body``; otherwise why the request is refused (for an INFO log line)."""
    stamp, signature = headers.get("X-Slack-Request-Timestamp"), headers.get("X-Slack-Signature")
    if not stamp or not signature:
        return "unsigned"
    if not stamp.isascii() or not stamp.isdigit():
        return "malformed timestamp"
    if abs(now - int(stamp)) > MAX_SKEW:
        return "stale timestamp"
    digest = hmac.new(secret.encode(), b"v0:" + stamp.encode() + b":" + body, hashlib.sha256).hexdigest()
    if not hmac.compare_digest(f"v0={digest}".encode(), signature.encode("utf-8", "replace")):
        return "bad signature"
    return None


def build_web_app(
    app: AsyncApp,
    store: Store,
    foreground: Foreground | None = None,
    *,
    signing_secret: str,
    body_timeout: float = BODY_TIMEOUT,
    clock: Callable[[], float] = time.time,
    routes: Sequence[web.RouteDef] = (),
) -> web.Application:
    busy = foreground or Foreground()

    async def slack_events(request: web.Request) -> web.Response:
        # Verified here, before Bolt: whatever is unsigned or malformed is refused quietly (401, an
        # INFO line, nothing reported), and a body that never finishes cannot hold a socket for ever.
        try:
            body = await asyncio.wait_for(request.read(), timeout=body_timeout)
        except TimeoutError:
            log.info("refused a request from %s: its body did not arrive in time", request.remote)
            return web.Response(status=408, text="request body timed out")
        problem = verified(body, request.headers, signing_secret, now=clock())
        if problem is None:
            try:
                body.decode("utf-8")
            except UnicodeDecodeError:
                problem = "body is not UTF-8"
        if problem is not None:
            log.info("refused a request from %s: %s", request.remote, problem)
            return web.Response(status=401, text="invalid request")
        busy.enter()  # the outbox holds back while Slack waits for an ack
        try:
            bolt_request = await to_bolt_request(request)
            bolt_response = await app.async_dispatch(bolt_request)
            return await to_aiohttp_response(bolt_response)
        finally:
            busy.leave()

    async def healthz(request: web.Request) -> web.Response:
        try:
            state = await store.ping()
            await store.writable()
            async with store.transaction() as tx:
                counts = await repo.outbox_counts(tx)
        except (StoreUnavailable, OSError) as exc:
            why = getattr(exc, "cause", None) or Redactor()(str(exc)) or exc.__class__.__name__
            body = {"ok": False, "store": f"cannot write: {why}"}
            return web.Response(status=503, text=json.dumps(body), content_type="application/json")
        body = {
            "ok": True,
            "store": state,
            "outbox_pending": counts.get("pending", 0) + counts.get("sending", 0),
        }
        return web.Response(status=200, text=json.dumps(body), content_type="application/json")

    web_app = web.Application()
    web_app.router.add_post(EVENTS_PATH, slack_events)
    web_app.router.add_get("/healthz", healthz)
    web_app.router.add_routes(routes)  # /livez and /readyz (bot.server.health)
    return web_app
