"""The Slack stand-in's fault controls, history pages and Socket Mode redelivery, through real clients."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator

import aiohttp
import httpx
import pytest
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.devtools.slack_sim import SlackSim
from bot.devtools.slack_sim_faults import Chaos
from tests.fakes.slack_spec import check_call


@pytest.fixture
async def sim() -> AsyncIterator[SlackSim]:
    started = await SlackSim(validator=check_call).start()
    yield started
    await started.stop()
    assert started.problems == []


def client(sim: SlackSim) -> AsyncWebClient:
    return AsyncWebClient(token="xoxb-test", base_url=sim.api_url, timeout=5)


async def post_five(sim: SlackSim) -> list[str]:
    web = client(sim)
    return [str((await web.chat_postMessage(channel="C0GENERAL", text=f"m{i}"))["ts"]) for i in range(5)]


async def test_history_pages_newest_first_with_a_cursor(sim: SlackSim) -> None:
    ts = await post_five(sim)
    web = client(sim)
    seen: list[str] = []
    cursor = None
    pages = 0
    while True:
        page = await web.conversations_history(channel="C0GENERAL", limit=2, cursor=cursor)
        pages += 1
        seen += [m["text"] for m in page["messages"]]
        cursor = page["response_metadata"]["next_cursor"]
        assert page["has_more"] is bool(cursor)
        if not cursor:
            break
    assert seen == ["m4", "m3", "m2", "m1", "m0"] and pages == 3
    bounded = await web.conversations_history(channel="C0GENERAL", oldest=ts[1], latest=ts[3])
    assert [m["text"] for m in bounded["messages"]] == ["m2"]
    inclusive = await web.conversations_history(
        channel="C0GENERAL", oldest=ts[1], latest=ts[3], inclusive=True
    )
    assert [m["text"] for m in inclusive["messages"]] == ["m3", "m2", "m1"]
    with pytest.raises(SlackApiError) as bad:
        await web.conversations_history(channel="C0GENERAL", cursor="not-ours")
    assert bad.value.response["error"] == "invalid_cursor"


async def test_replies_page_oldest_first(sim: SlackSim) -> None:
    web = client(sim)
    parent = (await web.chat_postMessage(channel="C0GENERAL", text="card"))["ts"]
    for i in range(3):
        await web.chat_postMessage(channel="C0GENERAL", text=f"r{i}", thread_ts=parent)
    first = await web.conversations_replies(channel="C0GENERAL", ts=parent, limit=2)
    assert [m["text"] for m in first["messages"]] == ["card", "r0"] and first["has_more"]
    rest = await web.conversations_replies(
        channel="C0GENERAL", ts=parent, limit=2, cursor=first["response_metadata"]["next_cursor"]
    )
    assert [m["text"] for m in rest["messages"]] == ["r1", "r2"] and not rest["has_more"]


async def test_fail_after_processing_posts_but_answers_500(sim: SlackSim) -> None:
    sim.fail_after("chat.postMessage")
    with pytest.raises(SlackApiError) as failed:
        await client(sim).chat_postMessage(channel="C0GENERAL", text="landed anyway")
    assert failed.value.response.status_code == 500
    assert [m["text"] for m in sim.messages["C0GENERAL"].values()] == ["landed anyway"]
    assert sim.calls[-1].trouble == "after_error"


async def test_fail_after_processing_can_drop_the_connection(sim: SlackSim) -> None:
    sim.fail_after("chat.postMessage", drop=True)
    async with httpx.AsyncClient() as http:
        with pytest.raises(httpx.HTTPError):
            await http.post(
                f"{sim.api_url}chat.postMessage",
                data={"channel": "C0GENERAL", "text": "landed, no answer"},
                headers={"Authorization": "Bearer xoxb-test"},
            )
        # The stand-in keeps serving after the hang-up.
        ok = await http.post(f"{sim.api_url}auth.test", headers={"Authorization": "Bearer xoxb-test"})
    assert ok.json()["ok"] is True
    assert [m["text"] for m in sim.messages["C0GENERAL"].values()] == ["landed, no answer"]


async def test_chaos_hits_the_chosen_share_and_stops(sim: SlackSim) -> None:
    sim.unleash(Chaos(fraction=1.0, troubles={"ratelimited": 1.0}, retry_after=7))
    with pytest.raises(SlackApiError) as limited:
        await client(sim).chat_postMessage(channel="C0GENERAL", text="refused")
    assert limited.value.response.status_code == 429
    assert limited.value.response.headers["retry-after"] == "7"
    assert sim.messages["C0GENERAL"] == {}
    sim.unleash(Chaos(fraction=1.0, troubles={"slow": 1.0}, slow=(0.3, 0.3)))
    started = asyncio.get_running_loop().time()
    await client(sim).chat_postMessage(channel="C0GENERAL", text="late")
    assert asyncio.get_running_loop().time() - started >= 0.3
    sim.unleash(None)
    await client(sim).chat_postMessage(channel="C0GENERAL", text="calm")
    assert [m["text"] for m in sim.messages["C0GENERAL"].values()] == ["late", "calm"]
    with pytest.raises(ValueError):
        Chaos(fraction=2.0)


async def test_chaos_never_spares_nothing_at_a_share() -> None:
    chaos = Chaos(fraction=0.1, seed=1)
    hits = sum(chaos.verdict("chat.postMessage") is not None for _ in range(5000))
    assert 400 < hits < 600
    assert chaos.verdict("apps.connections.open") is None


async def connect(sim: SlackSim, session: aiohttp.ClientSession) -> aiohttp.ClientWebSocketResponse:
    ws = await session.ws_connect(f"{sim.url}/link/?ticket=sim")
    assert (await ws.receive_json())["type"] == "hello"
    return ws


async def test_socket_mode_redelivers_an_unacked_envelope(sim: SlackSim) -> None:
    sim.socket.ack_timeout = 0.2
    async with aiohttp.ClientSession() as session:
        ws = await connect(sim, session)
        request = asyncio.create_task(sim.socket_request("events_api", {"event": {"type": "x"}}, within=5))
        first = await ws.receive_json(timeout=2)
        second = await ws.receive_json(timeout=2)  # not acked in time: Slack sends it again
        assert (first["retry_attempt"], first["retry_reason"]) == (0, "")
        assert (second["retry_attempt"], second["retry_reason"]) == (1, "timeout")
        assert first["envelope_id"] != second["envelope_id"] and second["payload"] == first["payload"]
        await ws.send_str(json.dumps({"envelope_id": second["envelope_id"]}))
        ack = await request
        assert ack["attempts"] == 2
        await ws.close()


async def test_socket_mode_commands_are_not_redelivered(sim: SlackSim) -> None:
    sim.socket.ack_timeout = 0.1
    async with aiohttp.ClientSession() as session:
        ws = await connect(sim, session)
        with pytest.raises(TimeoutError):
            await sim.socket_request("slash_commands", {"command": "/incident"}, within=0.5)
        assert len(sim.socket.envelopes) == 1
        await ws.close()


async def test_socket_mode_delivers_on_the_next_connection_after_a_drop(sim: SlackSim) -> None:
    async with aiohttp.ClientSession() as session:
        ws = await connect(sim, session)
        assert await sim.socket.drop(abort=True) == 1
        assert not sim.socket_connected.is_set()
        request = asyncio.create_task(sim.socket_request("events_api", {"n": 1}, within=5))
        await asyncio.sleep(0.1)
        again = await connect(sim, session)
        envelope = await again.receive_json(timeout=2)
        await again.send_str(json.dumps({"envelope_id": envelope["envelope_id"]}))
        assert (await request)["attempts"] == 1 and sim.socket.connects == 2
        await again.close()
        await ws.close()


async def test_control_routes_for_another_process(sim: SlackSim) -> None:
    async with httpx.AsyncClient(base_url=sim.url) as http:
        assert (await http.post("/_sim/channels", json={"id": "C0SOCKET", "name": "socket"})).json()["ok"]
        said = (
            await http.post("/_sim/human", json={"channel": "C0SOCKET", "user": "U1", "text": "hi"})
        ).json()
        listed = (await http.get("/_sim/messages", params={"channel": "C0SOCKET"})).json()["messages"]
        assert listed == [said["message"]]
        assert (await http.post("/_sim/chaos", json={"fraction": 1, "troubles": {"error": 1}})).json()["ok"]
        assert (await http.post("/_sim/chaos", json={"fraction": 3})).status_code == 400
        refused = await http.post(
            "/api/chat.postMessage", data={"channel": "C0SOCKET", "text": "x", "token": "t"}
        )
        assert refused.status_code == 500
        assert (await http.delete("/_sim/chaos")).json()["counts"] == {"error": 1}
        await http.post("/_sim/fail_after", json={"method": "chat.postMessage"})
        late = await http.post(
            "/api/chat.postMessage", data={"channel": "C0SOCKET", "text": "y", "token": "t"}
        )
        assert late.status_code == 500
        calls = (await http.get("/_sim/calls", params={"method": "chat.postMessage"})).json()["calls"]
        assert [(c["status"], c["trouble"]) for c in calls] == [(500, "error"), (200, "after_error")]
        state = (await http.get("/_sim/state")).json()
        assert state["troubles"] == {"error": 1, "after_error": 1} and state["problem_count"] == 0
        timeout = await http.post("/_sim/socket", json={"kind": "events_api", "payload": {}, "within": 0.2})
        assert timeout.status_code == 504


async def test_a_response_url_shows_a_replacement_once_and_adds_other_posts(sim: SlackSim) -> None:
    url = sim.response_url("U1")
    async with httpx.AsyncClient(base_url=sim.url) as http:
        answer = {"text": "report", "replace_original": True, "response_type": "ephemeral"}
        assert (await http.post(url, json=answer)).status_code == 200
        assert (await http.post(url, json=answer)).status_code == 200  # sent again: it replaces again
        assert sim.private["U1"].visible == ["report"]
        sim.fail_after("response_url")  # processed, then answered 500: the person saw it all the same
        assert (await http.post(url, json={**answer, "text": "report, later"})).status_code == 500
        plain = {"text": "by the way", "replace_original": False}
        assert (await http.post(url, json=plain)).status_code == 200
        assert (await http.post(url, data={"text": "again", "replace_original": "true"})).status_code == 200
        views = (await http.get("/_sim/private")).json()["private"]
    assert views == {"U1": ["again", "by the way"]}
    assert len(sim.of("response_url")) == 5  # every post is still a call
