"""The soak's reckoning: what each ack promised against what the Slack stand-in and the store hold.

Pure except ``gather``, which reads the stand-in and the store once the run has drained.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from benchmarks.soak_load import Promise, card_number
from benchmarks.soak_procs import Sim, connect

USER = re.compile(r"<@(U[HS]\d{7})>")
STORE_DOWN = "state store"
NOT_A_THREAD = "Mention me in an incident card's thread"
ROWS = (
    ("posts", "posts promised by an ack"),
    ("lost", "lost"),
    ("doubled", "posted twice"),
    ("followups_doubled", "private follow-ups seen 2+ times"),
    ("timeline_lost", "timeline rows lost"),
    ("stale_cards", "cards left showing an older status than the store"),
)


@dataclass
class Seen:
    """One side's evidence: the channel's messages, private replies, ephemerals, the store's rows."""

    messages: list[dict[str, Any]]
    followups: Counter[str]  # response_url name -> follow-ups its person sees (a replaced ack counts once)
    ephemerals: dict[str, list[str]]  # user -> texts
    statuses: dict[int, str]  # incident -> status in the store
    timeline: set[str]  # slack ts of human messages on the timeline
    followup_posts: Counter[str] = field(default_factory=Counter)  # response_url name -> posts Slack took


@dataclass
class Reckoning:
    figures: dict[str, int]
    details: dict[str, int] = field(default_factory=dict)
    examples: dict[str, list[str]] = field(default_factory=dict)


def gather(sim: Sim, channel: str, database_url: str) -> Seen:
    messages = list(sim.get("/_sim/messages", channel=channel)["messages"])
    views = sim.get("/_sim/private")["private"]
    followups = Counter({str(name): len(shown) for name, shown in views.items()})
    posts: Counter[str] = Counter()
    for call in sim.get("/_sim/calls", method="response_url")["calls"]:
        if call["status"] == 200:  # processed (an answer lost after processing still shows)
            posts[str(call.get("name"))] += 1
    ephemerals: dict[str, list[str]] = {}
    for call in sim.get("/_sim/calls", method="chat.postEphemeral")["calls"]:
        if call["status"] == 200 and call.get("channel") == channel:
            ephemerals.setdefault(str(call.get("user")), []).append(str(call.get("text")))
    with connect(database_url) as conn:
        statuses = {int(n): str(s) for n, s in conn.execute("SELECT number, status FROM incidents")}
        timeline = {
            str(ts) for (ts,) in conn.execute("SELECT slack_ts FROM timeline WHERE slack_ts IS NOT NULL")
        }
    return Seen(messages, followups, ephemerals, statuses, timeline, posts)


def _thread_users(messages: Iterable[dict[str, Any]]) -> Counter[str]:
    """How many bot lines in threads name each soak user (a merged reply carries several lines)."""
    said: Counter[str] = Counter()
    for msg in messages:
        if not msg.get("bot_id") or msg.get("thread_ts") in (None, msg["ts"]):
            continue
        for line in str(msg.get("text", "")).split("\n"):
            said.update(set(USER.findall(line)))
    return said


def _card_status(msg: dict[str, Any]) -> str | None:
    found = re.search(r"^Status: (\w+)", str(msg.get("text", "")), re.MULTILINE)
    return found.group(1).lower() if found else None


def _outbox_doubles(messages: Iterable[dict[str, Any]]) -> dict[int, list[str]]:
    """Outbox items that reached Slack in more than one message (each post carries its item ids), with
    the ts of each copy (to find in the bots' logs: 'delivered post <id>')."""
    copies: dict[int, list[str]] = {}
    for msg in messages:
        payload = (msg.get("metadata") or {}).get("event_payload") or {}
        for i in payload.get("outbox_ids") or []:
            copies.setdefault(int(i), []).append(str(msg.get("ts")))
    return {i: ts for i, ts in copies.items() if len(ts) > 1}


