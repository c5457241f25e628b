"""/metrics over HTTP, parsed as Prometheus parses it, after real traffic (HTTP mode; Socket Mode is in
tests/slack/test_socket_mode.py)."""

from __future__ import annotations

from prometheus_client.parser import text_string_to_metric_families

from bot.server.metrics import Metrics
from tests.harness import Harness


async def scrape(bot: Harness) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    response = await bot.http.get(f"{bot.url}/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain; version=")
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(response.text)
        for sample in family.samples
    }


def value(samples: dict[tuple[str, frozenset[tuple[str, str]]], float], name: str, **labels: str) -> float:
    return samples.get((name, frozenset(labels.items())), 0.0)


async def test_metrics_after_declaring_an_incident(bot: Harness) -> None:
    before = await scrape(bot)
    assert value(before, "opsbot_store_up") == 1
    assert value(before, "opsbot_requests_total", kind="command") == 0

    await bot.command("open P1 checkout broken")
    await bot.command("open P3 a typo on the pricing page")
    await bot.settle()
    after = await scrape(bot)
    assert value(after, "opsbot_requests_total", kind="command") == 2
    assert value(after, "opsbot_ack_seconds_count", kind="command") == 2
    assert value(after, "opsbot_ack_seconds_bucket", kind="command", le="+Inf") == 2
    assert value(after, "opsbot_open_incidents", severity="P1") == 1
    assert value(after, "opsbot_open_incidents", severity="P3") == 1
    assert value(after, "opsbot_open_incidents", severity="P0") == 0
    for state in ("pending", "sending", "failed"):
        assert value(after, "opsbot_outbox_items", state=state) == 0
    assert value(after, "opsbot_outbox_delivery_seconds_count") >= 2  # at least the two cards
    assert value(after, "opsbot_jobs_due") == 0 and value(after, "opsbot_jobs_late") == 0
    probes = {
        dict(labels)["probe"]
        for (name, labels), v in after.items()
        if name == "opsbot_probe_results_total" and v > 0
    }
    assert probes, "the checkout scenario's diagnostics ran probes"
    assert all(value(after, "opsbot_probe_seconds_count", probe=p) >= 1 for p in probes)

    again = await scrape(bot)  # deliveries are counted once, however often Prometheus scrapes
    assert value(again, "opsbot_outbox_delivery_seconds_count") == value(
        after, "opsbot_outbox_delivery_seconds_count"
    )


async def test_a_timer_nobody_fires_shows_as_due_then_late(bot: Harness) -> None:
    from bot.jobs.scheduler import schedule

    async with bot.runtime.store.transaction() as tx:
        # a kind nothing here fires (a newer version's, say): due, then late
        await schedule(tx, kind="from-the-future", subject="x", due=bot.runtime.deps.clock() - 120)
    samples = await scrape(bot)
    assert value(samples, "opsbot_jobs_due") == 1 and value(samples, "opsbot_jobs_late") == 1


def test_each_runtime_has_its_own_registry() -> None:
    one, two = Metrics(clock=lambda: 0.0), Metrics(clock=lambda: 0.0)
    one.slack_request("command", 0.01)
    assert b'opsbot_requests_total{kind="command"} 1.0' in one.exposition()
    assert b"opsbot_requests_total{" not in two.exposition()


async def test_an_unreachable_store_is_a_gauge_not_a_failed_scrape() -> None:
    from bot.store import open_store

    metrics = Metrics(clock=lambda: 0.0)
    metrics.slack_request("event", 0.2)
    await metrics.refresh(open_store("sqlite://:memory:"))  # never opened: StoreUnavailable
    text = metrics.exposition().decode()
    assert "opsbot_store_up 0.0" in text
    assert 'opsbot_requests_total{kind="event"} 1.0' in text
