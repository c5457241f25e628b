"""Start-up while PostgreSQL is down or restarting: it waits, saying so, and comes up when the store does;
it never hangs: after a bound it gives up (the process exits non-zero and its supervisor restarts it)."""

from __future__ import annotations

import asyncio
import logging
import socket
import time
from urllib.parse import urlsplit, urlunsplit

import pytest

from bot.errors import StoreUnavailable
from bot.store import migrate_when_reachable, open_store
from tests.harness import Harness
from tests.tcpproxy import TcpProxy


def _via(url: str, port: int) -> str:
    parts = urlsplit(url)
    auth = parts.netloc.rsplit("@", 1)[0] + "@" if "@" in parts.netloc else ""
    return urlunsplit(parts._replace(netloc=f"{auth}127.0.0.1:{port}"))


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def test_start_up_waits_for_a_restarting_store_and_comes_up(
    pg_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    target = urlsplit(pg_url)
    proxy = await TcpProxy(target.hostname or "127.0.0.1", target.port or 5432).start()
    await proxy.cut()  # PostgreSQL is restarting

    async def back_soon() -> None:
        await asyncio.sleep(1.5)
        await proxy.restore()

    back = asyncio.create_task(back_soon())
    with caplog.at_level(logging.WARNING, logger="opsbot.store"):
        bot = await Harness.start(_via(pg_url, proxy.port))
    try:
        await back
        assert "the state store is not reachable yet" in caplog.text
        await bot.command("open P1 checkout broken")
        await bot.settle()
        assert bot.card(1)
    finally:
        await bot.close()
        await proxy.cut()


@pytest.mark.parametrize("server", ["refusing", "silent"])
async def test_start_up_gives_up_after_its_bound(server: str) -> None:
    """A store that refuses, or accepts and never answers: an error after the bound, not a hang."""
    port, silent = _closed_port(), None
    if server == "silent":

        async def hold(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            await reader.read()  # accepts, never answers

        silent = await asyncio.start_server(hold, "127.0.0.1", 0)
        port = silent.sockets[0].getsockname()[1]
    store = open_store(f"postgresql://opsbot@127.0.0.1:{port}/opsbot")
    started = time.monotonic()
    try:
        with pytest.raises(StoreUnavailable, match="not reachable within 2 s of starting"):
            await migrate_when_reachable(store, within=2.0)
        assert time.monotonic() - started < 4.0
    finally:
        await store.close()
        if silent is not None:
            silent.close()
