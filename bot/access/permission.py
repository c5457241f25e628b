"""Who may do what, and where: remediation_allowed, incident_admins, guests, allowed_channels."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass

from bot.access.directory import Directory
from bot.errors import UpstreamError
from bot.settings import CommandArea, Settings

log = logging.getLogger("opsbot.access")


@dataclass(frozen=True)
class Decision:
    """Allowed, or refused with the reason the person is told."""

    allowed: bool
    reason: str = ""


ALLOWED = Decision(True)


def who(ids: Sequence[str]) -> str:
    """The people and groups listed, as Slack mentions (shown only in private replies)."""
    return ", ".join(f"<!subteam^{i}>" if i.startswith("S") else f"<@{i}>" for i in ids)


def channel_allowed(settings: Settings, area: CommandArea, channel: str | None) -> Decision:
    """``allowed_channels`` for this kind of command; no list means anywhere."""
    channels = settings.allowed_channels.get(area)
    if not channels or channel in channels:
        return ALLOWED
    places = ", ".join(f"<#{c}>" for c in channels)
    return Decision(False, f"This command is accepted only in {places}.")


async def is_listed(directory: Directory, ids: Sequence[str], user: str) -> bool:
    """True when ``user`` is listed by id or belongs to a listed user group."""
    if user in ids:
        return True
    for group in (i for i in ids if i.startswith("S")):
        if user in await directory.members(group):
            return True
    return False


def refused_at_once(settings: Settings, user: str) -> Decision | None:
    """A refusal needing no Slack call (nobody allowed, or only user ids listed and ``user`` is not)."""
    allowed = settings.remediation_allowed
    if not allowed:
        return Decision(False, "Nobody may run remediation actions here: `remediation_allowed` is empty.")
    if user not in allowed and not any(i.startswith("S") for i in allowed):
        return Decision(False, f"Only {who(allowed)} may run remediation actions. Ask one of them.")
    return None


async def may_remediate(settings: Settings, directory: Directory, user: str) -> Decision:
    """Only members (not guests) in ``remediation_allowed``, directly or by user group; fails closed."""
    allowed = settings.remediation_allowed
    early = refused_at_once(settings, user)
    if early is not None:
        return early
    try:
        if not await is_listed(directory, allowed, user):
            return Decision(False, f"Only {who(allowed)} may run remediation actions. Ask one of them.")
        # A user group may hold guests (contractors); they may not run /ops at all.
        if await directory.is_guest(user):
            return Decision(
                False, "Guests may not run remediation actions; ask a full member of the workspace."
            )
    except UpstreamError as exc:
        return Decision(False, f"Could not check your access, so nothing ran: {exc}. Try again shortly.")
    return ALLOWED


async def may_diagnose(directory: Directory, user: str) -> Decision:
    """Members may read diagnostics; guests may not. When Slack cannot say, members are assumed:
    diagnostics are read-only and an incident is no time to lock out the on-call engineer."""
    try:
        guest = await directory.is_guest(user)
    except UpstreamError as exc:
        log.warning("guest check skipped: %s", exc)
        return ALLOWED
    if guest:
        return Decision(False, "Guests may not run `/ops`; ask a full member of the workspace.")
    return ALLOWED


async def may_change_incident(settings: Settings, directory: Directory, user: str) -> Decision:
    """Destructive incident changes (resolving a P0/P1, lowering a P0): ``incident_admins`` when set."""
    admins = settings.incident_admins
    if not admins:
        return ALLOWED
    try:
        if await is_listed(directory, admins, user):
            return ALLOWED
    except UpstreamError as exc:
        return Decision(False, f"Could not check your access, so nothing changed: {exc}.")
    return Decision(False, f"Only {who(admins)} may do that to this incident.")
