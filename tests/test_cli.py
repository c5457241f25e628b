"""The ``opsbot`` command as people run it: real processes."""

from __future__ import annotations

import os
import socket
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import yaml

from bot.devtools import payloads
from bot.devtools.slack_sim import SlackSim


def run(
    *args: str,
    env: dict[str, str] | None = None,
    stdin: str = "",
    cwd: Path | None = None,
    timeout: float = 60,
) -> subprocess.CompletedProcess[str]:
    base = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": os.environ.get("HOME", "/tmp")}
    return subprocess.run(
        [sys.executable, "-m", "bot", *args],
        input=stdin,
        capture_output=True,
        text=True,
        env={**base, **(env or {})},
        cwd=cwd,
        timeout=timeout,
    )


def test_console_prints_help_of_both_commands(tmp_path: Path) -> None:
    result = run("console", stdin="/incident help\n/ops help\n", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "/incident open <P0|P1|P2|P3> <title...>" in result.stdout
    assert "/ops status [public]" in result.stdout
    assert (tmp_path / "opsbot-console.db").exists()  # the console's own SQLite store
    assert not (tmp_path / "opsbot.db").exists()  # never the store `opsbot serve` would use


def test_console_runs_an_incident_end_to_end(tmp_path: Path) -> None:
    script = (
        "\n".join(
            [
                "/incident open P2 checkout broken",  # P2: no page, so the card's buttons come first
                "press 1",
                "reply INC-1 looking at the Stripe dashboard",
                "reply INC-1 @opsbot note webhooks are failing",
                "as dana",
                "/incident resolve INC-1 fixed",
                "/incident list all",
                "quit",
                "/incident open P2 never reached",
            ]
        )
        + "\n"
    )
    result = run("console", stdin=script, cwd=tmp_path, env={"DATABASE_URL": f"sqlite:///{tmp_path}/c.db"})
    out = result.stdout
    assert result.returncode == 0, result.stderr
    assert "#engineering-incidents opsbot: :rotating_light: *INCIDENT: checkout broken*" in out
    assert "[1] Identified" in out
    assert "Status:* :bulb: Identified" in out
    assert "↳ opsbot: :memo: @you: webhooks are failing" in out
    assert "(also sent to the channel)" in out and "@dana resolved *INC-1*" in out
    assert "never reached" not in out.split("> quit")[1]


def test_unreachable_store_one_clear_line_exit_1(tmp_path: Path) -> None:
    result = run(
        "migrate", env={"DATABASE_URL": "postgresql://opsbot:hunter2@127.0.0.1:1/opsbot"}, cwd=tmp_path
    )
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "state store is unreachable" in lines[0]
    assert "hunter2" not in result.stderr and "Traceback" not in result.stderr


def test_bad_setting_one_line_exit_2(tmp_path: Path) -> None:
    result = run("migrate", env={"DATABASE_URL": "mysql://root:hunter2@db/x"}, cwd=tmp_path)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "DATABASE_URL" in lines[0] and "mysql" in lines[0]
    assert "hunter2" not in result.stderr and "Traceback" not in result.stderr


@pytest.mark.parametrize(
    ("env", "key"),
    [
        ({"PORT": "eighty"}, "PORT"),
        ({"INCIDENT_CHANNEL": "engineering"}, "INCIDENT_CHANNEL"),
        ({"OPSBOT_CONFIG": "/nonexistent.yml"}, "OPSBOT_CONFIG"),
        ({}, "SLACK_BOT_TOKEN"),
    ],
)
def test_serve_refuses_bad_or_missing_settings(tmp_path: Path, env: dict[str, str], key: str) -> None:
    result = run("serve", env=env, cwd=tmp_path)
    assert result.returncode == 2, result.stderr
    assert key in result.stderr and len(result.stderr.strip().splitlines()) == 1


def test_yaml_config_file_is_read_and_unknown_keys_refused(tmp_path: Path) -> None:
    (tmp_path / "opsbot.yml").write_text("incident_channel: '#ops'\nprobe_timeout_s: 2\n")
    from bot.settings import load_settings

    cwd = os.getcwd()
    os.chdir(tmp_path)
    try:
        assert load_settings().incident_channel == "#ops"
        (tmp_path / "opsbot.yml").write_text("incident_chanel: '#ops'\n")
        result = run("migrate", cwd=tmp_path)
        assert result.returncode == 2 and "INCIDENT_CHANEL" in result.stderr
    finally:
        os.chdir(cwd)


def test_example_config_documents_every_setting() -> None:
    from bot.settings import Settings

    example = yaml.safe_load((Path(__file__).parents[1] / "opsbot.example.yml").read_text())
    assert set(example) == set(Settings.model_fields)
    Settings.model_validate({k: v for k, v in example.items() if v is not None})


def test_manifest_for_url_and_socket() -> None:
    http = yaml.safe_load(run("manifest", "--url", "https://ops.example.org/").stdout)
    assert http["settings"]["event_subscriptions"]["request_url"] == "https://ops.example.org/slack/events"
    assert http["settings"]["interactivity"]["request_url"] == "https://ops.example.org/slack/events"
    assert {c["command"] for c in http["features"]["slash_commands"]} == {"/incident", "/ops"}
    assert all(
        c["url"] == "https://ops.example.org/slack/events" and c["description"] and c["usage_hint"]
        for c in http["features"]["slash_commands"]
    )
    assert set(http["settings"]["event_subscriptions"]["bot_events"]) == {
        "message.channels",
        "message.groups",  # private incident channels: thread messages reach the timeline
        "app_mention",
        "app_uninstalled",
        "tokens_revoked",
    }
    assert http["settings"]["interactivity"]["is_enabled"] is True
    socket_mode = yaml.safe_load(run("manifest", "--socket").stdout)
    assert socket_mode["settings"]["socket_mode_enabled"] is True
    assert "request_url" not in socket_mode["settings"]["event_subscriptions"]
    assert all("url" not in c for c in socket_mode["features"]["slash_commands"])


def test_manifest_refuses_a_url_that_is_not_https() -> None:
    for url in ("http://ops.example.org", "ops.example.org", "ftp://x", "https://"):
        result = run("manifest", "--url", url)
        assert result.returncode == 2 and result.stdout == ""
        assert "https://" in result.stderr


def test_manifest_scopes_are_the_ones_the_bot_uses() -> None:
    manifest = yaml.safe_load((Path(__file__).parents[1] / "manifest.yml").read_text())
    assert set(manifest["oauth_config"]["scopes"]["bot"]) == {
        "commands",
        "chat:write",
        "files:write",
        "channels:history",
        "groups:history",
        "channels:read",
        "channels:join",
        "groups:read",
        "app_mentions:read",
        "users:read",
        "usergroups:read",
    }


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[str, str]]:
    """`opsbot serve` as a real process; yields its base URL and signing secret."""
    import asyncio
    import threading

    loop = asyncio.new_event_loop()
    sim = loop.run_until_complete(SlackSim().start())
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    port = _free_port()
    secret = "serve-test-secret"
    env = {
        "PORT": str(port),
        "HOST": "127.0.0.1",
        "SLACK_BOT_TOKEN": "xoxb-serve-test",
        "SLACK_SIGNING_SECRET": secret,
        "SLACK_API_URL": sim.api_url,
        "DATABASE_URL": f"sqlite:///{tmp_path}/serve.db",
        "PATH": os.environ.get("PATH", ""),
    }
    proc = subprocess.Popen(
        [sys.executable, "-m", "bot", "serve"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(200):
            try:
                if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.05)
        yield base, secret
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        loop.call_soon_threadsafe(loop.stop)


def test_serve_healthz_and_signature_checks(served: tuple[str, str]) -> None:
    base, secret = served
    health = httpx.get(f"{base}/healthz")
    assert health.status_code == 200 and health.json()["store"] == "sqlite ok"

    body = payloads.slash_command("/incident", "help")
    signed = payloads.signed_headers(secret, body, content_type="application/x-www-form-urlencoded")
    ok = httpx.post(f"{base}/slack/events", content=body, headers=signed)
    assert ok.status_code == 200 and "/incident open" in ok.json()["text"]

    unsigned = httpx.post(
        f"{base}/slack/events", content=body, headers={"Content-Type": "application/x-www-form-urlencoded"}
    )
    assert unsigned.status_code == 401
    wrong = payloads.signed_headers("not-the-secret", body, content_type="application/x-www-form-urlencoded")
    assert httpx.post(f"{base}/slack/events", content=body, headers=wrong).status_code == 401
    stale = payloads.signed_headers(
        secret, body, timestamp=int(time.time()) - 301, content_type="application/x-www-form-urlencoded"
    )
    assert httpx.post(f"{base}/slack/events", content=body, headers=stale).status_code == 401


def test_secrets_from_files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from bot.settings import SettingsError, load_settings

    monkeypatch.chdir(tmp_path)
    (tmp_path / "token").write_text("xoxb-from-a-mounted-file\n")
    monkeypatch.setenv("SLACK_BOT_TOKEN_FILE", str(tmp_path / "token"))
    monkeypatch.setenv("DATABASE_URL_FILE", str(tmp_path / "token"))  # a wrong URL is still checked
    with pytest.raises(SettingsError, match="DATABASE_URL"):
        load_settings()
    monkeypatch.delenv("DATABASE_URL_FILE")
    monkeypatch.setenv("PORT_FILE", str(tmp_path / "token"))  # only secrets may come from files
    settings = load_settings()
    assert settings.slack_bot_token is not None
    assert settings.slack_bot_token.get_secret_value() == "xoxb-from-a-mounted-file"
    assert settings.port == 3000
    monkeypatch.setenv("SLACK_BOT_TOKEN", "xoxb-the-environment-wins")
    assert load_settings().slack_bot_token.get_secret_value() == "xoxb-the-environment-wins"  # type: ignore[union-attr]
    monkeypatch.delenv("SLACK_BOT_TOKEN")
    monkeypatch.setenv("SLACK_BOT_TOKEN_FILE", str(tmp_path / "missing"))
    with pytest.raises(SettingsError, match=r"SLACK_BOT_TOKEN_FILE: cannot read"):
        load_settings()


def test_schema_newer_than_the_code_is_refused_by_migrate_and_serve(tmp_path: Path) -> None:
    db = tmp_path / "state.db"
    env = {"DATABASE_URL": f"sqlite:///{db}"}
    assert run("migrate", env=env, cwd=tmp_path).returncode == 0
    with sqlite3.connect(db) as conn:
        conn.execute("INSERT INTO schema_migrations (version, name, applied_at) VALUES (9999, 'future', 0)")
        # The newer release declared that no release before 9999 can run on its schema.
        conn.execute("UPDATE kv SET value = '9999' WHERE key = 'schema:compatible_from'")
    for args, extra in (
        (("migrate",), {}),
        (("serve",), {"SLACK_BOT_TOKEN": "xoxb-x", "SLACK_SIGNING_SECRET": "s", "PORT": str(_free_port())}),
    ):
        result = run(*args, env={**env, **extra}, cwd=tmp_path)
        assert result.returncode == 1, result
        (line,) = result.stderr.strip().splitlines()
        assert "migration(s) 9999, newer than this opsbot knows" in line and "Traceback" not in result.stderr


def test_newer_but_compatible_schema_serves_and_only_migrate_refuses(tmp_path: Path) -> None:
    db = tmp_path / "state.db"
    env = {"DATABASE_URL": f"sqlite:///{db}"}
    assert run("migrate", env=env, cwd=tmp_path).returncode == 0
    with sqlite3.connect(db) as conn:  # a newer release added a table: expand only, compatible
        conn.execute("INSERT INTO schema_migrations (version, name, applied_at) VALUES (9999, 'future', 0)")
    refused = run("migrate", env=env, cwd=tmp_path)
    assert refused.returncode == 1 and "migrate with the newest release" in refused.stderr
    port = _free_port()
    serve_env = {**env, "SLACK_BOT_TOKEN": "xoxb-x", "SLACK_SIGNING_SECRET": "s", "PORT": str(port)}
    proc = subprocess.Popen(
        [sys.executable, "-m", "bot", "serve"],
        env={**serve_env, "PATH": os.environ["PATH"]},
        cwd=tmp_path,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        for _ in range(200):
            try:
                if httpx.get(f"http://127.0.0.1:{port}/livez", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.05)
        body = httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=5).json()
        schema = next(c for c in body["checks"] if c["name"] == "schema")
        assert schema == {"name": "schema", "ok": True, "detail": "current"}
    finally:
        proc.terminate()
        _, err = proc.communicate(timeout=20)
    assert "migration(s) 9999 come from a newer opsbot that declared this one compatible" in err


async def test_retention_days_applies_to_delivery_keys_and_sent_items(tmp_path: Path) -> None:
    from bot.jobs import housekeeping
    from bot.jobs.scheduler import Timer
    from bot.runtime import job_handlers
    from bot.store import open_store
    from tests.harness import Harness

    url = f"sqlite:///{tmp_path}/kept.db"
    store = open_store(url)
    await store.migrate()
    now = time.time()
    async with store.transaction() as tx:
        for key, age_days in (("old", 3.0), ("recent", 1.0)):
            await tx.execute(
                "INSERT INTO deliveries (key, received_at) VALUES (?, ?)", (key, now - age_days * 86400)
            )
    await store.close()
    bot = await Harness.start(url, retention_days=2)
    try:
        await bot.command("help")
        await bot.settle()
        # The hourly housekeeping job, fired now: it forgets what is older than retention_days.
        prune = job_handlers(bot.runtime.deps)[housekeeping.KIND]
        async with bot.runtime.store.transaction() as tx:
            await prune(tx, Timer(0, housekeeping.KIND, "", time.time(), 1, {}))
        async with bot.runtime.store.transaction() as tx:
            keys = {r["key"] for r in await tx.fetchall("SELECT key FROM deliveries")}
    finally:
        await bot.close()
    assert "old" not in keys and "recent" in keys
