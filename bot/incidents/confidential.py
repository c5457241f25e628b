"""Confidential (security) incidents: where they live, and what may be shown where.

With ``security_channel`` set, a confidential incident's card and thread live in that channel, and only
once Slack says it is private (``conversations.info``: ``is_private``), checked at start-up and again
before routing there while it is not known to be. Until then, and anywhere else, the incident shows a
neutral stub: its card renders as one, and the outbox withholds anything meant for its thread outside
the private channel (``delivery_guard``, asked at send time, whatever code owed the message).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from slack_sdk.errors import SlackApiError, SlackClientError

from bot.incidents.model import Incident
from bot.outbox import Post, Update, Upload
from bot.outbox.messages import Message as Owed
from bot.slack import ids
from bot.slack.blocks import Message
from bot.store import Tx, repo

if TYPE_CHECKING:
    from slack_sdk.web.async_client import AsyncWebClient

    from bot.outbox.send import Guard

log = logging.getLogger("opsbot.security")

RECHECK_AFTER = 60.0  # while not known private, Slack is asked again at most this often


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
        """Ask again, unless known private or asked within ``RECHECK_AFTER`` seconds."""
        due = self._checked_at is None or self.clock() - self._checked_at >= RECHECK_AFTER
        if self.configured and not self.safe and due:
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
            private = channel.get("is_private") is True
            return self._verdict(private, "private" if private else "PUBLIC: make it private", was)
        except SlackApiError as exc:
            error = str(exc.response.get("error") or exc.response.status_code)
            return self._verdict(None, f"cannot be read ({error}): invite the bot to it", was)
        except (SlackClientError, OSError, TimeoutError) as exc:
            return self._verdict(None, f"unknown (Slack unreachable: {exc.__class__.__name__})", was)

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


def stub(inc: Incident) -> Message:
    """What a confidential incident shows where its details may not go: no title, no details."""
    text = f":lock: {inc.ref} is confidential; it is handled in a private channel."
    section = {
        "type": "section",
        "block_id": ids.stub_block(inc.number),
        "text": {"type": "mrkdwn", "text": text},
    }
    return Message(text=text, blocks=[section])


def hidden(security: SecurityChannel, inc: Incident) -> bool:
    """Whether ``inc`` keeps its details to the security channel (confidential, and one is set)."""
    return inc.restricted and security.configured


async def card_shows_details(tx: Tx, security: SecurityChannel, inc: Incident, *, secure: bool) -> bool:
    """Whether the card being sent may show ``inc`` in full: always for an ordinary incident; for a
    confidential one only in the private security channel (``secure``: a post made there; otherwise
    the edit goes wherever the card's ref points now)."""
    if not hidden(security, inc):
        return True
    if secure:
        return security.safe
    where = await repo.get_ref(tx, ids.card_ref(inc.number))
    return where is not None and security.holds(where[0])


def delivery_guard(security: SecurityChannel) -> Guard:
    """The outbox's send-time check: a confidential incident's thread is written only in the private
    security channel (its card renders its own stub, so edits and posts of the card itself pass)."""

    async def allows(tx: Tx, message: Owed, target: tuple[str, str] | None) -> bool:
        if not security.configured:
            return True
        ref = message.ref if isinstance(message, Update) else _thread_of(message)
        number = ids.ref_incident(ref)
        if number is None or (isinstance(message, Update) and ref == ids.card_ref(number)):
            return True
        inc = await repo.get_incident(tx, number)
        if inc is None or not inc.restricted:
            return True
        return target is not None and security.holds(target[0])

    return allows


def _thread_of(message: Owed) -> str | None:
    """The ref of the message whose thread ``message`` is written in, if any."""
    return message.thread_ref if isinstance(message, Post | Upload) else None


def elsewhere(security: SecurityChannel, inc: Incident, channel: str | None) -> str | None:
    """The private answer to a look at a confidential incident from outside its channel, or None."""
    if not hidden(security, inc) or security.holds(channel):
        return None
    return f":lock: {inc.ref} is confidential; it is handled in {security.where()}. Ask there."
