"""Slack over HTTP: the route group for Slack's requests (verified before Bolt sees them), and the Bolt
middleware that times every ack (in HTTP and Socket Mode alike)."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import logging
import time
from collections.abc import Callable, Mapping
from typing import Any

from aiohttp import web
from slack_bolt.adapter.aiohttp import to_aiohttp_response, to_bolt_request
from slack_bolt.async_app import AsyncApp
from slack_bolt.request.payload_utils import (
    is_block_actions,
    is_event,
    is_options,
    is_shortcut,
    is_slash_command,
)

from bot.slack.foreground import Foreground

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


def slack_routes(
    app: AsyncApp,
    foreground: Foreground | None = None,
    *,
    signing_secret: str,
    body_timeout: float = BODY_TIMEOUT,
    clock: Callable[[], float] = time.time,
) -> list[web.RouteDef]:
    """POST /slack/events into the Bolt app; while Slack waits for an ack the outbox holds back."""
    busy = foreground or Foreground()

    async def slack_events(request: web.Request) -> web.Response:
        # Verified here, before Bolt: whatever is unsigned or malformed is refused quietly (401, an
        # INFO line, nothing reported), and a body that never finishes cannot hold a socket for ever.
        try:
            body = await asyncio.wait_for(request.read(), timeout=body_timeout)
        except TimeoutError:
            log.info("refused a request from %s: its body did not arrive in time", request.remote)
            return web.Response(status=408, text="request body timed out")
        except ConnectionResetError:  # the sender gave up (Slack, after 3 s without an ack): nobody to answer
            log.info("a request from %s hung up before its body arrived", request.remote)
            return web.Response(status=400, text="connection lost")
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

    return [web.post(EVENTS_PATH, slack_events)]


def request_kind(body: dict[str, Any]) -> str:
    """A small fixed set of kinds (a metrics label must not grow with input)."""
    if is_slash_command(body):
        return "command"
    if is_event(body):
        return "event"
    if is_block_actions(body):
        return "action"
    if body.get("type") in ("view_submission", "view_closed"):
        return "view"
    if is_shortcut(body):
        return "shortcut"
    if is_options(body):
        return "options"
    return "other"
