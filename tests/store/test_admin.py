"""`opsbot outbox list|retry|purge`, `opsbot export`, `opsbot backup`: real commands on both stores."""

from __future__ import annotations

import json
import sqlite3
import stat
from pathlib import Path

from tests.harness import Harness
from tests.test_cli import run


def opsbot(store_url: str, tmp_path: Path, *args: str) -> tuple[int, str, str]:
    result = run(*args, env={"DATABASE_URL": store_url}, cwd=tmp_path)
    return result.returncode, result.stdout, result.stderr


async def test_outbox_failed_items_listed_retried_purged(
    bot: Harness, store_url: str, tmp_path: Path
) -> None:
    await bot.command("open P2 queue backlog")
    await bot.settle()
    # Slack refuses two thread replies for good: they fail and stay for inspection.
    bot.sim.fail("chat.postMessage", status=200, error="msg_too_long", times=2)
    await bot.command("note INC-1 first")
    await bot.command("note INC-1 second")
    await bot.settle()
    await bot.runtime.outbox.stop()  # an operator works while the bot is stopped (or not: both are safe)

    code, out, _ = opsbot(store_url, tmp_path, "outbox", "list")
    lines = out.splitlines()
    assert code == 0 and lines[0].split()[:2] == ["id", "state"]
    failed = [int(line.split()[0]) for line in lines[1:]]
    assert len(failed) == 2 and all("failed" in line and "msg_too_long" in line for line in lines[1:])
    assert "T" in lines[1] and "Z" in lines[1]  # ISO times, not epochs

    oldest = failed[-1]  # newest first: the last one is the note "first"
    code, out, _ = opsbot(store_url, tmp_path, "outbox", "retry", str(oldest))
    assert code == 0 and "1 failed item(s) back to pending" in out
    code, out, _ = opsbot(store_url, tmp_path, "outbox", "list", "--state", "pending")
    assert [int(line.split()[0]) for line in out.splitlines()[1:]] == [oldest]
    code, _, err = opsbot(store_url, tmp_path, "outbox", "purge")
    assert code == 2 and "--all" in err  # never everything by accident
    code, out, _ = opsbot(store_url, tmp_path, "outbox", "purge", "--all")
    assert code == 0 and "1 failed item(s) deleted" in out

    bot.runtime.outbox.start()  # the retried item goes out
    await bot.settle()
    assert "first" in "\n".join(bot.said(1)) and "second" not in "\n".join(bot.said(1))


async def test_export_json_lines_since(bot: Harness, store_url: str, tmp_path: Path) -> None:
    await bot.command("open P2 old one")
    await bot.command("open P1 new one")
    await bot.command("note INC-2 rolled back")
    await bot.settle()
    code, out, _ = opsbot(store_url, tmp_path, "export")
    records = [json.loads(line) for line in out.splitlines()]
    assert code == 0 and [r["number"] for r in records] == [1, 2]
    assert records[1]["title"] == "new one" and records[1]["created_at"].endswith("Z")
    assert any(e["kind"] == "note" and "rolled back" in e["text"] for e in records[1]["timeline"])
    code, out, _ = opsbot(store_url, tmp_path, "export", "--since", "2999-01-01")
    assert code == 0 and out == ""
    code, _, err = opsbot(store_url, tmp_path, "export", "--since", "last tuesday")
    assert code == 2 and "not an ISO date" in err


async def test_backup_of_a_live_sqlite_store(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/live.db"
    bot = await Harness.start(url)
    try:
        for i in range(5):
            await bot.command(f"open P3 incident {i}")
        await bot.settle()
        code, out, err = opsbot(url, tmp_path, "backup", str(tmp_path / "copy.db"))
        assert code == 0 and "backed up" in out, err
        code, _, err = opsbot(url, tmp_path, "backup", str(tmp_path / "copy.db"))
        assert code == 2 and "exists" in err  # never overwrites
    finally:
        await bot.close()
    copy = tmp_path / "copy.db"
    assert stat.S_IMODE(copy.stat().st_mode) == 0o600
    with sqlite3.connect(copy) as conn:
        assert conn.execute("SELECT count(*) FROM incidents").fetchone() == (5,)


def test_backup_refuses_postgres(pg_url: str, tmp_path: Path) -> None:
    code, _, err = opsbot(pg_url, tmp_path, "backup", str(tmp_path / "copy.db"))
    assert code == 2 and "pg_dump" in err
