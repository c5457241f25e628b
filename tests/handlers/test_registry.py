"""The scenario registry is checked when built: a typo in a probe list fails there, not at declare time."""

from __future__ import annotations

import dataclasses

import httpx
import pytest

import handlers
from bot.probes import State, gather
from bot.probes.catalog import STATUS_KEYS, Catalog
from bot.probes.specs import Check, StatusPage, check_specs
from bot.settings import Settings


@pytest.mark.parametrize("key", [*handlers.SCENARIOS, "general"])
async def test_every_scenario_probe_resolves_to_probes(key: str) -> None:
    scenario = handlers.get(key)
    assert check_specs(scenario.probes, owner=key) == scenario.probes
    async with httpx.AsyncClient(transport=httpx.MockTransport(lambda r: httpx.Response(503))) as http:
        catalog = Catalog(Settings(status_pages=[]), http)
        for spec in scenario.probes:
            if spec is Check.STATUS_PAGES or spec is Check.DB_CHECKS:
                continue  # groups that are empty when nothing is configured
            assert catalog.probes([spec], scenario=key), spec
        results = await gather(catalog.probes(scenario.probes, scenario=key), within=2)
    assert all(r.state in (State.NOT_CONFIGURED, State.UNKNOWN) for r in results)


def test_a_typo_in_a_probe_list_fails_when_the_registry_is_built() -> None:
    typo = dataclasses.replace(
        handlers.SCENARIOS["payments"], probes=(StatusPage("stripe"), "stripe.webhook")
    )
    with pytest.raises(ValueError, match=r"scenario 'payments': 'stripe.webhook' is not a probe"):
        handlers.check_registry({"payments": typo})
    with pytest.raises(ValueError, match="wrong key"):
        handlers.check_registry({"checkout": handlers.SCENARIOS["payments"]})


def test_status_keys_are_specs() -> None:
    assert check_specs(STATUS_KEYS, owner="/ops status") == STATUS_KEYS


async def test_a_status_page_that_is_not_configured_says_so() -> None:
    async with httpx.AsyncClient() as http:
        (probe,) = Catalog(Settings(status_pages=[]), http).probes([StatusPage("Supabase")])
        (result,) = await gather([probe], within=1)
    assert result.state is State.NOT_CONFIGURED and "STATUS_PAGES" in result.summary
