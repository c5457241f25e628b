"""PagerDuty Events API v2: the events opsbot sends (pure) and the outbox sender that posts them.

The routing key is a secret: it is added when the event is sent, never stored in the outbox.
Answers: 202 sent; 400 an invalid event (never retried); 429, 5xx and network errors retried.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any, Literal

import httpx
from pydantic import SecretStr

from bot.incidents.model import Incident, Severity
from bot.outbox import Failed, Page, Retry

PAGE = "page"  # the outbox kind for an outbound page
Action = Literal["trigger", "acknowledge", "resolve"]
SEVERITY: dict[Severity, str] = {
    Severity.P0: "critical",
    Severity.P1: "error",
    Severity.P2: "warning",
    Severity.P3: "info",
}
SUMMARY_LIMIT = 1024
CARD_WAIT = 5.0  # a trigger waits this long for the card to be posted, to link it; then goes without


def dedup_key(number: int) -> str:
    """Stable per incident: trigger, acknowledge and resolve all name the same PagerDuty alert."""
    return f"opsbot-INC-{number}"


def event(inc: Incident, action: Action, *, source: str, confidential: bool = False) -> dict[str, Any]:
    """The event body without its routing key (added when sent); ``confidential``: without the title,
    as a page outside the private security channel goes."""
    body: dict[str, Any] = {"event_action": action, "dedup_key": dedup_key(inc.number)}
    if action == "trigger":
        title = "a confidential (security) incident" if confidential else inc.title
        body["payload"] = {
            "summary": f"{inc.ref} {inc.severity.value}: {title}"[:SUMMARY_LIMIT],
            "source": source,
            "severity": SEVERITY[inc.severity],
            "component": inc.scenario or "general",
            "custom_details": {"incident": inc.ref, "status": inc.status.value},
        }
    return body


def card_link(channel: str, ts: str) -> str:
    """A permalink to a Slack message from its channel and ts (Slack redirects it to the workspace)."""
    return f"https://slack.com/archives/{channel}/p{ts.replace('.', '')}"


class PagerDuty:
    """The outbox's sender for ``page`` items: posts one event to the Events API."""

    def __init__(
        self,
        http: httpx.AsyncClient,
        *,
        url: str,
        routing_key: SecretStr,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.http = http
        self.url = url
        self.routing_key = routing_key
        self.clock = clock

    async def send(self, page: Page, card: tuple[str, str] | None, owed_at: float) -> None:
        """Send the event, or raise Retry (429, 5xx, network) or Failed (400 and other refusals)."""
        body = dict(page.event)
        if body["event_action"] == "trigger":
            if card:
                body["links"] = [{"href": card_link(*card), "text": "Incident card in Slack"}]
            elif self.clock() - owed_at < CARD_WAIT:
                raise Retry("waiting for the card to link it", after=0.5)
        body["routing_key"] = self.routing_key.get_secret_value()
        try:
            response = await self.http.post(self.url, json=body, timeout=10.0)
        except httpx.HTTPError as exc:
            raise Retry(f"PagerDuty: {exc.__class__.__name__}") from exc
        if response.status_code == 429:
            raise Retry("PagerDuty: rate limited (429)")
        if response.status_code >= 500:
            raise Retry(f"PagerDuty: HTTP {response.status_code}")
        if response.status_code >= 400:
            raise Failed(f"PagerDuty refused the event: HTTP {response.status_code} {_errors(response)}")


def _errors(response: httpx.Response) -> str:
    try:
        data = response.json()
    except ValueError:
        return ""
    if not isinstance(data, dict):
        return ""
    return f"{data.get('message', '')} {'; '.join(map(str, data.get('errors') or []))}".strip()[:300]
