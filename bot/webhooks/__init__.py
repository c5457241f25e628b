"""Inbound webhooks from services other than Slack, at ``POST /hooks/<name>``, in serve and socket modes.

A source is three typed steps: ``verify`` (is this really from the sender? raise Forbidden), ``parse``
(the body into a typed event, or UsageError), and ``handle`` (one use case). The route is thin: it
runs the three and turns the outcome into a status the sender understands (401, 400, 503 to retry
later, 500 with a reference), so a source never writes HTTP code of its own. Sources are listed in
``bot.runtime`` (one explicit list), never registered at import.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from aiohttp import web

from bot.errors import Conflict, Forbidden, OpsbotError, StoreUnavailable, UsageError
from bot.logs import report_unexpected

log = logging.getLogger("opsbot.webhooks")

HOOKS_PATH = "/hooks/{name}"
NAME = re.compile(r"[a-z][a-z0-9-]{0,39}")
E = TypeVar("E")


@dataclass(frozen=True)
class Inbound:
    """A webhook request as a source sees it: headers (case-insensitive) and the raw body."""

    headers: Mapping[str, str]
    body: bytes
    received_at: float


@dataclass(frozen=True)
class WebhookSource(Generic[E]):
    """One sender: its name in the URL, and its verify, parse and handle steps."""

    name: str
    verify: Callable[[Inbound], None]
    parse: Callable[[Inbound], E]
    handle: Callable[[E], Awaitable[None]]


StatusObserver = Callable[[str, int], None]


class Webhooks:
    """The registry of sources, checked when built, and the one route that serves them all."""

    def __init__(
        self,
        sources: Sequence[WebhookSource[Any]],
        *,
        clock: Callable[[], float],
        observe: StatusObserver | None = None,
    ) -> None:
        by_name: dict[str, WebhookSource[Any]] = {}
        for source in sources:
            if not NAME.fullmatch(source.name):
                raise ValueError(f"webhook source name {source.name!r}: use a-z, 0-9 and -")
            if source.name in by_name:
                raise ValueError(f"webhook source {source.name!r} is listed twice")
            by_name[source.name] = source
        self.sources: Mapping[str, WebhookSource[Any]] = by_name
        self.clock = clock
        self.observe = observe or (lambda name, status: None)

    def routes(self) -> list[web.RouteDef]:
        """POST /hooks/<name>."""
        return [web.post(HOOKS_PATH, self._receive)]

    async def _receive(self, request: web.Request) -> web.Response:
        source = self.sources.get(request.match_info["name"])
        if source is None:
            return _answer(404, "no such webhook")
        inbound = Inbound(headers=request.headers, body=await request.read(), received_at=self.clock())
        status, text = await self.accept(source, inbound)
        self.observe(source.name, status)
        return _answer(status, text)

    async def accept(self, source: WebhookSource[Any], inbound: Inbound) -> tuple[int, str]:
        """Verify, parse, handle: the HTTP status and a short reason for the sender."""
        try:
            source.verify(inbound)
        except Forbidden as exc:
            log.info("webhook %s: refused: %s", source.name, exc)
            return 401, "not verified"
        try:
            event = source.parse(inbound)
        except UsageError as exc:
            return 400, exc.user_message()
        try:
            await source.handle(event)
        except Conflict:
            return 200, "already received"  # a redelivery: the sender may stop retrying
        except StoreUnavailable:
            return 503, "try again later"  # every sender we know retries a 503
        except OpsbotError as exc:
            return 422, exc.user_message()
        except Exception as exc:
            return 500, f"unexpected error (ref {report_unexpected(exc)})"
        return 202, "accepted"


def _answer(status: int, text: str) -> web.Response:
    ok = status < 300
    body = {"ok": ok, "message" if ok else "error": text}
    return web.Response(status=status, text=json.dumps(body), content_type="application/json")