def reckon(side: str, promises: Iterable[Promise], seen: Seen) -> Reckoning:
    """The table's figures for one side, with a breakdown by what promised them."""
    ours = [p for p in promises if p.side == side]
    refused = {u for u, texts in seen.ephemerals.items() if any(STORE_DOWN in t for t in texts)}
    misread = {u for u, texts in seen.ephemerals.items() if any(NOT_A_THREAD in t for t in texts)}
    # Any other notice to the sender (e.g. "changed after you sent that") answered the request: the
    # bot said why it did nothing, so nothing was lost, but the refusals are counted below.
    told = {u: texts[0] for u, texts in seen.ephemerals.items() if u not in refused and u not in misread}
    cards: Counter[int] = Counter()
    latest: dict[int, dict[str, Any]] = {}
    for msg in seen.messages:
        number = card_number(msg)
        if number is not None and msg.get("thread_ts") in (None, msg["ts"]):
            cards[number] += 1
            latest[number] = msg
    said = _thread_users(seen.messages)
    out = Reckoning({name: 0 for name, _ in ROWS})
    f, d = out.figures, out.details

    def note(what: str, example: str) -> None:
        d[what] = d.get(what, 0) + 1
        out.examples.setdefault(what, [])
        if len(out.examples[what]) < 5:
            out.examples[what].append(example)

    for p in ours:
        if p.user in refused and p.kind in ("reply", "timeline"):
            continue  # the user was told the store was unreachable: nothing was promised after all
        if p.user in told and p.kind == "reply":
            said = re.sub(r"INC-\d+", "INC-n", told[p.user]).split(" (it is now")[0]
            note(f"refused after the ack ({p.via}): {said[:70]}", p.user)
            continue
        if p.kind == "timeline":
            if p.key not in seen.timeline:
                f["timeline_lost"] += 1
                note(f"timeline lost ({p.via})", p.key)
            continue
        f["posts"] += 1
        if p.kind == "card":
            n = cards.get(int(p.key), 0)
        elif p.kind == "reply":
            n = said.get(p.key, 0)
        else:
            n = seen.followups.get(p.key, 0)
        if n == 0:
            f["lost"] += 1
            note(
                f"lost {p.kind} ({p.via})" + (", told 'not an incident thread'" if p.user in misread else ""),
                p.key,
            )
        elif n > 1 and p.kind == "followup":
            f["followups_doubled"] += 1
            note(f"follow-up seen x{n} ({p.via})", p.key)
        elif n > 1:
            f["doubled"] += 1
            note(f"{p.kind} x{n} ({p.via})", p.key)
        if p.kind == "followup" and (sent := seen.followup_posts.get(p.key, 0)) > max(n, 1):
            # Sent again after an uncertain answer (a response_url post cannot be looked up), in the
            # place of the first copy: the person saw it once, but the re-send happened.
            note(f"follow-up re-sent, seen {n} ({p.via})", f"{p.key} x{sent}")
    for number, msg in latest.items():
        shown, stored = _card_status(msg), seen.statuses.get(number)
        if stored is not None and shown != stored.lower():
            f["stale_cards"] += 1
            note("stale card", f"INC-{number}: card {shown}, store {stored}")
    doubles = _outbox_doubles(seen.messages)
    d["outbox items in 2+ messages"] = len(doubles)
    for item, copies in sorted(doubles.items())[:5]:
        out.examples.setdefault("outbox items in 2+ messages", []).append(f"item {item}: {', '.join(copies)}")
    d["ephemerals: store unreachable"] = len(refused)
    return out


def table(results: dict[str, Reckoning]) -> str:
    """The issue's table, one column per side."""
    sides = list(results)
    lines = [
        "| | " + " | ".join("HTTP pair" if s == "http" else "Socket Mode" for s in sides) + " |",
        "| --- |" + " --- |" * len(sides),
    ]
    for name, label in ROWS:
        lines.append(f"| {label} | " + " | ".join(f"{results[s].figures[name]:,}" for s in sides) + " |")
    return "\n".join(lines)
