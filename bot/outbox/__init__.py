"""Persist-then-deliver: everything the bot owes Slack is stored with the change that caused it,
committed before Slack gets its ack, then delivered here.

- Lanes keep order: the items of one incident (card, then thread replies) go out one at a time, in
  the order they were committed; different lanes go out side by side.
- Edits of one message are coalesced when enqueued: only the latest pending state is sent.
- 429 pauses delivery for Retry-After; 5xx, timeouts and refused connections retry with backoff;
  what is undelivered at a crash is delivered after restart.
- Several instances may share a PostgreSQL store: a lease lets exactly one deliver at a time.
"""

from bot.outbox.deliverer import Failed, Outbox, Renderer, Retry
from bot.outbox.owe import ephemeral, post, respond, update, upload
from bot.outbox.rounds import MERGE_TEXT, Outcome, Prepared, due_batches, merge_replies

__all__ = [
    "MERGE_TEXT",
    "Failed",
    "Outbox",
    "Outcome",
    "Prepared",
    "Renderer",
    "Retry",
    "due_batches",
    "ephemeral",
    "merge_replies",
    "post",
    "respond",
    "update",
    "upload",
]
