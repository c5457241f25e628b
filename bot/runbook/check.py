"""``opsbot check [scenario]``: the diagnostics from a terminal, as a Nagios/Icinga plugin.

Exit codes follow the monitoring-plugin convention: 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN (also
for bad settings or usage). The first line is the plugin's status line; the rest is the long output.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from collections.abc import Sequence
from typing import NoReturn

import httpx

import handlers
from bot.probes import Result, State, gather, worst
from bot.probes.catalog import STATUS_KEYS, Catalog
from bot.runbook import report
from bot.settings import Settings, SettingsError, load_settings

EXIT = {State.OK: 0, State.WARN: 1, State.FAIL: 2, State.UNKNOWN: 3}
LABEL = {State.OK: "OK", State.WARN: "WARNING", State.FAIL: "CRITICAL", State.UNKNOWN: "UNKNOWN"}


async def run_check(settings: Settings, scenario: str | None) -> tuple[int, list[str]]:
    async with httpx.AsyncClient(timeout=settings.probe_timeout_s) as http:
        catalog = Catalog(settings, http)
        if scenario is None:
            probes = catalog.probes(STATUS_KEYS)
        else:
            chosen = handlers.SCENARIOS[scenario]
            probes = catalog.probes(chosen.probes, scenario=chosen.key)
        started = time.monotonic()
        results = await gather(probes, settings.probe_timeout_s)
    return status_lines(results, scenario, time.monotonic() - started)


def plugin_text(text: str) -> str:
    """Provider text made safe for a plugin's output, where ``|`` starts performance data."""
    return text.replace("|", "/")


def status_lines(results: list[Result], scenario: str | None, elapsed: float) -> tuple[int, list[str]]:
    counted = [r for r in results if r.state is not State.NOT_CONFIGURED]
    what = f"{scenario} " if scenario else ""
    perf = f"elapsed={elapsed:.2f}s;;;0 checks={len(counted)};;;0"
    if not counted:
        # Nothing checked is not a pass: the monitoring system must not show green for it.
        lines = [f"OPSBOT {what}UNKNOWN - no checks configured (see `opsbot check --help`) | {perf}"]
        return EXIT[State.UNKNOWN], lines + [plugin_text(line) for line in report.plain_report(results)]
    state = worst(results)
    bad = [r for r in counted if r.state is state and state is not State.OK]
    headline = "; ".join(f"{r.name}: {r.summary}" for r in bad[:3]) or f"{len(counted)} checks passed"
    lines = [
        f"OPSBOT {what}{LABEL[state]} - {plugin_text(headline)} | {perf}",
        report.tally(results),
        *(plugin_text(line) for line in report.plain_report(results)),
    ]
    return EXIT[state], lines


class _PluginParser(argparse.ArgumentParser):
    """Usage errors as a plugin reports them: a status line on stdout and UNKNOWN (exit 3)."""

    def error(self, message: str) -> NoReturn:
        sys.stdout.write(f"OPSBOT UNKNOWN - usage: {plugin_text(message)}\n")
        sys.stdout.write(self.format_usage())
        raise SystemExit(EXIT[State.UNKNOWN])


def parser() -> argparse.ArgumentParser:
    """``opsbot check``'s own arguments (the plugin conventions: -t/--timeout, -h)."""
    p = _PluginParser(
        prog="opsbot check",
        description="Run diagnostics as a monitoring plugin: exit 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN.",
    )
    p.add_argument("scenario", nargs="?", help="a runbook scenario (default: every status probe)")
    p.add_argument("-t", "--timeout", type=_seconds, default=None, help="give up after this many seconds")
    return p


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds") from None
    if not 0 < value <= 3600:
        raise argparse.ArgumentTypeError(f"{text!r} must be between 0 and 3600 seconds")
    return value


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``opsbot check [scenario] [-t seconds]``; returns the plugin's exit code."""
    try:
        args = parser().parse_args(argv)
    except SystemExit as exc:  # -h/--help exits 0 after printing usage; errors exit 3 (above)
        return int(exc.code or 0)
    scenario: str | None = args.scenario
    if scenario is not None and scenario not in handlers.SCENARIOS:
        print(
            f"OPSBOT UNKNOWN - {scenario!r} is not a scenario; choose one of: {', '.join(handlers.SCENARIOS)}"
        )
        return 3
    try:
        settings = load_settings()
    except SettingsError as exc:
        print(f"OPSBOT UNKNOWN - configuration error: {plugin_text(str(exc))}")
        return 3
    within = args.timeout or settings.probe_timeout_s + 5
    if args.timeout is not None:
        settings = settings.model_copy(
            update={"probe_timeout_s": min(settings.probe_timeout_s, args.timeout)}
        )
    try:
        code, lines = asyncio.run(asyncio.wait_for(run_check(settings, scenario), timeout=within))
    except TimeoutError:
        print(f"OPSBOT UNKNOWN - timed out after {within:g}s")
        return 3
    sys.stdout.write("\n".join(lines) + "\n")
    return code
