"""The runtime's stack owns every resource: close releases them all, and a start-up that fails half-way
releases what it had opened."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.alerts import vendors
from bot.errors import StoreUnavailable
from bot.jobs import housekeeping
from bot.jobs.scheduler import pending
from bot.runtime import start_runtime
from bot.store import open_store
from tests.harness import make_settings
from tests.webhooks.test_registry import source


async def test_start_plans_recurring_jobs_and_close_releases_everything(tmp_path: Path) -> None:
    settings = make_settings(f"sqlite:///{tmp_path}/bot.db", "http://127.0.0.1:9/api/")
    runtime = await start_runtime(settings, scheduler_options={"poll_interval": 0.01})
    port = await runtime.serve_http(host="127.0.0.1", port=0)
    async with runtime.store.transaction() as tx:
        assert sorted(t.kind for t in await pending(tx)) == sorted([housekeeping.KIND, vendors.WATCH_JOB])
    scheduler_task = runtime.scheduler._task
    assert scheduler_task is not None and not scheduler_task.done()

    await runtime.close()
    assert scheduler_task.done()
    assert runtime.client.session is not None and runtime.client.session.closed
    assert runtime.deps.catalog.http.is_closed
    with pytest.raises(StoreUnavailable):
        await runtime.store.ping()
    import httpx

    with pytest.raises(httpx.ConnectError):
        async with httpx.AsyncClient() as client:
            await client.get(f"http://127.0.0.1:{port}/healthz")


async def test_a_failed_start_closes_what_it_had_opened(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/bot.db"
    store = open_store(url)
    with pytest.raises(ValueError, match="listed twice"):
        await start_runtime(
            make_settings(url, "http://127.0.0.1:9/api/"),
            store=store,
            webhooks=[source("same", []), source("same", [])],
        )
    with pytest.raises(StoreUnavailable):
        await store.ping()
