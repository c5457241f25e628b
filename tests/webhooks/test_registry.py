"""Webhook mounting, proved with a source that exists only here (the real ones come with the alerts
work): verify, parse and handle run in order, and each failure gets the status its sender understands."""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass

import httpx
import pytest

from bot.errors import Conflict, Forbidden, StoreUnavailable, UsageError
from bot.server.app import build_server, serving
from bot.webhooks import Inbound, Webhooks, WebhookSource
from tests.harness import Harness

KEY = b"test-webhook-key"


@dataclass(frozen=True)
class Ping:
    id: str
    text: str


def sign(body: bytes) -> str:
    return hmac.new(KEY, body, hashlib.sha256).hexdigest()


def verify(inbound: Inbound) -> None:
    given = inbound.headers.get("X-Test-Signature", "")
    if not hmac.compare_digest(given, sign(inbound.body)):
        raise Forbidden("bad signature")


def parse(inbound: Inbound) -> Ping:
    try:
        data = json.loads(inbound.body)
        return Ping(id=str(data["id"]), text=str(data["text"]))
    except (ValueError, KeyError, TypeError) as exc:
        raise UsageError("expected JSON with id and text") from exc


def source(name: str, seen: list[Ping], fail: BaseException | None = None) -> WebhookSource[Ping]:
    async def handle(ping: Ping) -> None:
        if fail is not None:
            raise fail
        seen.append(ping)

    return WebhookSource(name=name, verify=verify, parse=parse, handle=handle)


async def post(
    client: httpx.AsyncClient, url: str, body: bytes, signature: str | None = None
) -> httpx.Response:
    return await client.post(url, content=body, headers={"X-Test-Signature": signature or sign(body)})


async def test_a_source_is_mounted_in_the_bots_server_and_counted(store_url: str) -> None:
    seen: list[Ping] = []
    bot = await Harness.start(store_url, webhooks=[source("test-ping", seen)])
    try:
        body = json.dumps({"id": "1", "text": "hello"}).encode()
        response = await post(bot.http, f"{bot.url}/hooks/test-ping", body)
        assert response.status_code == 202, response.text
        assert seen == [Ping("1", "hello")]
        assert (await post(bot.http, f"{bot.url}/hooks/test-ping", body, "0" * 64)).status_code == 401
        assert (await post(bot.http, f"{bot.url}/hooks/nobody", body)).status_code == 404
        metrics = (await bot.http.get(f"{bot.url}/metrics")).text
        assert 'opsbot_webhook_requests_total{source="test-ping",status="202"} 1.0' in metrics
        assert 'opsbot_webhook_requests_total{source="test-ping",status="401"} 1.0' in metrics
    finally:
        await bot.close()


@pytest.fixture
async def hooks() -> AsyncIterator[tuple[httpx.AsyncClient, str, list[Ping]]]:
    seen: list[Ping] = []
    registry = Webhooks(
        [
            source("ok", seen),
            source("store-down", seen, StoreUnavailable("down")),
            source("refused", seen, Forbidden("not for you")),
            source("broken", seen, RuntimeError("bug")),
            source("again", seen, Conflict("UNIQUE constraint failed: deliveries.key")),
        ],
        clock=lambda: 0.0,
    )
    server = build_server(registry.routes())
    async with serving(server, host="127.0.0.1", port=0) as port, httpx.AsyncClient() as client:
        yield client, f"http://127.0.0.1:{port}/hooks", seen


@pytest.mark.parametrize(
    ("name", "body", "signature", "status", "says"),
    [
        ("ok", b'{"id": "1", "text": "x"}', None, 202, "accepted"),
        ("ok", b'{"id": "1", "text": "x"}', "f" * 64, 401, "not verified"),
        ("ok", b"not json", None, 400, "expected JSON with id and text"),
        ("ok", b'{"id": "1"}', None, 400, "expected JSON with id and text"),
        ("store-down", b'{"id": "1", "text": "x"}', None, 503, "try again later"),
        ("refused", b'{"id": "1", "text": "x"}', None, 422, "not for you"),
        ("broken", b'{"id": "1", "text": "x"}', None, 500, "unexpected error (ref "),
        ("again", b'{"id": "1", "text": "x"}', None, 200, "already received"),
    ],
)
async def test_each_outcome_has_its_status(
    hooks: tuple[httpx.AsyncClient, str, list[Ping]],
    name: str,
    body: bytes,
    signature: str | None,
    status: int,
    says: str,
) -> None:
    client, base, seen = hooks
    response = await post(client, f"{base}/{name}", body, signature)
    assert response.status_code == status
    answer = response.json()
    assert answer["ok"] is (status < 300)
    assert says in (answer.get("message") or answer["error"])
    assert seen == ([Ping("1", "x")] if status == 202 else [])


async def test_a_body_over_the_limit_is_refused_before_any_step(
    hooks: tuple[httpx.AsyncClient, str, list[Ping]],
) -> None:
    client, base, seen = hooks
    response = await post(client, f"{base}/ok", b"x" * (1024 * 1024 + 1))
    assert response.status_code == 413
    assert seen == []


def test_the_registry_is_checked_when_built() -> None:
    with pytest.raises(ValueError, match="listed twice"):
        Webhooks([source("a", []), source("a", [])], clock=lambda: 0.0)
    with pytest.raises(ValueError, match="use a-z"):
        Webhooks([source("Bad/Name", [])], clock=lambda: 0.0)
