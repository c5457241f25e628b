"""The ``/incident`` grammar: text in, a typed command or a UsageError with the right form out. Pure.

``VERBS`` is every command, top to bottom, in the order help shows them. A command that changes an
incident lives in ``bot.incidents.changes`` (grammar, change and wording together); the ones here read.
To add a command: write its section in ``changes.py`` and list its ``Verb`` below.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, cast

from bot.errors import UsageError
from bot.incidents import changes as ch
from bot.incidents.changes import (
    Acknowledge,
    AddEarlier,
    Escalate,
    Note,
    Reopen,
    SetCommander,
    SetField,
    SetScenario,
    SetSeverity,
    Transition,
    Verb,
)
from bot.incidents.grammar import (
    MAX_TITLE_INPUT,
    Args,
    after,
    clip,
    did_you_mean,
    fold,
    message,
    parse_incident_ref,
)
from bot.incidents.model import Severity, Status

__all__ = [
    "Acknowledge",
    "AddEarlier",
    "Command",
    "Escalate",
    "Help",
    "ListIncidents",
    "Note",
    "Open",
    "Postmortem",
    "Publish",
    "Reopen",
    "SetCommander",
    "SetField",
    "SetScenario",
    "SetSeverity",
    "Show",
    "Stats",
    "Transition",
    "parse_command",
    "parse_thread_command",
    "scrub",
]


@dataclass(frozen=True)
class Open:
    severity: Severity
    title: str


def _parse_open(args: Args) -> Open:
    if not args.words:
        raise UsageError("Say the severity and a title.", args.usage)
    severity = Severity.parse(fold(args.words[0]))
    if severity is None:
        raise UsageError(
            f"`{clip(args.words[0])}` is not a severity; use P0-P3 or Critical, High, Medium, Low.",
            args.usage,
        )
    title = " ".join(args.words[1:])
    if len(title) > MAX_TITLE_INPUT:
        problem = f"The title is {len(title)} characters; keep it within {MAX_TITLE_INPUT}."
        raise UsageError(problem, args.usage)
    if not title:
        raise UsageError("An incident needs a title.", args.usage)
    return Open(severity, title)


@dataclass(frozen=True)
class ListIncidents:
    include_resolved: bool = False
    before: int | None = None  # the next page: incidents numbered below this one


def _parse_list(args: Args) -> ListIncidents:
    words = list(args.words)
    scope = fold(words.pop(0)) if words and fold(words[0]) in ("open", "all") else "open"
    before = None
    if len(words) == 2 and fold(words[0]) == "before":
        before = parse_incident_ref(words[1], args.usage)
        words = []
    if words:
        raise UsageError(f"`{clip(' '.join(args.words))}` is not a list scope; use open or all.", args.usage)
    return ListIncidents(include_resolved=scope == "all", before=before)


@dataclass(frozen=True)
class Show:
    number: int
    page: int = 1


def _parse_show(args: Args) -> Show:
    words = [fold(w) for w in args.words if fold(w) != "page"]
    if len(words) > 1 or (words and not (words[0].isdigit() and 0 < int(words[0]) < 10_000)):
        raise UsageError(f"`{clip(' '.join(args.words))}` is not a page number.", args.usage)
    return Show(args.number, int(words[0]) if words else 1)


@dataclass(frozen=True)
class Stats:
    """Statistics of the incidents declared in the last ``days`` days, with a chart."""

    days: int = 30


def _parse_stats(args: Args) -> Stats:
    words = [fold(w) for w in args.words]
    text = words[0].removesuffix("days").removesuffix("d") if words else "30"
    if len(words) > 1 or not text.isdigit() or not 1 <= int(text) <= 366:
        raise UsageError(f"`{clip(' '.join(args.words))}` is not a window; say 7d, 30d or 90d.", args.usage)
    return Stats(int(text))


@dataclass(frozen=True)
class Postmortem:
    number: int


@dataclass(frozen=True)
class Publish:
    """Preview a customer-facing update for the status page (its button publishes it)."""

    number: int
    text: str


@dataclass(frozen=True)
class Help:
    pass


OPEN = Verb(
    name="open",
    usage="/incident open <P0|P1|P2|P3> <title...>",
    example="/incident open P1 checkout broken",
    command=Open,
    parse=_parse_open,
    aliases=("declare", "new"),
    takes_incident=False,
    in_thread=False,
)
LIST = Verb(
    name="list",
    usage="/incident list [open|all] [before INC-n]",
    example="/incident list all",
    command=ListIncidents,
    parse=_parse_list,
    takes_incident=False,
    in_thread=False,
)
SHOW = Verb(
    name="show",
    usage="/incident show <INC-n> [page]",
    example="/incident show INC-12 2",
    command=Show,
    parse=_parse_show,
)
STATS = Verb(
    name="stats",
    usage="/incident stats [7d|30d|90d]",
    example="/incident stats 30d",
    command=Stats,
    parse=_parse_stats,
    aliases=("statistics",),
    takes_incident=False,
    in_thread=False,
)
POSTMORTEM = Verb(
    name="postmortem",
    usage="/incident postmortem <INC-n>",
    example="/incident postmortem INC-12",
    command=Postmortem,
    parse=lambda args: Postmortem(args.number),
    aliases=("post-mortem", "pm"),
)
PUBLISH = Verb(
    name="publish",
    usage="/incident publish <INC-n> <customer-facing text...>",
    example="/incident publish INC-12 Some card payments fail; we are working on a fix.",
    command=Publish,
    parse=lambda args: Publish(args.number, args.text("the text customers should read")),
    in_thread=False,
)
HELP = Verb(
    name="help",
    usage="/incident help",
    example="/incident help",
    command=Help,
    parse=lambda args: Help(),
    aliases=("?",),
    takes_incident=False,
)

# Every command, in the order help lists them.
VERBS: tuple[Verb[Any], ...] = (
    OPEN,
    ch.UPDATE,
    ch.ACKNOWLEDGE,
    ch.ESCALATE,
    ch.NOTE,
    ch.SEVERITY,
    ch.COMMANDER,
    ch.IMPACT,
    ch.ETA,
    ch.SCENARIO,
    ch.TIMELINE,
    ch.RESOLVE,
    ch.REOPEN,
    POSTMORTEM,
    PUBLISH,
    STATS,
    LIST,
    SHOW,
    HELP,
)

Command = (
    Open
    | Transition
    | Acknowledge
    | Escalate
    | Note
    | SetSeverity
    | SetCommander
    | SetField
    | SetScenario
    | AddEarlier
    | Reopen
    | ListIncidents
    | Show
    | Postmortem
    | Publish
    | Stats
    | Help
)

_BY_WORD: dict[str, Verb[Any]] = {w: v for v in VERBS for w in (v.name, *v.aliases)}
_BY_COMMAND: dict[type, Verb[Any]] = {}
for _each in VERBS:
    _BY_COMMAND.setdefault(_each.command, _each)

USAGE = {v.name: v.usage for v in VERBS}
EXAMPLES = {v.name: v.example for v in VERBS}

_THREAD_WORDS = "|".join(s.value for s in Status)
THREAD_USAGE = (
    f"In an incident's thread, mention me with one of: `{_THREAD_WORDS} [message]`, "
    + ", ".join(f"`{v.usage.split(' ', 1)[1].replace(' <INC-n>', '')}`" for v in VERBS if v.in_thread)
    + ". Example: `@opsbot identified Stripe API timeouts`"
)


def verb_for(cmd: object) -> Verb[Any]:
    """The verb a parsed command came from (its change function, its wording)."""
    return _BY_COMMAND[type(cmd)]


def help_text() -> str:
    """The ``/incident help`` text: every form with an example."""
    lines = ["*Incident commands*"]
    for verb in VERBS:
        lines.append(f"• `{verb.usage}`\n      e.g. `{verb.example}`")
    lines.append(
        "`INC-12`, `#12` and `12` all name incident 12. Severities: P0-P3 or Critical, High, Medium, Low. "
        + THREAD_USAGE
    )
    return "\n".join(lines)


SLACKBOT = "USLACKBOT"


def parse_command(text: str, *, now: float | None = None, bot_user_id: str | None = None) -> Command:
    """Parse the text after ``/incident`` (``bot_user_id``: who may never command, besides Slackbot)."""
    words = text.split()
    if not words:
        return Help()
    verb = _find_verb(words[0], usage=USAGE["help"], choices=list(_BY_WORD))
    at = time.time() if now is None else now
    if not verb.takes_incident:
        return _parsed(verb.parse(Args(0, tuple(words[1:]), after(text, 1), verb.usage, at)), bot_user_id)
    if len(words) < 2:
        raise UsageError(f"`{verb.name}` needs an incident.", verb.usage)
    number = parse_incident_ref(words[1], verb.usage)
    return _parsed(verb.parse(Args(number, tuple(words[2:]), after(text, 2), verb.usage, at)), bot_user_id)


def parse_thread_command(
    text: str, number: int, *, now: float | None = None, bot_user_id: str | None = None
) -> Command:
    """Parse a mention in an incident's thread, where the incident is implied."""
    words = text.split()
    if not words:
        raise UsageError("Tell me what to do.", THREAD_USAGE)
    status = Status.parse(fold(words[0]))
    if status is not None:
        return Transition(number, status, message(after(text, 1)))
    thread_words = [w for w, v in _BY_WORD.items() if v.in_thread] + [s.value for s in Status]
    verb = _find_verb(words[0], usage=THREAD_USAGE, choices=thread_words, where=" in an incident thread")
    if not verb.in_thread:
        raise UsageError(f"`{verb.name}` is not something I can do in an incident thread.", THREAD_USAGE)
    at = time.time() if now is None else now
    return _parsed(verb.parse(Args(number, tuple(words[1:]), after(text, 1), THREAD_USAGE, at)), bot_user_id)


