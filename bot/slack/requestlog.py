"""One INFO line per request Slack sends: what it was, which incident, how long, what came of it.

Only the command's first word, the action id or the event type is logged, never what people typed.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable
from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_bolt.response import BoltResponse

from bot.errors import UsageError
from bot.slack.ids import CardButton
from bot.slack.replies import OUTCOMES
from bot.slack.web import request_kind

log = logging.getLogger("opsbot.requests")

_INCIDENT = re.compile(r"\bINC-(\d+)\b", re.IGNORECASE)


def describe(body: dict[str, Any]) -> tuple[str, str | None]:
    """(what the request is, the incident it names if any) from a parsed Slack request body."""
    if "command" in body:
        text = str(body.get("text") or "")
        word = text.split()[0].lower() if text.split() else ""
        found = _INCIDENT.search(text)
        return f"{body['command']} {word}".strip(), f"INC-{found.group(1)}" if found else None
    if body.get("type") == "block_actions":
        action = (body.get("actions") or [{}])[0]
        return f"action {action.get('action_id', '?')}", _button_incident(str(action.get("value") or ""))
    if body.get("type") == "event_callback":
        event = body.get("event") or {}
        kind = str(event.get("type", "?"))
        subtype = event.get("subtype")
        return f"event {kind}{'/' + subtype if subtype else ''}", None
    return str(body.get("type") or "request"), None


def _button_incident(value: str) -> str | None:
    try:
        button = CardButton.decode(value)
    except UsageError:
        return None
    return f"INC-{button.number}"


def outcome(response: BoltResponse, noted: list[str]) -> str:
    """``ok``; what the listener explained to the user (refused, stale, error); or the HTTP status."""
    if response.status != 200:
        return f"http {response.status}"
    return noted[-1] if noted else "ok"


class LoggedApp(AsyncApp):
    """The Bolt app, logging one line per dispatched request (HTTP, Socket Mode and the console) and
    telling ``observe`` (the metrics) each request's kind and time to ack."""

    # Here rather than a Bolt middleware: a global middleware's next() only marks the chain to go on
    # (the listener runs after every middleware returned), so it timed nothing; and each middleware
    # costs Bolt's keyword injection per request.
    observe: Callable[[str, float], None] | None = None

    async def async_dispatch(self, req: AsyncBoltRequest) -> BoltResponse:
        started = time.perf_counter()
        noted: list[str] = []
        token = OUTCOMES.set(noted)
        try:
            response = await super().async_dispatch(req)
        finally:
            OUTCOMES.reset(token)
        took = time.perf_counter() - started
        body = req.body if isinstance(req.body, dict) else {}
        if self.observe is not None:
            self.observe(request_kind(body), took)
        if not log.isEnabledFor(logging.INFO):  # LOG_LEVEL=WARNING: no line, so nothing to describe
            return response
        what, incident = describe(body)
        if incident is None and what == "/incident open" and isinstance(response.body, str):
            # The number is new: the reply to a declaration is the first place that names it.
            found = _INCIDENT.search(response.body)
            incident = f"INC-{found.group(1)}" if found else None
        log.info(
            "handled %s%s in %.0f ms: %s",
            what,
            f" ({incident})" if incident else "",
            took * 1000,
            outcome(response, noted),
        )
        return response
