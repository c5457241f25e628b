"""``opsbot check [scenario]``: the diagnostics from a terminal, as a Nagios/Icinga plugin.

Exit codes follow the monitoring-plugin convention: 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN (also
for bad settings or usage). The first line is the plugin's status line; the rest is the long output.
"""

from __future__ import annotations

import asyncio
import sys
import time

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


def status_lines(results: list[Result], scenario: str | None, elapsed: float) -> tuple[int, list[str]]:
    state = worst(results)
    counted = [r for r in results if r.state is not State.NOT_CONFIGURED]
    bad = [r for r in counted if r.state is state and state is not State.OK]
    what = f"{scenario} " if scenario else ""
    headline = "; ".join(f"{r.name}: {r.summary}" for r in bad[:3]) or f"{len(counted)} checks passed"
    perf = f"elapsed={elapsed:.2f}s;;;0 checks={len(counted)};;;0"
    lines = [
        f"OPSBOT {what}{LABEL[state]} - {headline} | {perf}",
        report.tally(results),
        *report.plain_report(results),
    ]
    return EXIT[state], lines


def main(scenario: str | None) -> int:
    if scenario is not None and scenario not in handlers.SCENARIOS:
        print(
            f"OPSBOT UNKNOWN - {scenario!r} is not a scenario; choose one of: {', '.join(handlers.SCENARIOS)}"
        )
        return 3
    try:
        settings = load_settings()
    except SettingsError as exc:
        print(f"OPSBOT UNKNOWN - configuration error: {exc}")
        return 3
    code, lines = asyncio.run(run_check(settings, scenario))
    sys.stdout.write("\n".join(lines) + "\n")
    return code
