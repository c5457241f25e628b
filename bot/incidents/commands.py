"""The ``/incident`` grammar: text in, a typed command or a UsageError with the right form out. Pure."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from bot.errors import UsageError
from bot.incidents.model import Severity, Status

MAX_TITLE = 150
MAX_TEXT = 2000

USAGE = {
    "open": "/incident open <P0|P1|P2|P3> <title...>",
    "update": "/incident update <INC-n> <investigating|identified|monitoring|resolved> [message...]",
    "note": "/incident note <INC-n> <text...>",
    "severity": "/incident severity <INC-n> <P0|P1|P2|P3>",
    "commander": "/incident commander <INC-n> <@user>",
    "impact": "/incident impact <INC-n> <text...>",
    "eta": "/incident eta <INC-n> <text...>",
    "resolve": "/incident resolve <INC-n> [message...]",
    "reopen": "/incident reopen <INC-n>",
    "list": "/incident list [open|all] [before INC-n]",
    "show": "/incident show <INC-n>",
    "help": "/incident help",
}

EXAMPLES = {
    "open": "/incident open P1 checkout broken",
    "update": "/incident update INC-12 identified Stripe API timeouts",
    "note": "/incident note INC-12 rolled back to v41",
    "severity": "/incident severity INC-12 P0",
    "commander": "/incident commander INC-12 @dana",
    "impact": "/incident impact INC-12 All card payments fail at checkout",
    "eta": "/incident eta INC-12 30 minutes",
    "resolve": "/incident resolve INC-12 Stripe recovered, orders flowing",
    "reopen": "/incident reopen INC-12",
    "list": "/incident list all",
    "show": "/incident show INC-12",
    "help": "/incident help",
}

THREAD_USAGE = (
    "In an incident's thread, mention me with one of: `investigating|identified|monitoring|resolved "
    "[message]`, `resolve [message]`, `reopen`, `note <text>`, `severity <P0-P3>`, `commander <@user>`, "
    "`impact <text>`, `eta <text>`, `show`. Example: `@opsbot identified Stripe API timeouts`"
)


@dataclass(frozen=True)
class Open:
    severity: Severity
    title: str


@dataclass(frozen=True)
class Transition:
    number: int
    status: Status
    message: str | None = None


@dataclass(frozen=True)
class Note:
    number: int
    text: str


@dataclass(frozen=True)
class SetSeverity:
    number: int
    severity: Severity


@dataclass(frozen=True)
class SetCommander:
    number: int
    user_id: str


@dataclass(frozen=True)
class SetField:
    """Impact or ETA: free text shown on the card."""

    number: int
    field: str  # "impact" | "eta"
    text: str


@dataclass(frozen=True)
class Reopen:
    number: int


@dataclass(frozen=True)
class ListIncidents:
    include_resolved: bool = False
    before: int | None = None  # the next page: incidents numbered below this one


@dataclass(frozen=True)
class Show:
    number: int


@dataclass(frozen=True)
class Help:
    pass


Command = (
    Open | Transition | Note | SetSeverity | SetCommander | SetField | Reopen | ListIncidents | Show | Help
)

_REF = re.compile(r"^(?:INC-?|#)?(\d{1,9})$", re.IGNORECASE)
_USER = re.compile(r"^<@([UW][A-Z0-9]{2,})(?:\|[^>]*)?>$|^([UW][A-Z0-9]{6,})$")


def help_text() -> str:
    """The ``/incident help`` text: every form with an example."""
    lines = ["*Incident commands*"]
    for name, usage in USAGE.items():
        lines.append(f"• `{usage}`\n      e.g. `{EXAMPLES[name]}`")
    lines.append("`INC-12`, `#12` and `12` all name incident 12. " + THREAD_USAGE)
    return "\n".join(lines)


def _word(word: str) -> str:
    """A keyword as typed in any width (NFKC: a fullwidth OPEN is ``open``), lower case."""
    return unicodedata.normalize("NFKC", word).strip().lower()


def parse_incident_ref(word: str, usage: str) -> int:
    match = _REF.match(_word(word))
    if not match or int(match.group(1)) == 0:
        raise UsageError(f"`{_clip(word)}` is not an incident. Name it as INC-12, #12 or 12.", usage)
    return int(match.group(1))


SLACKBOT = "USLACKBOT"


def parse_command(text: str, *, bot_user_id: str | None = None) -> Command:
    """Parse the text after ``/incident`` (``bot_user_id``: who may never be commander besides Slackbot)."""
    return _not_a_bot(_parse_command(text), bot_user_id)


def _not_a_bot(cmd: Command, bot_user_id: str | None) -> Command:
    if isinstance(cmd, SetCommander) and cmd.user_id in {SLACKBOT, bot_user_id}:
        raise UsageError("A bot cannot command an incident; name a person.", USAGE["commander"])
    return cmd


def _parse_command(text: str) -> Command:
    words = text.split()
    if not words:
        return Help()
    verb, rest = _word(words[0]), words[1:]
    if verb in ("help", "?"):
        return Help()
    if verb in ("open", "declare", "new"):
        return _parse_open(rest)
    if verb == "list":
        return _parse_list(rest)
    if verb not in USAGE:
        raise UsageError(
            f"`{_clip(words[0])}` is not an incident command. Try one of: {', '.join(USAGE)}.",
            USAGE["help"],
        )
    usage = USAGE[verb]
    if not rest:
        raise UsageError(f"`{verb}` needs an incident.", usage)
    number = parse_incident_ref(rest[0], usage)
    return _parse_change(verb, number, rest[1:], usage, raw_after_ref=_after(text, 2))


def parse_thread_command(text: str, number: int, *, bot_user_id: str | None = None) -> Command:
    """Parse a mention in an incident's thread, where the incident is implied."""
    return _not_a_bot(_parse_thread_command(text, number), bot_user_id)


