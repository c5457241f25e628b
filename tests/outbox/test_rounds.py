"""The outbox's pure pieces: the message codec, how a round picks lane batches and merges a backlog."""

from __future__ import annotations

from bot.outbox import MERGE_TEXT, Live, Notify, Post, Prepared, Respond, Update, due_batches, merge_replies
from bot.outbox.messages import decode, encode
from bot.outbox.rounds import prepare
from bot.store.queue import OutboxItem


def item(
    i: int,
    lane: str = "inc:1",
    *,
    state: str = "pending",
    due: float = 0.0,
    kind: str = "post",
    attempts: int = 0,
) -> OutboxItem:
    return OutboxItem(
        id=i,
        lane=lane,
        kind=kind,
        attempts=attempts,
        next_attempt_at=due,
        state=state,
        in_doubt=attempts > 0,
    )


def test_every_message_survives_the_codec() -> None:
    messages = [
        Post(
            "inc:1", channel="#incidents", ref="card:1", live=Live("card", 1), notify=Notify("https://r", "t")
        ),
        Post("inc:1", "hello", [{"type": "divider"}], thread_ref="card:1", broadcast=True),
        Update("inc:1", "card:1", live=Live("card", 1)),
        Update("inc:2", "diag:2", "text", [{"type": "divider"}]),
        Respond("https://r", "private"),
        Respond("https://r", "public", [{"type": "divider"}], response_type="in_channel"),
    ]
    for message in messages:
        kind, lane, payload = encode(message)
        assert decode(kind, lane, payload) == message


def test_rows_written_before_typed_messages_still_decode() -> None:
    legacy = {"channel": "#incidents", "ref": "card:3", "render": "card", "incident": 3, "notify_url": "u"}
    decoded = decode("post", "inc:3", {**legacy, "notify_text": "live"})
    assert decoded == Post(
        "inc:3", channel="#incidents", ref="card:3", live=Live("card", 3), notify=Notify("u", "live")
    )


def test_a_malformed_item_is_prepared_to_fail_alone() -> None:
    bad = OutboxItem(
        id=1,
        lane="x",
        kind="update",
        raw='{"text": "no ref"}',
        attempts=0,
        next_attempt_at=0,
        state="sending",
    )
    assert prepare(bad).problem and prepare(bad).message is None
    odd = OutboxItem(id=2, lane="x", kind="fax", attempts=0, next_attempt_at=0, state="sending")
    assert "unknown outbox item kind" in (prepare(odd).problem or "")
    for raw in ("{not json", "[1, 2]"):
        garbled = OutboxItem(
            id=3, lane="x", kind="post", attempts=0, next_attempt_at=0, state="sending", raw=raw
        )
        assert prepare(garbled).message is None and prepare(garbled).problem


def test_batches_keep_lane_order_and_stop_at_the_first_waiting_item() -> None:
    items = [item(1), item(2, "inc:2"), item(3), item(4, due=99.0), item(5), item(6, "inc:2")]
    assert [[i.id for i in b] for b in due_batches(items, now=10.0, per_lane=50)] == [[1, 3], [2, 6]]


def test_a_lane_being_sent_waits_and_batches_are_capped() -> None:
    items = [item(1, state="sending"), item(2), item(3, "inc:2"), item(4, "inc:2"), item(5, "inc:2")]
    assert [[i.id for i in b] for b in due_batches(items, now=10.0, per_lane=2)] == [[3, 4]]


def reply(i: int, text: str, thread: str = "card:1", **extra: object) -> Prepared:
    return Prepared(item(i), Post("inc:1", text, thread_ref=thread, **extra))  # type: ignore[arg-type]


def texts(merged: list[Prepared]) -> list[tuple[str, list[int]]]:
    return [(p.message.text if p.message else "", [m.id for m in p.members]) for p in merged]


def test_consecutive_plain_replies_to_one_thread_share_a_message_in_order() -> None:
    merged = merge_replies([reply(1, "a"), reply(2, "b"), reply(3, "c", "card:2"), reply(4, "d", "card:2")])
    assert texts(merged) == [("a\nb", [1, 2]), ("c\nd", [3, 4])]


def test_replies_that_must_stand_alone_are_not_merged() -> None:
    batch = [
        reply(1, "a"),
        reply(2, "resolved", broadcast=True),
        reply(3, "b"),
        reply(4, "c", ref="diag:1"),
        Prepared(item(5, kind="update"), Update("inc:1", "card:1", "card")),
        reply(6, "d"),
        Prepared(item(7, attempts=1), Post("inc:1", "in doubt", thread_ref="card:1")),
        reply(8, "e"),
    ]
    merged = merge_replies(batch)
    assert [[m.id for m in p.members] for p in merged] == [[1], [2], [3], [4], [5], [6], [7], [8]]


def test_a_merged_message_stays_within_its_size() -> None:
    merged = merge_replies([reply(i, "x" * 1000) for i in range(1, 8)])
    assert all(len(p.message.text) <= MERGE_TEXT for p in merged if p.message)
    assert [len(p.members) for p in merged] == [2, 2, 2, 1]
