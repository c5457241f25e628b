"""Private replies through Slack's response_url (a plain HTTPS POST, not the Web API)."""

from __future__ import annotations

from typing import Any

import httpx

from bot.outbox.errors import Failed, Retry
from bot.outbox.messages import Respond

# A private reply cannot be looked up in Slack before it is sent again (a post can), so a slow answer is
# waited for longer than a Web API call's 10 s: a retry after a timeout would very likely send it twice.
RESPOND_TIMEOUT = 30.0


class ResponseSender:
    """POSTs ``Respond`` messages; HTTP answers mapped to Retry / Failed like Slack's errors."""

    def __init__(self, http: httpx.AsyncClient) -> None:
        self.http = http

    async def send(self, message: Respond) -> None:
        body: dict[str, Any] = {
            "response_type": message.response_type,
            "replace_original": message.replace_original,
            "text": message.text,
        }
        if message.blocks:
            body["blocks"] = message.blocks
        try:
            response = await self.http.post(message.url, json=body, timeout=RESPOND_TIMEOUT)
        except httpx.HTTPError as exc:
            raise Retry(exc.__class__.__name__, uncertain=True) from exc
        if response.status_code == 429:
            raise Retry("ratelimited", after=float(response.headers.get("retry-after", 1)))
        if response.status_code >= 500:
            raise Retry(f"HTTP {response.status_code}", uncertain=True)
        if response.status_code >= 400:
            raise Failed(f"response_url answered HTTP {response.status_code}")