def _parse_thread_command(text: str, number: int) -> Command:
    words = text.split()
    if not words:
        raise UsageError("Tell me what to do.", THREAD_USAGE)
    verb = _word(words[0])
    if verb == "help":
        return Help()
    if Status.parse(verb) is not None:
        status = Status.parse(verb)
        assert status is not None
        return Transition(number, status, _message(_after(text, 1)))
    if verb in ("resolve", "reopen", "note", "severity", "commander", "impact", "eta", "show"):
        return _parse_change(verb, number, words[1:], THREAD_USAGE, raw_after_ref=_after(text, 1))
    raise UsageError(f"`{_clip(words[0])}` is not something I can do in an incident thread.", THREAD_USAGE)


def _parse_open(rest: list[str]) -> Open:
    usage = USAGE["open"]
    if not rest:
        raise UsageError("Say the severity and a title.", usage)
    severity = Severity.parse(_word(rest[0]))
    if severity is None:
        raise UsageError(f"`{_clip(rest[0])}` is not a severity; use P0, P1, P2 or P3.", usage)
    title = " ".join(rest[1:]).strip()
    if not title:
        raise UsageError("An incident needs a title.", usage)
    if len(title) > MAX_TITLE:
        raise UsageError(f"The title is {len(title)} characters; keep it within {MAX_TITLE}.", usage)
    return Open(severity, title)


def _parse_list(rest: list[str]) -> ListIncidents:
    usage = USAGE["list"]
    words = list(rest)
    scope = "open"
    if words and _word(words[0]) in ("open", "all"):
        scope = _word(words.pop(0))
    before = None
    if len(words) == 2 and _word(words[0]) == "before":
        before = parse_incident_ref(words[1], usage)
        words = []
    if words:
        raise UsageError(f"`{_clip(' '.join(rest))}` is not a list scope; use open or all.", usage)
    return ListIncidents(include_resolved=scope == "all", before=before)


def _parse_change(verb: str, number: int, args: list[str], usage: str, *, raw_after_ref: str) -> Command:
    if verb == "update":
        if not args:
            raise UsageError("Say the new status.", usage)
        status = Status.parse(_word(args[0]))
        if status is None:
            raise UsageError(f"`{_clip(args[0])}` is not a status.", usage)
        return Transition(number, status, _message(_after(raw_after_ref, 1)))
    if verb == "resolve":
        return Transition(number, Status.RESOLVED, _message(raw_after_ref))
    if verb == "reopen":
        return Reopen(number)
    if verb == "show":
        return Show(number)
    if verb == "severity":
        severity = Severity.parse(_word(args[0])) if len(args) == 1 else None
        if severity is None:
            raise UsageError(f"`{_clip(' '.join(args)) or 'nothing'}` is not a severity.", usage)
        return SetSeverity(number, severity)
    if verb == "commander":
        match = _USER.match(args[0]) if len(args) == 1 else None
        if match is None:
            raise UsageError("Name the new commander by mentioning them, e.g. @dana.", usage)
        return SetCommander(number, match.group(1) or match.group(2))
    text = _message(raw_after_ref)
    if text is None:
        raise UsageError(f"`{verb}` needs some text.", usage)
    if verb == "note":
        return Note(number, text)
    return SetField(number, verb, text)


def _after(text: str, n_words: int) -> str:
    """The raw text after the first ``n_words`` words, spacing and newlines kept."""
    parts = text.strip().split(None, n_words)
    return parts[n_words] if len(parts) > n_words else ""


def _message(text: str) -> str | None:
    text = text.strip()
    if len(text) > MAX_TEXT:
        raise UsageError(f"That text is {len(text)} characters; keep it within {MAX_TEXT}.")
    return text or None


def _clip(word: str, limit: int = 40) -> str:
    word = word.replace("`", "'")
    return word if len(word) <= limit else word[: limit - 1] + "…"
