"""Slack over HTTP: the route for Slack's requests, and the Bolt middleware that times every ack
(in HTTP and Socket Mode alike)."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web
from slack_bolt.adapter.aiohttp import to_aiohttp_response, to_bolt_request
from slack_bolt.async_app import AsyncApp
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_bolt.request.payload_utils import (
    is_block_actions,
    is_event,
    is_options,
    is_shortcut,
    is_slash_command,
)
from slack_bolt.response import BoltResponse

from bot.slack.foreground import Foreground

EVENTS_PATH = "/slack/events"

AckObserver = Callable[[str, float], None]
Next = Callable[[], Awaitable[BoltResponse]]
Middleware = Callable[[AsyncBoltRequest, BoltResponse, Next], Awaitable[BoltResponse]]


def slack_routes(app: AsyncApp, foreground: Foreground | None = None) -> list[web.RouteDef]:
    """POST /slack/events into the Bolt app; while Slack waits for an ack the outbox holds back."""
    busy = foreground or Foreground()

    async def slack_events(request: web.Request) -> web.Response:
        busy.enter()
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


def timing_middleware(observe: AckObserver) -> Middleware:
    """Bolt middleware: the listeners ack on return (process_before_response), so the time around
    ``next`` is the time to ack."""

    async def timed(
        req: AsyncBoltRequest, resp: BoltResponse, next: Callable[[], Awaitable[BoltResponse]]
    ) -> BoltResponse:
        started = time.perf_counter()
        try:
            return await next()
        finally:
            observe(request_kind(req.body), time.perf_counter() - started)

    return timed
