"""Socket Mode as Slack runs it, for the stand-in: hello on connect, envelopes out, acks in.

An envelope not acked within ``ack_timeout`` is sent again (a new envelope id, ``retry_attempt``
counting up, ``retry_reason`` "timeout"), up to ``retries`` times, on whichever connection is open:
as Slack does for Events API envelopes. Connections can be dropped on demand (a close frame, or the
TCP connection cut without one) to test reconnection.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

from aiohttp import WSMsgType, web

HELLO = {
    "type": "hello",
    "num_connections": 1,
    "debug_info": {"host": "opsbot-sim", "approximate_connection_time": 3600},
    "connection_info": {"app_id": "A0OPSBOT"},
}


@dataclass
class Delivery:
    """One request to the app, across its attempts."""

    kind: str
    payload: dict[str, Any]
    acked: asyncio.Future[dict[str, Any]]
    attempts: int = 0
    envelope_ids: list[str] = field(default_factory=list)


class SocketHub:
    """The Socket Mode endpoint and the envelopes in flight."""

    def __init__(
        self,
        *,
        ack_timeout: float = 3.0,
        retries: int = 3,
        redeliver: frozenset[str] = frozenset({"events_api"}),
    ) -> None:
        self.ack_timeout = ack_timeout
        self.retries = retries
        self.redeliver = redeliver
        self.connections: list[web.WebSocketResponse] = []
        self._transports: dict[int, asyncio.Transport] = {}
        self.connected = asyncio.Event()
        self._waiting: dict[str, Delivery] = {}
        self.envelopes: list[dict[str, Any]] = []  # everything sent, for tests
        self.connects = 0
        self.late_acks = 0  # acks for an attempt after another attempt was acked

    async def serve(self, request: web.Request) -> web.WebSocketResponse:
        """The WebSocket endpoint apps.connections.open points to."""
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        self.connections.append(ws)
        if request.transport is not None:
            self._transports[id(ws)] = request.transport
        self.connects += 1
        await ws.send_json(HELLO)
        self.connected.set()
        try:
            async for message in ws:
                if message.type == WSMsgType.TEXT:
                    self._ack(json.loads(message.data))
        finally:
            self._forget(ws)
        return ws

    def _forget(self, ws: web.WebSocketResponse) -> None:
        self._transports.pop(id(ws), None)
        if ws in self.connections:
            self.connections.remove(ws)
        if not self.connections:
            self.connected.clear()

    def _ack(self, data: dict[str, Any]) -> None:
        delivery = self._waiting.pop(str(data.get("envelope_id")), None)
        if delivery is None:
            return
        if delivery.acked.done():
            self.late_acks += 1
        else:
            delivery.acked.set_result(data)

    async def drop(self, *, abort: bool = False) -> int:
        """Hang up every connection: with a close frame, or (``abort``) by cutting the TCP connection."""
        dropped = list(self.connections)
        for ws in dropped:
            transport = self._transports.get(id(ws))
            self._forget(ws)
            if abort and transport is not None:
                # Gone without a goodbye, as when a proxy or NAT forgets the connection.
                transport.abort()
            else:
                with contextlib.suppress(Exception):
                    await ws.close(code=1001, message=b"server going away")
        return len(dropped)

    async def request(self, kind: str, payload: dict[str, Any], *, within: float = 10.0) -> dict[str, Any]:
        """Send one request; returns its ack (``attempts`` added). TimeoutError if none within ``within``."""
        delivery = Delivery(kind, payload, asyncio.get_running_loop().create_future())
        deadline = time.monotonic() + within
        retries = self.retries if kind in self.redeliver else 0
        try:
            while True:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError(f"{kind} not acked within {within:g}s")
                reason = "" if delivery.attempts == 0 else "timeout"
                await self._send(delivery, reason=reason, within=left)
                last = delivery.attempts > retries
                wait = left if last else min(left, self.ack_timeout)
                with contextlib.suppress(TimeoutError):
                    ack = await asyncio.wait_for(asyncio.shield(delivery.acked), timeout=wait)
                    return {**ack, "attempts": delivery.attempts}
                if last:
                    raise TimeoutError(f"{kind} not acked after {delivery.attempts} attempt(s)")
        finally:
            for envelope_id in delivery.envelope_ids:
                self._waiting.pop(envelope_id, None)

    async def _send(self, delivery: Delivery, *, reason: str, within: float) -> None:
        """Send the next attempt on an open connection (waiting up to ``within`` for one)."""
        deadline = time.monotonic() + within
        while True:
            if not self.connections:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(
                        self.connected.wait(), timeout=max(0.01, deadline - time.monotonic())
                    )
            if not self.connections:
                raise TimeoutError("no Socket Mode connection")
            envelope_id = uuid.uuid4().hex
            envelope = {
                "envelope_id": envelope_id,
                "payload": delivery.payload,
                "type": delivery.kind,
                "accepts_response_payload": delivery.kind != "events_api",
                "retry_attempt": delivery.attempts,
                "retry_reason": reason,
            }
            ws = self.connections[-1]
            self._waiting[envelope_id] = delivery
            try:
                await ws.send_json(envelope)
            except (ConnectionError, RuntimeError):
                # The connection died under us: forget it and try the next one (as Slack would).
                self._waiting.pop(envelope_id, None)
                self._forget(ws)
                if time.monotonic() >= deadline:
                    raise TimeoutError("no Socket Mode connection") from None
                continue
            delivery.envelope_ids.append(envelope_id)
            delivery.attempts += 1
            self.envelopes.append(envelope)
            return
