"""The console: its own store whatever DATABASE_URL says, a fresh start on request, stable button
numbers, @names as Slack resolves them, public answers shown as public."""

from __future__ import annotations

import io
import re
from pathlib import Path

import psycopg

from bot.devtools.console import run_console
from bot.settings import Settings
from tests.test_cli import run


async def console(script: list[str], *, db: Path, fresh: bool = False) -> str:
    out = io.StringIO()
    code = await run_console(
        Settings(status_pages=[]),
        db=str(db),
        fresh=fresh,
        stdin=io.StringIO("\n".join(script) + "\n"),
        out=out,
    )
    assert code == 0
    return out.getvalue()


def test_console_starts_whatever_database_url_says(tmp_path: Path) -> None:
    result = run("console", stdin="/incident help\n", cwd=tmp_path, env={"DATABASE_URL": "mysql://root@db/x"})
    assert result.returncode == 0 and "/incident open" in result.stdout, result.stderr


def test_console_never_touches_the_configured_store(pg_url: str, tmp_path: Path) -> None:
    result = run(
        "console", stdin="/incident open P2 only in the console\n", cwd=tmp_path, env={"DATABASE_URL": pg_url}
    )
    assert result.returncode == 0, result.stderr
    assert "Declared *INC-1*" in result.stdout
    assert (tmp_path / "opsbot-console.db").exists()
    with psycopg.connect(pg_url) as conn:
        tables = conn.execute("SELECT count(*) FROM pg_tables WHERE tablename = 'incidents'").fetchone()
    assert tables == (0,)  # not even migrated: the console never opened it


async def test_console_fresh_starts_over(tmp_path: Path) -> None:
    db = tmp_path / "mine.db"
    await console(["/incident open P2 first run"], db=db)
    kept = await console(["/incident list all"], db=db)
    assert "incidents from an earlier run are kept" in kept and "first run" in kept
    fresh = await console(["/incident list all", "/incident open P3 again"], db=db, fresh=True)
    assert "first run" not in fresh and "earlier run" not in fresh
    assert "Declared *INC-1* (P3)" in fresh


def numbers(out: str, label: str) -> list[str]:
    return re.findall(rf"\[(\d+)\] {label}", out)


async def test_button_numbers_stay_while_the_card_is_shown(tmp_path: Path) -> None:
    out = await console(
        [
            "/incident open P1 checkout broken",
            "press 1",
            "/incident note INC-1 still looking",
            "as dana",
            "press 5",
        ],
        db=tmp_path / "c.db",
    )
    # The card is edited three times; "Take command" keeps its number 5 throughout (after the clock's
    # Acknowledge, 4), "Resolved" its 3.
    assert set(numbers(out, "Take command")) == {"5"} and len(numbers(out, "Take command")) >= 3
    assert set(numbers(out, "Resolved")) == {"3"}
    assert "(press 8 to toggle)" in out  # the checklist's come after the card's and the page's buttons
    assert "Commander:* @dana" in out  # button 5 was still "Take command" after two edits


async def test_at_names_and_public_answers(tmp_path: Path) -> None:
    out = await console(
        [
            "/incident open P2 search slow",
            "/incident commander INC-1 @dana",
            "/ops help public",
            "/ops deploys public",
        ],
        db=tmp_path / "c.db",
    )
    assert "Commander:* @dana" in out and "handed command of *INC-1* to @dana" in out
    assert "Name the new commander" not in out
    assert "#engineering-incidents opsbot (for everyone): *Recent deploys*" in out
    assert "(only you) *Recent deploys*" not in out


async def test_an_answer_in_place_of_the_commands_ack_is_shown_as_replacing_it(tmp_path: Path) -> None:
    out = await console(["/incident open P2 search slow"], db=tmp_path / "c.db")
    # Slack shows the person one private message: the "is live" follow-up takes the ack's place.
    assert "(only you) Declared *INC-1* (P2): search slow. Posting its card" in out
    assert "(only you, in place of your command's first answer) Declared *INC-1* (P2)" in out
    assert "is live" in out
