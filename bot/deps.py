"""The ports every use case receives: built once in ``bot.runtime``, passed down, never global."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import httpx

from bot.settings import Settings
from bot.store import Store

if TYPE_CHECKING:
    from bot.outbox import Outbox


@dataclass
class Deps:
    settings: Settings
    store: Store
    outbox: Outbox
    http: httpx.AsyncClient
    clock: Callable[[], float] = time.time
    extras: dict[str, object] = field(default_factory=dict)