def _find_verb(word: str, *, usage: str, choices: list[str], where: str = "") -> Verb[Any]:
    verb = _BY_WORD.get(fold(word))
    if verb is not None:
        return verb
    guess = did_you_mean(fold(word), choices)
    if guess is not None:
        raise UsageError(f"`{clip(word)}` is not a command{where}. Did you mean `{guess}`?", usage)
    if where:
        raise UsageError(f"`{clip(word)}` is not something I can do{where}.", usage)
    names = ", ".join(v.name for v in VERBS)
    raise UsageError(f"`{clip(word)}` is not an incident command. Try one of: {names}.", usage)


def _parsed(cmd: object, bot_user_id: str | None) -> Command:
    assert isinstance(cmd, Command)  # each verb's parser returns its own command type
    if isinstance(cmd, SetCommander) and cmd.user_id in {SLACKBOT, bot_user_id}:
        raise UsageError("A bot cannot command an incident; name a person.", USAGE["commander"])
    return cmd


# The fields in which a command carries a person's own words (besides an incident's title).
SAID = ("message", "text", "reason")


def said(cmd: Command) -> str | None:
    """The free text a person said with a command (a note, a status message, a reason), if any."""
    for name in SAID:
        if isinstance(value := getattr(cmd, name, None), str):
            return value
    return None


def scrub(cmd: Command, redact: Callable[[str], str]) -> Command:
    """The command with any secret someone pasted into its text replaced, before it is stored or shown."""
    changes = {
        name: cleaned
        for name in ("title", *SAID)
        if isinstance(value := getattr(cmd, name, None), str) and (cleaned := redact(value)) != value
    }
    return cast(Command, dataclasses.replace(cast(Any, cmd), **changes)) if changes else cmd
