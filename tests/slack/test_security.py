"""Secrets never reach Slack, logs or Sentry; signatures are always checked; errors get a reference."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import sentry_sdk
from pydantic import SecretStr
from sentry_sdk.envelope import Envelope
from sentry_sdk.transport import Transport

from bot.devtools import payloads
from bot.incidents import service as incidents
from bot.logs import Redactor, setup_logging, setup_sentry
from bot.settings import Settings
from bot.store import repo
from tests.harness import SECRET, TOKEN, Harness

DB_PASSWORD = "pg-pass-5up3r"
SECRETS = {
    "slack_bot_token": TOKEN,
    "stripe_api_key": "rk_live_51abcdefghijklmnop",
    "sentry_auth_token": "sntrys_abcdefghijklmnopqrstuvwxyz",
    "github_token": "ghp_abcdefghijklmnopqrstuvwxyz012345",
}


class CaptureTransport(Transport):
    def __init__(self, options: dict[str, Any] | None = None) -> None:
        super().__init__(options)
        self.events: list[dict[str, Any]] = []

    def capture_envelope(self, envelope: Envelope) -> None:
        event = envelope.get_event()
        if event is not None:
            self.events.append(event)


@pytest.fixture
def sentry_events() -> Iterator[CaptureTransport]:
    settings = Settings(
        database_url=SecretStr(f"postgresql://opsbot:{DB_PASSWORD}@db.internal/opsbot"),
        slack_signing_secret=SecretStr(SECRET),
        **{k: SecretStr(v) for k, v in SECRETS.items()},
    )
    transport = CaptureTransport()
    setup_sentry("https://public@sentry.test/1", Redactor(settings.secrets()), transport=transport)
    yield transport
    sentry_sdk.get_client().close()
    sentry_sdk.init()


def all_secrets() -> list[str]:
    return [*SECRETS.values(), SECRET, DB_PASSWORD]


def test_redactor_catches_known_values_and_secret_shapes() -> None:
    redact = Redactor(["my-signing-secret"])
    text = (
        "xoxb-123-456-abcdef xapp-1-A0-xyz123 sk_live_abcdefgh rk_test_abcdefgh whsec_abcdefgh "
        "ghp_abcdefghijklmnop postgresql://u:hunter2@h/db Bearer abc.def.ghi my-signing-secret password=p4ss"
    )
    cleaned = redact(text)
    for leaked in (
        "xoxb-123",
        "xapp-1",
        "sk_live",
        "rk_test",
        "whsec_",
        "ghp_",
        "hunter2",
        "abc.def.ghi",
        "my-signing-secret",
        "p4ss",
    ):
        assert leaked not in cleaned
    assert cleaned.count("[redacted]") == 10


def test_settings_never_print_secrets() -> None:
    settings = Settings(
        slack_bot_token=SecretStr(TOKEN), database_url=SecretStr(f"postgresql://u:{DB_PASSWORD}@h/db")
    )
    shown = repr(settings) + str(settings.model_dump())
    assert TOKEN not in shown and DB_PASSWORD not in shown
    assert set(settings.secrets()) >= {TOKEN, DB_PASSWORD}


def test_logs_are_redacted_including_tracebacks() -> None:
    stream = io.StringIO()
    setup_logging("INFO", Redactor([TOKEN, DB_PASSWORD]), stream=stream)
    log = logging.getLogger("opsbot.test")
    log.info("connecting with %s to postgresql://opsbot:%s@db/x", TOKEN, DB_PASSWORD)
    try:
        raise RuntimeError(f"auth failed for {TOKEN}")
    except RuntimeError:
        log.exception("call failed")
    out = stream.getvalue()
    assert TOKEN not in out and DB_PASSWORD not in out
    assert out.count("[redacted]") >= 3 and "RuntimeError: auth failed for [redacted]" in out
    logging.getLogger().handlers.clear()


def test_sentry_events_are_scrubbed(sentry_events: CaptureTransport) -> None:
    def failing(slack_bot_token: str, database_url: str) -> None:
        headers = {"Authorization": f"Bearer {slack_bot_token}"}  # a local variable Sentry would send
        raise ConnectionError(f"cannot connect {database_url} with {headers}")

    try:
        failing(TOKEN, f"postgresql://opsbot:{DB_PASSWORD}@db.internal/opsbot")
    except ConnectionError as exc:
        sentry_sdk.capture_exception(exc)
    sentry_sdk.add_breadcrumb(message=f"used {SECRETS['stripe_api_key']}")
    sentry_sdk.capture_message(f"github {SECRETS['github_token']} sentry {SECRETS['sentry_auth_token']}")
    sentry_sdk.flush()
    dumped = json.dumps(sentry_events.events)
    assert len(sentry_events.events) == 2
    for secret in all_secrets():
        assert secret not in dumped
    assert "[redacted]" in dumped


async def test_unexpected_error_gets_a_reference_and_reaches_sentry(
    bot: Harness, sentry_events: CaptureTransport, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def broken(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError(f"database exploded, token {TOKEN}")

    monkeypatch.setattr(incidents, "list_incidents", broken)
    reply = await bot.command("list")
    assert reply["response_type"] == "ephemeral"
    assert reply["text"].startswith(":boom: Something went wrong (ref ")
    ref = reply["text"].split("(ref ")[1][:6]
    assert TOKEN not in reply["text"]
    sentry_sdk.flush()
    (event,) = sentry_events.events
    assert event["tags"]["opsbot_ref"] == ref
    assert TOKEN not in json.dumps(event)


async def test_nothing_secret_reaches_slack(store_url: str) -> None:
    secrets = {k: SecretStr(v) for k, v in SECRETS.items() if k != "slack_bot_token"}
    bot = await Harness.start(store_url, stripe_api_url="http://127.0.0.1:1", **secrets)
    try:
        await bot.command("open P1 stripe webhooks failing")
        await bot.command("note INC-1 checking")
        await bot.command("status", command="/ops")
        await bot.command(f"note INC-1 {TOKEN}")  # someone pastes a token: it is not echoed anywhere else
        await bot.settle()
        sent = json.dumps([c.params for c in bot.sim.calls])
        for secret in [*SECRETS.values(), SECRET]:
            assert secret not in sent
        assert "Updates: [redacted]" in bot.card(1)["text"]
        async with bot.runtime.store.transaction() as tx:
            stored = json.dumps([e.text for e in await repo.timeline(tx, 1)])
        assert TOKEN not in stored
    finally:
        await bot.close()


async def test_unsigned_and_stale_requests_get_401(bot: Harness) -> None:
    body = payloads.slash_command("/incident", "open P1 forged")
    unsigned = await bot.http.post(
        f"{bot.url}/slack/events", content=body, headers={"Content-Type": "application/x-www-form-urlencoded"}
    )
    forged = await bot.post(body, "application/x-www-form-urlencoded", secret="attacker-guess")
    stale_headers = payloads.signed_headers(
        SECRET, body, timestamp=1_600_000_000, content_type="application/x-www-form-urlencoded"
    )
    stale = await bot.http.post(f"{bot.url}/slack/events", content=body, headers=stale_headers)
    assert [unsigned.status_code, forged.status_code, stale.status_code] == [401, 401, 401]
    assert bot.sim.of("chat.postMessage") == []


def test_no_setting_turns_signature_checks_off() -> None:
    names = " ".join(Settings.model_fields)
    assert "verif" not in names and "insecure" not in names
    with pytest.raises(Exception, match="extra"):
        Settings.model_validate({"request_verification_enabled": False})
    assert httpx  # imported for the harness client


PASTED = {
    "github_pat": "github_pat_11ABCDEFG0123456789_abcdefghijklmnopqrstuvwxyz0123456789ABCD",
    "ghp": "ghp_abcdefghijklmnop0123456789ABCDEFGH",
    "gho": "gho_abcdefghijklmnop0123456789ABCDEFGH",
    "ghs": "ghs_abcdefghijklmnop0123456789ABCDEFGH",
    "sentry_user": "sntryu_0123456789abcdef0123456789abcdef0123456789abcdef",
    "dsn_key": "0123456789abcdef0123456789abcdef",
    "aws_id": "AKIAIOSFODNN7EXAMPLE",
    "aws_temp": "ASIAIOSFODNN7EXAMPLE",
    "aws_secret": "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
    "jwt": "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U",
    "url_password": "pa/ss:w0rd",
    "curl_password": "hunter2-curl",
    "stripe": "sk_live_abcdefghijkl0123",
    "slack": "xoxp-1234-5678-abcdefghij",
}


def pasted_text() -> str:
    p = PASTED
    return (
        f"tried {p['github_pat']} and {p['ghp']} {p['gho']} {p['ghs']}; sentry {p['sentry_user']} "
        f"dsn https://{p['dsn_key']}@o1.ingest.sentry.io/42 aws {p['aws_id']} {p['aws_temp']} "
        f"aws_secret_access_key={p['aws_secret']} jwt {p['jwt']} "
        f"db postgresql://app:{p['url_password']}@db.internal:5432/shop "
        f"curl -u admin:{p['curl_password']} https://api.internal stripe {p['stripe']} slack {p['slack']}"
    )


def test_redactor_catches_every_pasted_shape() -> None:
    cleaned = Redactor()(pasted_text())
    for name, secret in PASTED.items():
        assert secret not in cleaned, name
    assert "tried" in cleaned and "o1.ingest.sentry.io/42" in cleaned and "db.internal:5432/shop" in cleaned


def test_redactor_catches_url_passwords_with_at_or_no_user_and_basic_auth() -> None:
    cleaned = Redactor()(
        "db postgresql://app:Tr0ub4dor@3xtra@db.internal/shop?email=a@b.test"
        " cache redis://:s3cr3t-redis@cache:6379 "
        "curl -H 'Authorization: Basic YWRtaW46aHVudGVyMg==' https://api.internal"
    )
    for leaked in ("Tr0ub4dor", "3xtra", "s3cr3t-redis", "YWRtaW46aHVudGVyMg"):
        assert leaked not in cleaned, (leaked, cleaned)
    assert "@db.internal/shop?email=a@b.test" in cleaned and "@cache:6379" in cleaned
    assert "Authorization: Basic [redacted]" in cleaned


async def test_pasted_secrets_reach_no_card_thread_or_store(bot: Harness) -> None:
    await bot.command("open P2 login errors")
    await bot.command(f"note INC-1 {pasted_text()}")
    await bot.settle()
    await bot.say_in_thread(1, f"and in the thread: {pasted_text()}")
    sent = json.dumps([c.params for c in bot.sim.calls])
    async with bot.runtime.store.transaction() as tx:
        stored = json.dumps([e.text for e in await repo.timeline(tx, 1)])
        stored += json.dumps(await tx.fetchall("SELECT * FROM deliveries"))
        stored += json.dumps(await tx.fetchall("SELECT payload FROM outbox"))
    for name, secret in PASTED.items():
        assert secret not in sent, name
        assert secret not in stored, name
