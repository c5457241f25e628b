"""The outbox's pure pieces: how a round picks lane batches and merges a backlog of thread replies."""

from __future__ import annotations

from bot.outbox import MERGE_TEXT, Prepared, due_batches, merge_replies
from bot.store.repo import OutboxItem


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
        payload={},
        attempts=attempts,
        next_attempt_at=due,
        state=state,
        in_doubt=attempts > 0,
    )


def test_batches_keep_lane_order_and_stop_at_the_first_waiting_item() -> None:
    items = [item(1), item(2, "inc:2"), item(3), item(4, due=99.0), item(5), item(6, "inc:2")]
    assert [[i.id for i in b] for b in due_batches(items, now=10.0, per_lane=50)] == [[1, 3], [2, 6]]


def test_a_lane_being_sent_waits_and_batches_are_capped() -> None:
    items = [item(1, state="sending"), item(2), item(3, "inc:2"), item(4, "inc:2"), item(5, "inc:2")]
    assert [[i.id for i in b] for b in due_batches(items, now=10.0, per_lane=2)] == [[3, 4]]


def reply(i: int, text: str, thread: str = "card:1", **extra: object) -> Prepared:
    return Prepared(item(i), {"thread_ref": thread, "text": text, **extra})


def test_consecutive_plain_replies_to_one_thread_share_a_message_in_order() -> None:
    merged = merge_replies([reply(1, "a"), reply(2, "b"), reply(3, "c", "card:2"), reply(4, "d", "card:2")])
    assert [(p.payload["text"], [m.id for m in p.members]) for p in merged] == [
        ("a\nb", [1, 2]),
        ("c\nd", [3, 4]),
    ]


def test_replies_that_must_stand_alone_are_not_merged() -> None:
    batch = [
        reply(1, "a"),
        reply(2, "resolved", broadcast=True),
        reply(3, "b"),
        reply(4, "c", ref="diag:1"),
        Prepared(item(5, kind="update"), {"ref": "card:1", "text": "card"}),
        reply(6, "d"),
        Prepared(item(7, attempts=1), {"thread_ref": "card:1", "text": "in doubt"}),
        reply(8, "e"),
    ]
    merged = merge_replies(batch)
    assert [[m.id for m in p.members] for p in merged] == [[1], [2], [3], [4], [5], [6], [7], [8]]


def test_a_merged_message_stays_within_its_size() -> None:
    merged = merge_replies([reply(i, "x" * 1000) for i in range(1, 8)])
    assert all(len(p.payload["text"]) <= MERGE_TEXT for p in merged)
    assert [len(p.members) for p in merged] == [2, 2, 2, 1]


def test_a_lease_names_a_dead_process_only_on_this_host() -> None:
    import os
    import socket
    import subprocess

    from bot.outbox.deliverer import _dead_here

    gone = subprocess.Popen(["true"])
    gone.wait()
    host = socket.gethostname()
    assert _dead_here(f"{host}:{gone.pid}:abc")
    assert not _dead_here(f"{host}:{os.getppid()}:abc")  # alive
    assert not _dead_here(f"{host}:{os.getpid()}:abc")  # ourselves
    assert not _dead_here(f"elsewhere.example:{gone.pid}:abc")  # another host: wait for the lease
    assert not _dead_here(None) and not _dead_here("legacy-holder")
