"""Runbook scenarios: one module each, all listed here, top to bottom.

``classify(title)`` is a pure function: each scenario's words and phrases score the title, the
highest score wins, ties go to the scenario listed first. No match: the general checklist and a picker.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from collections.abc import Mapping, Sequence

from rapidfuzz import process
from rapidfuzz.distance import OSA

from bot.probes.specs import Check, check_specs
from handlers import auth, checkout, database, error_spike, payments, performance, security, site_down
from handlers.scenario import Scenario, Step, steps


def check_registry(scenarios: Mapping[str, Scenario]) -> dict[str, Scenario]:
    """The registry, once every scenario is sound: its key, its probe specs, its checklist steps."""
    for key, scenario in scenarios.items():
        owner = f"scenario {key!r}"
        if scenario.key != key:
            raise ValueError(f"{owner} is filed under the wrong key ({scenario.key!r})")
        check_specs(scenario.probes, owner=owner)
        step_keys = [step.key for step in scenario.steps()]
        if len(set(step_keys)) != len(step_keys):
            raise ValueError(f"{owner} has two checklist steps with one key")
    return dict(scenarios)


# Order settles ties, the more specific scenario first: "slow checkout" is a performance problem,
# "checkout 500 errors" a checkout one, "500 errors" alone the site being down.
SCENARIOS: dict[str, Scenario] = check_registry(
    {
        # A security incident comes first: "compromised account login" is about the breach, not the login.
        "security": security.SCENARIO,
        "performance": performance.SCENARIO,
        "auth": auth.SCENARIO,
        "payments": payments.SCENARIO,
        "checkout": checkout.SCENARIO,
        "database": database.SCENARIO,
        "site_down": site_down.SCENARIO,
        "error_spike": error_spike.SCENARIO,
    }
)

ESCALATE_NOW = (
    "Site down for > 15 minutes · data breach suspected · cannot resolve within SLA · "
    "issue affects > 50% of users"
)
ESCALATION_PATH = "On-call engineer (#engineering-oncall) → Engineering manager → CTO/VP Engineering"

GENERAL = Scenario(
    key="general",
    title="General incident",
    runbook_section="Contact & Escalation",
    symptoms="No runbook scenario matched the title",
    keywords={},
    investigation=steps(
        "i",
        "Confirm the symptoms and who is affected",
        "Check Sentry for new errors",
        "Check recent deployments",
        "Check dependencies' status pages",
    ),
    resolution=steps("r", "Pick the matching runbook scenario to get its checklist"),
    probes=(Check.STATUS_PAGES, Check.APP, Check.SENTRY_SPIKE, Check.DEPLOYS),
)
check_registry({GENERAL.key: GENERAL})

__all__ = [
    "ESCALATE_NOW",
    "ESCALATION_PATH",
    "GENERAL",
    "SCENARIOS",
    "Scenario",
    "Step",
    "classify",
    "escalates_now",
    "get",
]

_WORD = re.compile(r"[a-z0-9]+(?:['’][a-z]+)?")

# Typo tolerance: a title word of 5+ letters that is no keyword is read as the keyword one edit away
# (insert, delete, substitute or swap two neighbours: `chekout`, `payemnts`, `databse`); two edits
# from 9 letters up. Shorter words are left alone, so `locked` never becomes `lock`.
FUZZY_MIN_LENGTH = 5
FUZZY_LONG_WORD = 9


def _visible(ch: str) -> str:
    if ch == "\u200b":
        return " "
    return "" if unicodedata.category(ch) == "Cf" else ch


def _tokens(text: str) -> list[str]:
    if text.isascii():  # the usual case: no format characters, NFKC changes nothing, casefold is lower
        return _WORD.findall(text.lower())
    # NFKC first: a title typed in fullwidth letters routes like the same title in ASCII. Invisible
    # format characters pasted from web pages (soft hyphen, zero-width joiner) split no word; a
    # zero-width space still separates two.
    visible = "".join(_visible(ch) for ch in text)
    return _WORD.findall(unicodedata.normalize("NFKC", visible).casefold().replace("’", "'"))


def _vocabulary(extra: Mapping[str, Sequence[str]]) -> frozenset[str]:
    words = {w for s in SCENARIOS.values() for phrase in s.keywords for w in _tokens(phrase)}
    words.update(w for phrases in extra.values() for phrase in phrases for w in _tokens(phrase))
    return frozenset(words)


def corrected(tokens: Sequence[str], vocabulary: frozenset[str]) -> list[str]:
    """``tokens`` with near misses of a keyword replaced by that keyword."""
    known = sorted(vocabulary)
    out = []
    for token in tokens:
        if token in vocabulary or len(token) < FUZZY_MIN_LENGTH or token.isdigit():
            out.append(token)
            continue
        limit = 2 if len(token) >= FUZZY_LONG_WORD else 1
        found = process.extractOne(token, known, scorer=OSA.distance, score_cutoff=limit)
        out.append(str(found[0]) if found and len(str(found[0])) >= FUZZY_MIN_LENGTH else token)
    return out


def _contains(tokens: Sequence[str], phrase: Sequence[str]) -> bool:
    if not phrase:
        return True
    n, want, first = len(phrase), list(phrase), phrase[0]
    return any(tokens[i] == first and list(tokens[i : i + n]) == want for i in range(len(tokens) - n + 1))


def score(title: str, scenario: Scenario, extra: Sequence[str] = (), *, tokens: Sequence[str] = ()) -> int:
    tokens = tokens or _tokens(title)
    keywords = dict(scenario.keywords)
    keywords.update({word.lower(): 3 for word in extra})
    return sum(weight for phrase, weight in keywords.items() if _contains(tokens, _phrase(phrase)))


def classify(title: str, extra_keywords: Mapping[str, Sequence[str]] | None = None) -> Scenario | None:
    """The runbook scenario a title belongs to, or None when nothing matches."""
    extra = extra_keywords or {}
    tokens = corrected(_tokens(title), _vocabulary(extra))
    best: Scenario | None = None
    best_score = 0
    for key, scenario in SCENARIOS.items():
        points = score(title, scenario, extra.get(key, ()), tokens=tokens)
        if points > best_score:
            best, best_score = scenario, points
    return best


def get(key: str | None) -> Scenario:
    """A scenario by key; the general one for None or an unknown key."""
    return SCENARIOS.get(key or "", GENERAL)


@functools.lru_cache(maxsize=1024)
def _phrase(phrase: str) -> tuple[str, ...]:
    # The scenarios' phrases are few and fixed; every note used to tokenize all of them again.
    return tuple(_tokens(phrase))


def _says(tokens: Sequence[str], scenario: Scenario) -> str | None:
    return next((p for p in scenario.escalate_now_on if _contains(tokens, _phrase(p))), None)


def escalates_now(title: str, scenario: Scenario) -> str | None:
    """The phrase in ``title`` that makes the runbook say "escalate immediately", if any."""
    return _says(_tokens(title), scenario)


def revealed(text: str) -> tuple[Scenario, str] | None:
    """The scenario whose "escalate immediately" phrase ``text`` says (a data breach), and the phrase."""
    tokens = _tokens(text)
    for scenario in SCENARIOS.values():
        phrase = _says(tokens, scenario)
        if phrase is not None:
            return scenario, phrase
    return None
