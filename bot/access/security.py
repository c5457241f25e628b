"""The security channel, where confidential incidents live: whether Slack says it is private
(``conversations.info``: ``is_private``), asked at start-up, by /readyz and before routing there while it is
not known to be; one per process. What may be shown where is ``bot.incidents.confidential``'s rule."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from slack_sdk.errors import SlackApiError, SlackClientError

if TYPE_CHECKING:
    from slack_sdk.web.async_client import AsyncWebClient

log = logging.getLogger("opsbot.security")

RECHECK_AFTER = 60.0  # while not known private, Slack is asked again at most this often
RECHECK_SAFE = 600.0  # once private, asked again this often: it can be made public, archived, or leave us


class SecurityChannel:
    """The configured security channel and whether Slack says it is private; one per process."""

    def __init__(
        self,
        name: str | None,
        *,
        client: AsyncWebClient | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.name = name
        self.client = client
        self.channel_id = name if name and not name.startswith("#") else None
        self.private: bool | None = None
        self.detail = "not checked yet"
        self.clock = clock
        self._checked_at: float | None = None

    @classmethod
    async def checked(cls, name: str | None, *, client: AsyncWebClient) -> SecurityChannel:
        """The channel, asked about once (at start): public or unknown is logged, makes this instance not
        ready, and keeps confidential incidents to a stub until Slack says it is private."""
        security = cls(name, client=client)
        await security.check()
        return security

    @property
    def configured(self) -> bool:
        return self.name is not None

    @property
    def safe(self) -> bool:
        """Known private: confidential details may be shown there."""
        return self.configured and self.private is True and self.channel_id is not None

    def holds(self, channel: str | None) -> bool:
        """Whether ``channel`` (an ID) is the security channel, known private."""
        return self.safe and channel is not None and channel == self.channel_id

    def where(self) -> str:
        """The channel as a Slack link (or its name), for replies."""
        if self.channel_id and self.channel_id[:1] in {"C", "G"}:
            return f"<#{self.channel_id}>"
        return self.name or "the security channel"

    async def check_if_due(self) -> None:
        """Ask again when the last answer is older than ``RECHECK_AFTER`` (``RECHECK_SAFE`` once private)."""
        every = RECHECK_SAFE if self.safe else RECHECK_AFTER
        due = self._checked_at is None or self.clock() - self._checked_at >= every
        if self.configured and due:
            await self.check()

    async def check(self) -> bool:
        """Ask Slack whether the channel is private; a clear log line when it is not or cannot be told."""
        client = self.client
        if not self.configured:
            return False
        if client is None:
            return self._verdict(None, "unknown (no Slack client here)", self.private)
        self._checked_at = self.clock()
        was = self.private
        try:
            channel_id = self.channel_id or await _find(client, (self.name or "").removeprefix("#"))
            if channel_id is None:
                return self._verdict(None, "not found: create it private and invite the bot", was)
            self.channel_id = channel_id
            info = await client.conversations_info(channel=channel_id)
            channel = info.get("channel") or {}
            if channel.get("is_archived") is True:  # Slack refuses every post there
                return self._verdict(None, "ARCHIVED: unarchive it or name another", was)
            private = channel.get("is_private") is True
            return self._verdict(private, "private" if private else "PUBLIC: make it private", was)
        except SlackApiError as exc:
            error = str(exc.response.get("error") or exc.response.status_code)
            if was is True and (error == "ratelimited" or exc.response.status_code >= 500):
                return self._kept(error)  # Slack's trouble, not the channel's
            return self._verdict(None, f"cannot be read ({error}): invite the bot to it", was)
        except (SlackClientError, OSError, TimeoutError) as exc:
            if was is True:
                return self._kept(exc.__class__.__name__)
            return self._verdict(None, f"unknown (Slack unreachable: {exc.__class__.__name__})", was)

    def _kept(self, why: str) -> bool:
        log.warning(
            "security channel %s: re-check failed (%s); it was private, so it still counts", self.name, why
        )
        return True

    def _verdict(self, private: bool | None, detail: str, was: bool | None) -> bool:
        self.private, self.detail = private, f"{self.name}: {detail}"
        if private:
            if was is not True:
                log.info(
                    "security channel %s is private: confidential incidents are handled there", self.name
                )
        elif was is not False or private is not False:
            log.error(
                "security channel %s; confidential incidents show only a stub until it is private",
                self.detail,
            )
        return bool(private)


async def _find(client: AsyncWebClient, name: str) -> str | None:
    """A channel's ID by name, public or private (private ones only when the bot is a member)."""
    cursor = None
    for _ in range(50):
        page = await client.conversations_list(
            types="public_channel,private_channel", exclude_archived=True, limit=1000, cursor=cursor
        )
        for channel in page.get("channels") or []:
            if channel.get("name") == name:
                return str(channel["id"])
        cursor = (page.get("response_metadata") or {}).get("next_cursor")
        if not cursor:
            return None
    return None
