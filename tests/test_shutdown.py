"""SIGTERM under load on a real `opsbot serve`: bounded drain, nothing left `sending`, lease released,
exit 0, a clean stop the next start reports; and its JSON logs, one object per line."""

from __future__ import annotations

import asyncio
import json
import re
import signal
import socket
import time
from pathlib import Path
from typing import Any

from bot.store import open_store
from tests.processes import Served, ThreadedSim


def store_rows(url: str, sql: str) -> list[dict[str, Any]]:
    async def read() -> list[dict[str, Any]]:
        store = open_store(url)
        await store.open()
        try:
            async with store.transaction() as tx:
                return await tx.fetchall(sql)
        finally:
            await store.close()

    return asyncio.run(read())


def json_lines(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def slow_body(port: int) -> socket.socket:
    """A request whose body never finishes arriving."""
    conn = socket.create_connection(("127.0.0.1", port))
    conn.sendall(
        b"POST /slack/events HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        b'Content-Length: 100000\r\n\r\n{"type": '
    )
    return conn


def test_sigterm_under_load(store_url: str, slack: ThreadedSim, tmp_path: Path) -> None:
    first = Served(store_url, slack.sim, tmp_path, LOG_FORMAT="json").start()
    trickle = None
    try:
        assert first.command("open P1 checkout broken", sim=slack.sim).status_code == 200
        first.wait_drained()
        slack.run(lambda: slack.sim.fail("chat.postMessage", status=200, delay=0.4, times=1000))
        for i in range(6):
            assert first.command(f"note INC-1 step {i}", sim=slack.sim).status_code == 200
        time.sleep(0.5)  # one note is mid-send, the rest wait
        trickle = slow_body(first.port)
        assert first.proc is not None
        started = time.monotonic()
        first.proc.send_signal(signal.SIGTERM)
        code = first.proc.wait(timeout=30)
        took = time.monotonic() - started
    finally:
        if trickle is not None:
            trickle.close()
        first.stop()
    assert code == 0
    assert took < 12, f"shutdown took {took:.1f} s"  # request grace 5 s + the message in flight
    assert store_rows(store_url, "SELECT id FROM outbox WHERE state = 'sending'") == []
    assert asyncio.run(lease_is_free(store_url))  # released: another instance takes it at once
    first_log = json_lines(first.log)  # every line parses: nothing but JSON objects
    messages = [line["message"] for line in first_log]
    assert "opsbot: stopped cleanly" in messages
    assert all(line["time"].endswith("Z") and line["level"] in ("INFO", "WARNING") for line in first_log)
    handled = [m for m in messages if m.startswith("handled /incident note (INC-1) in ")]
    assert len(handled) == 6 and all(m.endswith(": ok") for m in handled)

    slack.run(slack.sim.faults.clear)
    second = Served(store_url, slack.sim, tmp_path, LOG_FORMAT="json").start()
    try:
        second.wait_drained(within=15)
    finally:
        second.stop()
    said = [m["message"] for m in json_lines(second.log)]
    assert any(m.startswith("opsbot: the previous run (") and "stopped cleanly at 20" in m for m in said)
    assert not any("crash" in m for m in said)
    notes = slack.run(
        lambda: [
            line
            for m in slack.sim.messages["C0INCIDENT"].values()
            if m.get("bot_id") and m.get("thread_ts")
            for line in m["text"].split("\n")
            if ":memo:" in line
        ]
    )
    assert notes == [f":memo: <@U0ONCALL>: step {i}" for i in range(6)]  # each once, in order
    delivered = [m for m in messages + said if m.startswith("outbox: delivered ")]
    assert delivered and all(" after it was owed: sent" in m for m in delivered)


def test_sigterm_while_slack_hangs_is_bounded_by_the_grace(tmp_path: Path, slack: ThreadedSim) -> None:
    url = f"sqlite:///{tmp_path}/hang.db"
    first = Served(url, slack.sim, tmp_path, SHUTDOWN_GRACE_S="1").start()
    try:
        assert first.command("open P1 checkout broken", sim=slack.sim).status_code == 200
        first.wait_drained()
        slack.run(lambda: slack.sim.fail("chat.postMessage", status=200, delay=8, times=1))
        assert first.command("note INC-1 sent while Slack hangs", sim=slack.sim).status_code == 200
        time.sleep(0.5)  # the note's post is waiting on Slack
        assert first.proc is not None
        started = time.monotonic()
        first.proc.send_signal(signal.SIGTERM)
        code = first.proc.wait(timeout=30)
        took = time.monotonic() - started
    finally:
        first.stop()
    assert code == 0 and took < 5, f"exit {code} after {took:.1f} s"  # grace 1 s, not Slack's 8 s
    assert store_rows(url, "SELECT id FROM outbox WHERE state = 'sending'") == []
    log = first.log.read_text()
    # The hanging post and what its lane had claimed behind it (the card's edit).
    assert re.search(r"stopped with \d item\(s\) mid-send; checked before resending", log), log
    assert "opsbot: stopped cleanly" in log

    time.sleep(8)  # whatever Slack was doing with the cut-off post has finished
    second = Served(url, slack.sim, tmp_path).start()
    try:
        second.wait_drained(within=15)
    finally:
        second.stop()
    notes = slack.run(
        lambda: [
            m["text"]
            for m in slack.sim.messages["C0INCIDENT"].values()
            if m.get("thread_ts") and "sent while Slack hangs" in m.get("text", "")
        ]
    )
    assert len(notes) == 1  # posted once, whether or not the cut-off attempt had reached Slack


async def lease_is_free(store_url: str) -> bool:
    """Whether the delivery lease can be taken right now (its lock dies with, or is freed by, its holder)."""
    from bot.jobs.lease import Lease
    from bot.store import open_store

    store = open_store(store_url)
    await store.open()
    try:
        lease = Lease(store, "outbox", holder="test:probe")
        taken = await lease.acquire()
        await lease.release()
        return taken is not None
    finally:
        await store.close()
