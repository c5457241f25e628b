"""Durations as people write them in settings (``90s``, ``15m``, ``2h``, ``1d``, ``1w``): parsed here only."""

from __future__ import annotations

import re

UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhdw])\s*$")


def parse_duration(value: object) -> float:
    """Seconds for ``90s``/``15m``/``2h``/``1d``/``1w`` (a bare number is seconds); ValueError otherwise."""
    if isinstance(value, bool):
        raise ValueError(f"{value!r} is not a duration; write it like 90s, 15m, 2h, 1d or 1w")
    if isinstance(value, int | float):
        seconds = float(value)
    else:
        match = _DURATION.match(str(value).lower())
        if match is None:
            shown = str(value)[:30]
            raise ValueError(f"{shown!r} is not a duration; write it like 90s, 15m, 2h, 1d or 1w")
        seconds = float(match.group(1)) * UNITS[match.group(2)]
    if seconds <= 0:
        raise ValueError(f"{value!r} is not a duration; it must be more than zero")
    return seconds


def format_target(seconds: float) -> str:
    """The shortest exact spelling: 300 -> ``5m``, 7200 -> ``2h``, 90 -> ``90s``."""
    for unit in ("w", "d", "h", "m"):
        size = UNITS[unit]
        if seconds >= size and seconds % size == 0:
            return f"{int(seconds // size)}{unit}"
    return f"{seconds:g}s"
