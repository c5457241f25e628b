"""What every alert source is parsed into (pure): one typed Alert per thing that fires or resolves."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Literal

Source = Literal["sentry", "alertmanager", "grafana"]
SOURCES: tuple[Source, ...] = ("sentry", "alertmanager", "grafana")


class AlertStatus(StrEnum):
    FIRING = "firing"
    RESOLVED = "resolved"


class Unauthorized(Exception):
    """The request is not from the source it claims (bad or missing signature, token or timestamp)."""


class BadPayload(ValueError):
    """The body is not the shape the source sends; the reason goes back in the 400."""


@dataclass(frozen=True)
class Link:
    text: str
    url: str


@dataclass(frozen=True)
class Alert:
    """One alert as a source reported it; ``key`` is unique within the source (the dedup key)."""

    source: Source
    key: str
    status: AlertStatus
    title: str
    severity: str | None = None
    summary: str = ""
    labels: Mapping[str, str] = field(default_factory=dict)
    links: tuple[Link, ...] = ()
    started_at: float | None = None
    ended_at: float | None = None

    @property
    def firing(self) -> bool:
        return self.status is AlertStatus.FIRING


def parse_time(text: str | None) -> float | None:
    """An RFC 3339 time as epoch seconds; Go's zero time (``0001-01-01T00:00:00Z``) and blanks are None."""
    if not text or text.startswith("0001-01-01"):
        return None
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()
    except ValueError as exc:
        raise BadPayload(f"not an RFC 3339 time: {text[:40]!r}") from exc


def http_url(text: str | None) -> str | None:
    """Only http(s) links are shown; anything else (javascript:, data:) is dropped."""
    if text and text.startswith(("https://", "http://")):
        return text
    return None
