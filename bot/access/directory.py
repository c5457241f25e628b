"""Who someone is in Slack: guest or member, and user-group membership; read through the Web API,
kept for ``access_cache_s`` so a burst of commands costs one lookup."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Protocol

from slack_sdk.errors import SlackApiError, SlackClientError
from slack_sdk.web.async_client import AsyncWebClient

from bot.errors import UpstreamError


class Directory(Protocol):
    """The two questions permissions ask of Slack."""

    async def is_guest(self, user: str) -> bool:
        """True for multi- and single-channel guests (restricted accounts)."""

    async def members(self, usergroup: str) -> frozenset[str]:
        """The user ids in ``usergroup``."""


class SlackDirectory:
    """``users.info`` and ``usergroups.users.list``, cached briefly per instance."""

    def __init__(self, client: AsyncWebClient, *, ttl: float, clock: Callable[[], float] = time.monotonic):
        self._client = client
        self._ttl = ttl
        self._clock = clock
        self._guests: dict[str, tuple[float, bool]] = {}
        self._groups: dict[str, tuple[float, frozenset[str]]] = {}

    async def is_guest(self, user: str) -> bool:
        """True for multi- and single-channel guests (restricted accounts)."""
        cached = self._guests.get(user)
        if cached is not None and cached[0] > self._clock():
            return cached[1]
        try:
            response = await self._client.users_info(user=user)
        except (SlackApiError, SlackClientError, TimeoutError, OSError) as exc:
            raise UpstreamError(f"Slack did not say who {user} is ({_error(exc)})") from exc
        record = response.get("user") or {}
        guest = bool(record.get("is_restricted") or record.get("is_ultra_restricted"))
        self._guests[user] = (self._clock() + self._ttl, guest)
        return guest

    async def members(self, usergroup: str) -> frozenset[str]:
        """The user ids in ``usergroup``."""
        cached = self._groups.get(usergroup)
        if cached is not None and cached[0] > self._clock():
            return cached[1]
        try:
            response = await self._client.usergroups_users_list(usergroup=usergroup)
        except (SlackApiError, SlackClientError, TimeoutError, OSError) as exc:
            raise UpstreamError(f"Slack did not list user group {usergroup} ({_error(exc)})") from exc
        users = frozenset(str(u) for u in response.get("users") or [])
        self._groups[usergroup] = (self._clock() + self._ttl, users)
        return users


def _error(exc: Exception) -> str:
    if isinstance(exc, SlackApiError):
        data = exc.response.data  # a proxy's 500 answers text, not Slack's JSON
        return (
            str(data.get("error", "error")) if isinstance(data, dict) else f"HTTP {exc.response.status_code}"
        )
    return exc.__class__.__name__
