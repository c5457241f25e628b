"""The pieces every ``/incident`` command's grammar is made of: words, refs, users, text, times. Pure."""

from __future__ import annotations

import calendar
import re
import time
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass

from rapidfuzz import fuzz, process

from bot.errors import UsageError
from bot.slack.blocks import escape

MAX_TEXT = 2000
MAX_TITLE_INPUT = 3000  # a pasted error line is kept whole on the timeline; the card shows its start
DID_YOU_MEAN_CUTOFF = 70  # rapidfuzz ratio (0-100): `updte` -> update is 91, `lst` -> list 86

_REF = re.compile(r"^(?:INC-?|#)?(\d{1,9})$", re.IGNORECASE)
_USER = re.compile(r"^<@([UW][A-Z0-9]{2,})(?:\|[^>]*)?>$|^([UW][A-Z0-9]{6,})$")
_CLOCK = re.compile(r"^(\d{1,2}):(\d{2})(?:\s*(?:UTC|Z))?$", re.IGNORECASE)
_DATE = re.compile(r"^(\d{4})-(\d{2})-(\d{2})$")
_AGO = re.compile(r"^(\d{1,4})\s*(m|min|mins|minutes?|h|hrs?|hours?|d|days?)$", re.IGNORECASE)
MAX_BACKDATE_S = 30 * 86400


@dataclass(frozen=True)
class Args:
    """What a command's parser gets: its incident (if it takes one), the words after it, the raw text."""

    number: int
    words: tuple[str, ...]
    raw: str  # the text after the incident, spacing and newlines kept
    usage: str
    now: float  # for times said relative to now ("25m ago")

    def text(self, what: str = "some text") -> str:
        """The free text, required."""
        text = message(self.raw)
        if text is None:
            raise UsageError(f"That needs {what}.", self.usage)
        return text

    def after(self, n_words: int) -> str:
        return after(self.raw, n_words)


def fold(word: str) -> str:
    """A keyword as typed in any width (NFKC: a fullwidth OPEN is ``open``), lower case."""
    return unicodedata.normalize("NFKC", word).strip().lower()


def parse_incident_ref(word: str, usage: str) -> int:
    """``INC-12``, ``inc12``, ``#12`` or ``12`` -> 12."""
    match = _REF.match(fold(word))
    if not match or int(match.group(1)) == 0:
        raise UsageError(f"`{clip(word)}` is not an incident. Name it as INC-12, #12 or 12.", usage)
    return int(match.group(1))


def parse_user(words: Sequence[str], usage: str) -> str:
    match = _USER.match(words[0]) if len(words) == 1 else None
    if match is None:
        raise UsageError("Name the new commander by mentioning them, e.g. @dana.", usage)
    return match.group(1) or match.group(2)


def after(text: str, n_words: int) -> str:
    """The raw text after the first ``n_words`` words, spacing and newlines kept."""
    parts = text.strip().split(None, n_words)
    return parts[n_words] if len(parts) > n_words else ""


def message(text: str, *, limit: int = MAX_TEXT) -> str | None:
    text = text.strip()
    if len(text) > limit:
        raise UsageError(f"That text is {len(text)} characters; keep it within {limit}.")
    return text or None


def clip(word: str, limit: int = 40) -> str:
    """A word the user typed, echoed in a code span: cut, unable to end the span, escaped once."""
    word = word.replace("`", "'")
    return escape(word if len(word) <= limit else word[: limit - 1] + "…")


def did_you_mean(word: str, choices: Sequence[str]) -> str | None:
    """The choice ``word`` was probably meant to be, when it is close enough."""
    found = process.extractOne(word.lower(), choices, scorer=fuzz.ratio, score_cutoff=DID_YOU_MEAN_CUTOFF)
    return str(found[0]) if found else None


def parse_when(words: Sequence[str], *, now: float, usage: str) -> tuple[float, int]:
    """When an earlier event happened, and how many words said so.

    ``14:02`` (UTC, today or, if that is still to come, yesterday), ``2026-11-27 14:02``,
    ``2026-11-27T14:02``, ``25m ago``, ``2h ago``.
    """
    first = words[0] if words else ""
    at, used = _absolute(words, now) or _relative(words, now) or (None, 0)
    if at is None:
        raise UsageError(
            f"`{clip(first) or 'nothing'}` is not a time. Say 14:02 (UTC), 2026-11-27 14:02 or 25m ago.",
            usage,
        )
    if at > now + 60:
        raise UsageError(f"`{clip(' '.join(words[:used]))}` has not happened yet.", usage)
    if at < now - MAX_BACKDATE_S:
        raise UsageError("That is more than 30 days ago; add it as a note instead.", usage)
    return min(at, now), used


def _absolute(words: Sequence[str], now: float) -> tuple[float, int] | None:
    head = words[0]
    if "T" in head.upper() and _DATE.match(head[:10]):
        date_word, clock_word, used = head[:10], head[11:], 1
    elif _DATE.match(head) and len(words) > 1:
        date_word, clock_word, used = head, words[1], 2
    else:
        clock = _CLOCK.match(head)
        if clock is None or int(clock.group(1)) > 23 or int(clock.group(2)) > 59:
            return None
        day = time.gmtime(now)
        at = calendar.timegm((day.tm_year, day.tm_mon, day.tm_mday, int(clock[1]), int(clock[2]), 0))
        return (at - 86400 if at > now + 60 else at), 1
    date, clock = _DATE.match(date_word), _CLOCK.match(clock_word.rstrip("Zz"))
    if date is None or clock is None:
        return None
    try:
        parts = (int(date[1]), int(date[2]), int(date[3]), int(clock[1]), int(clock[2]), 0)
        time.strptime(f"{parts[0]:04d}-{parts[1]:02d}-{parts[2]:02d} {parts[3]}:{parts[4]}", "%Y-%m-%d %H:%M")
    except ValueError:
        return None
    return float(calendar.timegm(parts)), used


def _relative(words: Sequence[str], now: float) -> tuple[float, int] | None:
    joined, used = words[0], 1
    if len(words) > 1 and not _AGO.match(joined) and _AGO.match(f"{words[0]}{words[1]}"):
        joined, used = f"{words[0]}{words[1]}", 2  # "25 min ago"
    match = _AGO.match(joined)
    if match is None:
        return None
    if len(words) > used and words[used].lower() == "ago":
        used += 1
    unit = match.group(2)[0].lower()
    seconds = int(match.group(1)) * {"m": 60, "h": 3600, "d": 86400}[unit]
    return now - seconds, used
