"""Diagnostics: read-only probes of production systems, each with a timeout, run side by side.

Every probe answers with Results in one of five states. Whatever goes wrong inside a probe (an
exception, a timeout, a refused connection, an unresolvable host, an answer of the wrong shape)
becomes UNKNOWN with the reason: never a crash, and never OK.
"""

from __future__ import annotations

import asyncio
import enum
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass, field


class State(enum.StrEnum):
    OK = "OK"
    WARN = "WARN"
    FAIL = "FAIL"
    UNKNOWN = "UNKNOWN"
    NOT_CONFIGURED = "NOT CONFIGURED"

    @property
    def emoji(self) -> str:
        return {
            "OK": ":large_green_circle:",
            "WARN": ":large_yellow_circle:",
            "FAIL": ":red_circle:",
            "UNKNOWN": ":white_circle:",
            "NOT CONFIGURED": ":heavy_minus_sign:",
        }[self.value]

    @property
    def rank(self) -> int:
        """Worst first: FAIL, WARN, UNKNOWN, OK, NOT CONFIGURED."""
        return {"FAIL": 0, "WARN": 1, "UNKNOWN": 2, "OK": 3, "NOT CONFIGURED": 4}[self.value]


@dataclass(frozen=True)
class Result:
    """What one check found: the figure and the threshold it was held against."""

    name: str
    state: State
    summary: str
    figure: str | None = None
    threshold: str | None = None
    details: tuple[str, ...] = ()
    link: str | None = None
    elapsed: float = 0.0


ProbeFn = Callable[[], Awaitable[Result | Sequence[Result]]]
ProbeObserver = Callable[["Probe", Sequence["Result"]], None]  # told of every probe that finished (metrics)


@dataclass(frozen=True)
class Probe:
    """A named check; ``check`` does the I/O and returns one or more Results."""

    key: str
    name: str
    check: ProbeFn
    needs: str | None = None  # the setting it needs, for NOT CONFIGURED
    tags: frozenset[str] = field(default_factory=frozenset)


def grade(figure: float, *, warn: float, fail: float | None = None) -> State:
    """FAIL from ``fail`` up, WARN from ``warn`` up, else OK: how a figure meets its thresholds."""
    if fail is not None and figure >= fail:
        return State.FAIL
    return State.WARN if figure >= warn else State.OK


def tally_by(values: Sequence[str]) -> tuple[str, ...]:
    """``("card_declined: 3", "expired_card: 1")``: each value with its count, most frequent first."""
    from collections import Counter

    return tuple(f"{value}: {count}" for value, count in Counter(values).most_common())


def unknown(name: str, reason: str) -> Result:
    return Result(name, State.UNKNOWN, reason)


def not_configured(name: str, setting: str) -> Result:
    return Result(name, State.NOT_CONFIGURED, f"set {setting} to check this")


def describe(exc: BaseException) -> str:
    """A short reason for an exception, with no secrets (URLs and messages are not echoed)."""
    from bot.error_table import translate
    from bot.errors import UpstreamError

    mapped = translate(exc)
    if isinstance(mapped, UpstreamError):
        return mapped.code
    if isinstance(exc, ValueError | KeyError | TypeError):
        return f"unexpected answer ({exc.__class__.__name__})"
    name = exc.__class__.__name__
    if exc.__class__.__module__.startswith("psycopg"):
        # The server's message is the diagnosis ("remaining connection slots are reserved…",
        # 'database "x" does not exist'); it is shown with anything secret-shaped taken out.
        from bot.logs import Redactor

        said = " ".join(str(exc).split())
        return f"{name}: {Redactor()(said)[:300]}" if said else name
    module = exc.__class__.__module__.split(".")[0]
    return f"{module}.{name}" if module not in ("builtins",) else name


async def run_one(probe: Probe, within: float) -> list[Result]:
    """Run ``probe`` for at most ``within`` seconds; anything that goes wrong is UNKNOWN."""
    started = time.monotonic()
    try:
        got = await asyncio.wait_for(probe.check(), timeout=within)
    except TimeoutError:
        results: list[Result] = [unknown(probe.name, f"timed out after {within:g}s")]
    except Exception as exc:  # a probe must never take the bot down
        results = [unknown(probe.name, describe(exc))]
    else:
        results = [got] if isinstance(got, Result) else list(got)
        if not results:
            results = [unknown(probe.name, "no answer")]
    elapsed = time.monotonic() - started
    return [_finished(r, elapsed) for r in results]


def _finished(result: Result, elapsed: float) -> Result:
    """With its time, and with secret-shaped text taken out: providers echo what they were sent
    (a Sentry issue titled with a token, a query holding a password) and results reach Slack."""
    from dataclasses import replace

    from bot.logs import Redactor

    clean = Redactor()
    return replace(
        result,
        elapsed=elapsed,
        summary=clean(result.summary),
        figure=clean(result.figure) if result.figure else result.figure,
        details=tuple(clean(d) for d in result.details),
    )


async def run_all(
    probes: Sequence[Probe], within: float, *, observe: ProbeObserver | None = None
) -> AsyncIterator[tuple[Probe, list[Result]]]:
    """Run every probe at once; yields each probe's results as soon as it finishes."""

    async def tagged(probe: Probe) -> tuple[Probe, list[Result]]:
        results = await run_one(probe, within)
        if observe is not None:
            observe(probe, results)
        return probe, results

    pending = {asyncio.ensure_future(tagged(p)) for p in probes}
    try:
        while pending:
            done, pending = await asyncio.wait(pending, return_when=asyncio.FIRST_COMPLETED)
            for task in done:
                yield task.result()
    finally:
        for task in pending:
            task.cancel()


async def gather(
    probes: Sequence[Probe], within: float, *, observe: ProbeObserver | None = None
) -> list[Result]:
    """Every result, worst first; takes about as long as the slowest probe."""
    results: list[Result] = []
    async for _, found in run_all(probes, within, observe=observe):
        results.extend(found)
    return sort_results(results)


def sort_results(results: Sequence[Result]) -> list[Result]:
    return sorted(results, key=lambda r: (r.state.rank, r.name))


def worst(results: Sequence[Result]) -> State:
    states = {r.state for r in results}
    for state in (State.FAIL, State.WARN, State.UNKNOWN):
        if state in states:
            return state
    return State.OK
