"""Probes run side by side, each cut at its timeout; nothing a probe does is a crash or an OK."""

from __future__ import annotations

import asyncio
import time

import httpx
import pytest

from bot.probes import Probe, Result, State, gather, run_all, worst


def probe(key: str, *, delay: float = 0.0, state: State = State.OK, error: Exception | None = None) -> Probe:
    async def run() -> Result:
        await asyncio.sleep(delay)
        if error is not None:
            raise error
        return Result(key, state, "fine")

    return Probe(key, key, run)


async def test_takes_as_long_as_the_slowest_not_the_sum() -> None:
    probes = [probe(f"p{i}", delay=0.3) for i in range(8)]
    started = time.monotonic()
    results = await gather(probes, within=2)
    took = time.monotonic() - started
    assert len(results) == 8 and all(r.state is State.OK for r in results)
    assert took < 0.3 * 3, took


async def test_a_hanging_probe_is_cut_and_reported() -> None:
    started = time.monotonic()
    results = await gather([probe("fast"), probe("hangs", delay=30)], within=0.2)
    assert time.monotonic() - started < 1.0
    by_name = {r.name: r for r in results}
    assert by_name["hangs"].state is State.UNKNOWN and by_name["hangs"].summary == "timed out after 0.2s"
    assert by_name["fast"].state is State.OK


@pytest.mark.parametrize(
    ("error", "reason"),
    [
        (httpx.ConnectError("[Errno 111] Connection refused"), "connection refused or unreachable"),
        (httpx.ConnectError("[Errno -2] Name or service not known"), "host could not be resolved"),
        (httpx.ReadTimeout("read timed out"), "timed out"),
        (ValueError("bad json"), "unexpected answer (ValueError)"),
        (KeyError("status"), "unexpected answer (KeyError)"),
        (RuntimeError("password=hunter2 leaked?"), "RuntimeError"),
        (ConnectionRefusedError(), "ConnectionRefusedError"),
    ],
)
async def test_exceptions_become_unknown_with_a_reason(error: Exception, reason: str) -> None:
    (result,) = await gather([probe("x", error=error)], within=1)
    assert result.state is State.UNKNOWN and result.summary == reason
    assert "hunter2" not in result.summary


async def test_results_stream_in_as_each_finishes() -> None:
    order = [p.key async for p, _ in run_all([probe("slow", delay=0.2), probe("quick")], within=1)]
    assert order == ["quick", "slow"]


async def test_worst_and_sorting() -> None:
    results = await gather(
        [
            probe("a"),
            probe("b", state=State.WARN),
            probe("c", state=State.FAIL),
            probe("d", state=State.NOT_CONFIGURED),
            probe("e", error=OSError()),
        ],
        within=1,
    )
    assert [r.state for r in results] == [
        State.FAIL,
        State.WARN,
        State.UNKNOWN,
        State.OK,
        State.NOT_CONFIGURED,
    ]
    assert worst(results) is State.FAIL
    assert worst([r for r in results if r.state in (State.OK, State.UNKNOWN)]) is State.UNKNOWN
    assert worst([r for r in results if r.state is State.NOT_CONFIGURED]) is State.OK


async def test_secret_shaped_text_from_a_provider_never_leaves_a_probe() -> None:
    from bot.probes import Probe, Result, State, run_one

    token = "ghp_abcdefghijklmnop0123456789ABCDEFGH"

    async def leaky() -> Result:
        return Result(
            "Sentry new issues", State.WARN, f"KeyError {token}", details=(f"auth failed for {token}",)
        )

    (result,) = await run_one(Probe("sentry.issues", "Sentry new issues", leaky), 1.0)
    assert token not in result.summary and token not in " ".join(result.details)
    assert result.summary.startswith("KeyError")
