"""Persist-then-deliver: everything the bot owes Slack is stored with the change that caused it,
committed before Slack gets its ack, then delivered here.

- Use cases owe typed messages (``messages``: Post, Update, Respond) with ``owe`` in their transaction.
- Lanes keep order: the items of one incident (card, then thread replies) go out one at a time, in
  the order they were committed; different lanes go out side by side.
- Edits of one message are coalesced when enqueued: only the latest pending state is sent.
- 429 pauses delivery for Retry-After; 5xx, timeouts and refused connections retry with backoff;
  a revoked token stops delivery (items kept); what is undelivered at a crash goes out after restart.
- Several instances may share a store: a lease that dies with its holder lets one deliver at a time,
  and its term fences every write (``bot.jobs.lease``).
"""

from bot.outbox.deliverer import Outbox
from bot.outbox.errors import Failed, Retry, Stop
from bot.outbox.messages import (
    Ephemeral,
    Live,
    Notify,
    Page,
    Post,
    Rendered,
    Respond,
    Template,
    Update,
    Upload,
    owe,
)
from bot.outbox.rounds import MERGE_TEXT, Chore, DeliveryHealth, Outcome, Prepared, due_batches, merge_replies
from bot.outbox.send import Pager

__all__ = [
    "MERGE_TEXT",
    "Chore",
    "DeliveryHealth",
    "Ephemeral",
    "Failed",
    "Live",
    "Notify",
    "Outbox",
    "Outcome",
    "Page",
    "Pager",
    "Post",
    "Prepared",
    "Rendered",
    "Respond",
    "Retry",
    "Stop",
    "Template",
    "Update",
    "Upload",
    "due_batches",
    "merge_replies",
    "owe",
]
