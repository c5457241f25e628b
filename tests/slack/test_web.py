"""The HTTP edge: what is unsigned or malformed is refused quietly; slow bodies time out; /healthz tells
the truth about the store."""

from __future__ import annotations

import asyncio
import logging
import time

import psycopg
import pytest

from bot.devtools import payloads
from tests.harness import SECRET, Harness


async def test_malformed_and_unsigned_requests_are_401_logged_quietly_never_reported(
    bot: Harness, caplog: pytest.LogCaptureFixture
) -> None:
    url = f"{bot.url}/slack/events"
    body = payloads.slash_command("/incident", "open P1 forged")
    form = {"Content-Type": "application/x-www-form-urlencoded"}
    caplog.set_level(logging.DEBUG)
    bad_stamp = await bot.http.post(
        url, content=body, headers={**form, "X-Slack-Request-Timestamp": "abc", "X-Slack-Signature": "v0=1"}
    )
    not_utf8 = await bot.http.post(url, content=b"\xff\xfe\x00text=\xc3(", headers=form)
    signed = payloads.signed_headers(SECRET, body, content_type=form["Content-Type"])
    bad_signature = await bot.http.post(
        url, content=body, headers={**signed, "X-Slack-Signature": "v0=\xe9".encode("latin-1")}
    )
    assert [bad_stamp.status_code, not_utf8.status_code, bad_signature.status_code] == [401, 401, 401]
    assert all(r.levelno <= logging.INFO for r in caplog.records if r.name.startswith(("bot", "opsbot")))
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert bot.sim.calls == []


async def test_a_sender_that_hangs_up_mid_body_is_a_quiet_info_line(
    bot: Harness, caplog: pytest.LogCaptureFixture
) -> None:
    """Slack (or anyone) giving up on a slow ack drops the connection: nothing to answer, no ERROR."""
    caplog.set_level(logging.INFO)
    host, port = bot.url.removeprefix("http://").split(":")
    _reader, writer = await asyncio.open_connection(host, int(port))
    writer.write(
        b"POST /slack/events HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        b'Content-Length: 1000\r\n\r\n{"type":'
    )
    await writer.drain()
    await asyncio.sleep(0.1)
    writer.close()
    for _ in range(50):
        await asyncio.sleep(0.05)
        if any("hung up" in r.getMessage() for r in caplog.records):
            break
    assert any("hung up before its body arrived" in r.getMessage() for r in caplog.records)
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING], caplog.records
    assert (await bot.command("help"))["text"], "the server goes on serving"


async def test_a_body_that_never_finishes_times_out(bot: Harness) -> None:
    host, port = bot.url.removeprefix("http://").split(":")
    reader, writer = await asyncio.open_connection(host, int(port))
    writer.write(
        b"POST /slack/events HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        b'Content-Length: 1000\r\n\r\n{"type":'
    )
    await writer.drain()
    started = time.monotonic()
    answer = await asyncio.wait_for(reader.read(200), timeout=5)
    assert b"408" in answer.split(b"\r\n")[0]
    assert time.monotonic() - started < 4
    writer.close()
    # and real requests are still served
    assert "Incident commands" in (await bot.command("help"))["text"]


async def test_healthz_is_503_naming_a_read_only_sqlite_store(tmp_path: object) -> None:
    bot = await Harness.start(f"sqlite:///{tmp_path}/opsbot.db")
    try:
        await bot.command("open P2 checkout slow")
        await bot.settle()
        store = bot.runtime.store

        async def read_only() -> None:
            store._connection().execute("PRAGMA query_only = ON")  # type: ignore[attr-defined]

        await store._there(read_only())  # type: ignore[attr-defined]
        # run() bodies use a second connection on the event loop when the write lock is free.
        store._inline.execute("PRAGMA query_only = ON")  # type: ignore[attr-defined]
        health = await bot.http.get(f"{bot.url}/healthz")
        assert health.status_code == 503 and "read-only" in health.json()["store"]
        reply = await bot.command("note INC-1 still slow")
        assert "read-only" in reply["text"] and "Something went wrong" not in reply["text"]
    finally:
        await bot.close()


async def test_a_pooled_connection_killed_by_the_server_is_replaced_unnoticed(pg_url: str) -> None:
    bot = await Harness.start(pg_url)
    try:
        await bot.command("open P2 checkout slow")
        await bot.settle()
        with psycopg.connect(pg_url, autocommit=True) as admin:
            # With a timeout it returns once the backends are gone (their sockets closed), as they are
            # by the time a restart or an idle timeout is noticed; a connection that dies during the
            # checkout itself fails its request as before (the reply says to try again).
            admin.execute(
                "SELECT pg_terminate_backend(pid, 5000) FROM pg_stat_activity"
                " WHERE datname = current_database() AND pid <> pg_backend_pid()"
            )
        for n in range(3):
            reply = await bot.command(f"note INC-1 still slow {n}")
            assert reply["text"].startswith("Done"), reply["text"]
        assert (await bot.http.get(f"{bot.url}/healthz")).status_code == 200
    finally:
        await bot.close()


async def test_a_data_error_is_not_reported_as_an_outage(pg_url: str) -> None:
    bot = await Harness.start(pg_url)
    try:
        await bot.command("open P2 checkout slow")
        await bot.settle()
        note = "支付" * 450  # 900 CJK characters: once too big for the delivery key's index entry
        reply = await bot.command(f"note INC-1 {note}")
        assert reply["text"].startswith("Done"), reply["text"]
        assert "cannot reach" not in reply["text"]
    finally:
        await bot.close()


async def test_a_damaged_sqlite_file_is_named_as_the_cause(tmp_path: object) -> None:
    import sqlite3

    from bot.error_table import translate
    from bot.errors import StoreUnavailable
    from bot.store.sqlite import SqliteStore

    damaged = translate(sqlite3.DatabaseError("database disk image is malformed"))
    assert isinstance(damaged, StoreUnavailable) and "damaged" in str(damaged.cause)
    assert translate(sqlite3.IntegrityError("FOREIGN KEY constraint failed")) is None  # a data error stays
    path = f"{tmp_path}/garbage.db"
    with open(path, "wb") as f:
        f.write(b"this is not a database file at all" * 200)
    store = SqliteStore(path)
    with pytest.raises(StoreUnavailable) as caught:
        await store.open()
    assert caught.value.cause and "damaged" in caught.value.cause
    assert "damaged" in caught.value.user_message()
