"""The outbox's Slack side: Web API calls with their errors mapped once, channel lookup, joining, and
finding a post an earlier attempt already made (so a retry never posts twice)."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import aiohttp
from slack_sdk.errors import SlackApiError, SlackClientError
from slack_sdk.http_retry.builtin_async_handlers import AsyncConnectionErrorRetryHandler
from slack_sdk.http_retry.request import HttpRequest
from slack_sdk.http_retry.response import HttpResponse
from slack_sdk.http_retry.state import RetryState
from slack_sdk.web.async_client import AsyncWebClient

from bot.outbox.errors import CANNOT_LOOK, Failed, Retry, from_slack
from bot.store import Store, repo

log = logging.getLogger("opsbot.outbox")

METADATA_EVENT = "opsbot_outbox"
LOOKBACK_SLACK = 60.0  # seconds before an item's creation that its post may carry (clock skew)
MAX_PAGES = 50


# Web API methods that create something each time they are called: sent twice, they act twice.
NOT_REPEATABLE = frozenset(
    {
        "chat.postMessage",
        "chat.postEphemeral",
        "chat.meMessage",
        "chat.scheduleMessage",
        "files.upload",
        "files.completeUploadExternal",
        "conversations.create",
        "views.open",
        "views.push",
    }
)


class RepeatSafeRetry(AsyncConnectionErrorRetryHandler):
    """slack_sdk's retry of a call whose connection failed, for calls that are safe to repeat only: a
    connection cut after Slack posted a message would otherwise post it again, unseen by the outbox,
    which looks for an earlier copy before it retries an uncertain post."""

    async def _can_retry_async(
        self,
        *,
        state: RetryState,
        request: HttpRequest,
        response: HttpResponse | None = None,
        error: Exception | None = None,
    ) -> bool:
        method = request.url.rstrip("/").rsplit("/", 1)[-1]
        if method in NOT_REPEATABLE:
            return False
        return await super()._can_retry_async(state=state, request=request, response=response, error=error)


@dataclass(frozen=True)
class Posted:
    channel: str
    ts: str
    permalink: str | None = None


class SlackSender:
    """Calls Slack for the deliverer. ``paused_until`` is when a 429 lets calls resume."""

    def __init__(
        self, client: AsyncWebClient, store: Store, *, clock: Callable[[], float] = time.time
    ) -> None:
        self.client = client
        self.store = store
        self.clock = clock
        self.paused_until = 0.0
        # A call that takes longer is given up (and, being uncertain, looked for before it is retried).
        self.call_timeout = 10.0
        self._channel_ids: dict[str, str] = {}

    async def call(self, method: str, **kwargs: Any) -> dict[str, Any]:
        """Call a Web API method; raises Retry, Failed or Stop (see ``bot.outbox.errors``)."""
        kwargs = {k: v for k, v in kwargs.items() if v is not None}
        try:
            response = await asyncio.wait_for(getattr(self.client, method)(**kwargs), self.call_timeout)
            return dict(response.data) if isinstance(response.data, dict) else {}
        except SlackApiError as exc:
            status = exc.response.status_code
            data = exc.response.data
            error = str(data.get("error") or f"HTTP {status}") if isinstance(data, dict) else f"HTTP {status}"
            after = None
            if status == 429:
                headers = exc.response.headers
                after = float(headers.get("retry-after", headers.get("Retry-After", 1)))
                self.paused_until = self.clock() + after
            raise from_slack(error, status=status, retry_after=after) from exc
        # aiohttp's own errors (a connection cut after the request was sent) reach here since the
        # client no longer repeats a post by itself: the post may have landed, so it is uncertain.
        except (SlackClientError, aiohttp.ClientError, TimeoutError, OSError, ValueError) as exc:
            raise Retry(f"{exc.__class__.__name__}: {exc}"[:200], uncertain=True) from exc

    async def post(
        self,
        *,
        channel: str,
        text: str,
        blocks: list[dict[str, Any]] | None,
        item_ids: list[int],
        thread_ts: str | None = None,
        broadcast: bool = False,
    ) -> Posted:
        """Post a message carrying its outbox ids, so a later attempt can tell it reached Slack."""
        metadata = {"event_type": METADATA_EVENT, "event_payload": {"outbox_ids": item_ids}}
        response = await self.call(
            "chat_postMessage",
            channel=channel,
            text=text,
            blocks=blocks,
            metadata=metadata,
            thread_ts=thread_ts,
            reply_broadcast=True if thread_ts and broadcast else None,
        )
        return Posted(str(response.get("channel") or channel), str(response["ts"]))

    async def update(self, *, channel: str, ts: str, text: str, blocks: list[dict[str, Any]] | None) -> None:
        await self.call("chat_update", channel=channel, ts=ts, text=text, blocks=blocks)

    async def ephemeral(
        self,
        *,
        channel: str,
        user: str,
        text: str,
        blocks: list[dict[str, Any]] | None,
        thread_ts: str | None,
    ) -> None:
        await self.call(
            "chat_postEphemeral", channel=channel, user=user, text=text, blocks=blocks, thread_ts=thread_ts
        )

    async def permalink(self, posted: Posted) -> str | None:
        try:
            link = await self.call("chat_getPermalink", channel=posted.channel, message_ts=posted.ts)
        except (Retry, Failed):
            return None
        return str(link.get("permalink") or "") or None

    async def find_earlier(
        self, *, item_id: int, created_at: float, channel: str, thread_ts: str | None
    ) -> Posted | None:
        """The message an earlier attempt of item ``item_id`` posted, if Slack has it.

        Reads every page back to the item's creation (history comes newest first; a busy channel has
        more than one page), so a post Slack processed late is still found."""
        oldest = max(0.0, created_at - LOOKBACK_SLACK)
        method, args = (
            ("conversations_replies", {"ts": thread_ts}) if thread_ts else ("conversations_history", {})
        )
        cursor: str | None = None
        try:
            for _ in range(MAX_PAGES):
                page = await self.call(
                    method,
                    channel=channel,
                    oldest=f"{oldest:.6f}",
                    include_all_metadata=True,
                    limit=200,
                    cursor=cursor,
                    **args,
                )
                for message in page.get("messages") or []:
                    if _carries(message, item_id):
                        log.info("outbox: item %d had reached Slack before; not posting it again", item_id)
                        return Posted(channel, str(message["ts"]))
                cursor = (page.get("response_metadata") or {}).get("next_cursor") or None
                if not page.get("has_more") or not cursor:
                    return None
        except Retry as exc:
            if str(exc) not in CANNOT_LOOK:
                raise
            # A private channel without groups:history, say: posting again beats never posting.
            log.warning("outbox: cannot check whether item %d reached Slack (%s); posting it", item_id, exc)
            return None
        raise Retry(f"more than {MAX_PAGES} pages to look through for item {item_id}")

    async def channel(self, name: str) -> str:
        """A channel ID for ``name``: IDs pass through, ``#name`` is looked up once and remembered."""
        if not name.startswith("#"):
            return name
        if name in self._channel_ids:
            return self._channel_ids[name]
        key = f"channel_id:{name}"
        async with self.store.transaction() as tx:
            known = await repo.get_value(tx, key)
        if known is None:
            known = await self._find_channel(name[1:])
            async with self.store.transaction() as tx:
                await repo.set_value(tx, key, known)
        self._channel_ids[name] = known
        return known

    async def _find_channel(self, name: str) -> str:
        cursor = None
        for _ in range(100):
            page = await self.call(
                "conversations_list",
                types="public_channel,private_channel",
                exclude_archived=True,
                limit=1000,
                cursor=cursor,
            )
            for channel in page.get("channels", []):
                if channel.get("name") == name:
                    return str(channel["id"])
            cursor = (page.get("response_metadata") or {}).get("next_cursor")
            if not cursor:
                break
        raise Retry(f"channel #{name} not found (or not visible to the bot)", after=60.0)

    async def join(self, channel: str) -> bool:
        """Join a public channel the bot is not in; False when it cannot (private, archived)."""
        try:
            await self.call("conversations_join", channel=channel)
        except (Retry, Failed) as exc:
            log.warning("outbox: cannot join %s: %s", channel, exc)
            return False
        log.info("outbox: joined %s", channel)
        return True


def _carries(message: dict[str, Any], item_id: int) -> bool:
    meta = message.get("metadata") or {}
    if meta.get("event_type") != METADATA_EVENT:
        return False
    ids = (meta.get("event_payload") or {}).get("outbox_ids") or []
    return item_id in ids
