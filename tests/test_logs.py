"""Logs an operator can use: ISO times, one `opsbot.*` tree, JSON lines, a line per request and per
delivery, no Bolt noise, secrets redacted in every format."""

from __future__ import annotations

import io
import json
import logging
import re
import warnings
from collections.abc import Iterator

import pytest

from bot.logs import Redactor, setup_logging
from tests.harness import Harness

TOKEN = "xoxb-1234567890-secret-token"


@pytest.fixture
def clean_root() -> Iterator[None]:
    yield
    logging.getLogger().handlers.clear()
    logging.captureWarnings(False)


def test_text_lines_have_iso_utc_times(clean_root: None) -> None:
    stream = io.StringIO()
    setup_logging("INFO", Redactor([TOKEN]), stream=stream)
    logging.getLogger("opsbot.test").info("hello %s", TOKEN)
    (line,) = stream.getvalue().splitlines()
    assert re.match(
        r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z INFO opsbot\.test: hello \[redacted\]$", line
    ), line


def test_json_lines_parse_one_by_one_with_tracebacks_inside(clean_root: None) -> None:
    stream = io.StringIO()
    setup_logging("INFO", Redactor([TOKEN]), stream=stream, fmt="json")
    log = logging.getLogger("opsbot.test")
    log.info("multi\nline %s", TOKEN)
    try:
        raise RuntimeError(f"refused {TOKEN}")
    except RuntimeError:
        log.exception("call failed")
    warnings.warn("a library's deprecation", UserWarning, stacklevel=1)
    lines = [json.loads(line) for line in stream.getvalue().splitlines()]
    assert [line["message"] for line in lines[:2]] == ["multi\nline [redacted]", "call failed"]
    assert lines[2]["logger"] == "py.warnings" and "a library's deprecation" in lines[2]["message"]
    assert lines[1]["level"] == "ERROR" and "RuntimeError: refused [redacted]" in lines[1]["exc"]
    assert TOKEN not in stream.getvalue()
    assert all(re.match(r"^\d{4}-\d\d-\d\dT[\d:.]+Z$", line["time"]) for line in lines)


async def test_an_incident_lifecycle_logs_under_one_tree(
    store_url: str, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Bolt reads SLACK_BOT_TOKEN from the environment itself; with it set it used to warn on every start.
    monkeypatch.setenv("SLACK_BOT_TOKEN", "xoxb-from-the-environment")
    caplog.set_level(logging.INFO)
    bot = await Harness.start(store_url)
    try:
        await bot.command("help")  # its examples name INC-12: no incident of its own
        await bot.command("open P1 checkout broken")
        await bot.command("update INC-1 identified Stripe timeouts")
        await bot.command("resolve INC-1 fixed")
        await bot.command("severity INC-1 P9")
        await bot.settle()
    finally:
        await bot.close()
    messages = [r.getMessage() for r in caplog.records]
    assert not any("will be unused" in m for m in messages)
    ours = {r.name for r in caplog.records if r.name.startswith(("opsbot", "bot"))}
    assert ours and all(name == "opsbot" or name.startswith("opsbot.") for name in ours), ours
    handled = [m for m in messages if m.startswith("handled /incident ")]
    assert [re.sub(r" in \d+ ms", "", m) for m in handled] == [
        "handled /incident help: ok",
        "handled /incident open (INC-1): ok",
        "handled /incident update (INC-1): ok",
        "handled /incident resolve (INC-1): ok",
        "handled /incident severity (INC-1): refused (UsageError)",
    ]
    delivered = [m for m in messages if m.startswith("outbox: delivered ")]
    assert any(
        re.match(r"outbox: delivered post \d+ \(inc:1\) [\d.]+ s after it was owed: sent", m)
        for m in delivered
    ), delivered
    own = [r.getMessage() for r in caplog.records if r.name.startswith("opsbot") and r.name != "opsbot.bolt"]
    assert not any(re.search(r"\b1[6-9]\d{8}(\.\d+)?\b", m) for m in own)  # no raw epoch times


def test_every_logger_is_in_the_opsbot_tree() -> None:
    from pathlib import Path

    root = Path(__file__).parents[1] / "bot"
    names = {
        (path.relative_to(root.parent).as_posix(), name)
        for path in root.rglob("*.py")
        if path.name != "logs.py"  # the set-up: the root logger and third-party levels
        for name in re.findall(r"logging\.getLogger\(([^)]*)\)", path.read_text())
    }
    assert names
    stray = {(path, name) for path, name in names if not re.fullmatch(r'"opsbot(\.[a-z_.]+)?"', name)}
    assert stray == set(), "loggers outside opsbot.*: " + repr(sorted(stray))
