"""Each instance keeps its own record of how its last run ended: a restarted worker reads its own, and
workers or a Socket Mode process sharing the store never take each other for a crash."""

from __future__ import annotations

import logging

import pytest

from bot.server.lifecycle import instance_name, record_start, record_stop
from bot.store import Store


def said(caplog: pytest.LogCaptureFixture) -> list[str]:
    lines = [r.getMessage() for r in caplog.records if r.name == "opsbot.lifecycle"]
    caplog.clear()
    return lines


async def test_instances_sharing_a_store_keep_their_own_records(
    store: Store, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="opsbot.lifecycle")
    for instance in ("serve-1", "serve-2", "socket"):
        await record_start(store, now=1000.0, instance=instance)
    assert said(caplog) == ["opsbot: first start on this store"] * 3, "no worker takes another for a crash"
    await record_stop(store, now=1010.0, instance="serve-1")
    await record_start(store, now=1020.0, instance="serve-1")
    await record_start(store, now=1030.0, instance="serve-2")  # serve-2 was killed: it was still running
    first, second = said(caplog)[-2:]
    assert "stopped cleanly at" in first
    assert "recorded no clean stop" in second


def test_instance_names_are_stable_and_tell_hosts_apart() -> None:
    assert instance_name("serve", environ={}) == "serve"  # the one-process default keeps its old record
    assert instance_name("serve", worker=2, environ={}) == "serve-2"
    assert instance_name("socket", environ={}) == "socket"
    assert instance_name("serve", environ={"DYNO": "web.2"}) == "serve@web.2"
    assert instance_name("serve", worker=1, environ={"DYNO": "web.1"}) == "serve-1@web.1"
