"""The soak script: a short run proves it works end to end; its reckoning is checked on made-up evidence."""

from __future__ import annotations

import json
import subprocess
import sys
from collections import Counter
from pathlib import Path

from benchmarks.soak_load import Promise
from benchmarks.soak_report import ROWS, Seen, reckon, table

ROOT = Path(__file__).resolve().parents[1]


def card(number: int, ts: str, status: str) -> dict:
    return {
        "ts": ts,
        "bot_id": "B0OPSBOT",
        "text": f"🚨 INCIDENT: x (INC-{number})\nStatus: {status}",
        "blocks": [{"type": "actions", "block_id": f"incident_card:{number}"}],
    }


def reply(ts: str, thread_ts: str, text: str, ids: list[int]) -> dict:
    meta = {"event_type": "opsbot_outbox", "event_payload": {"outbox_ids": ids}}
    return {"ts": ts, "thread_ts": thread_ts, "bot_id": "B0OPSBOT", "text": text, "metadata": meta}


def test_reckoning_finds_every_kind_of_trouble() -> None:
    promises = [
        Promise("http", "card", "1", "declare", "UH0000001"),
        Promise("http", "card", "2", "declare", "UH0000002"),  # never posted
        Promise("http", "followup", "UH0000001", "declare", "UH0000001"),
        Promise("http", "followup", "UH0000003", "ops", "UH0000003"),  # seen twice
        Promise("http", "followup", "UH0000011", "ops", "UH0000011"),  # sent twice, seen once (replaced)
        Promise("http", "reply", "UH0000004", "note", "UH0000004"),
        Promise("http", "reply", "UH0000005", "note", "UH0000005"),  # posted twice
        Promise("http", "reply", "UH0000006", "mention", "UH0000006"),  # told "not a thread"
        Promise("http", "reply", "UH0000007", "mention", "UH0000007"),  # store was down: not promised
        Promise("http", "reply", "UH0000010", "mention", "UH0000010"),  # refused, and told why
        Promise("http", "timeline", "100.000001", "message", "UH0000008"),
        Promise("http", "timeline", "100.000002", "message", "UH0000009"),  # not on the timeline
        Promise("socket", "card", "1", "declare", "US0000001"),  # another side: not counted here
    ]
    messages = [
        card(1, "10.000001", "Identified"),
        reply("11.000001", "10.000001", ":memo: <@UH0000004>: a\n:memo: <@UH0000005>: b", [7, 8]),
        reply("12.000001", "10.000001", ":memo: <@UH0000005>: b", [8]),
    ]
    seen = Seen(
        messages=messages,
        followups=Counter({"UH0000001": 1, "UH0000003": 2, "UH0000011": 1}),
        ephemerals={
            "UH0000006": ["Mention me in an incident card's thread to change that incident"],
            "UH0000007": [":warning: opsbot cannot reach its state store; nothing was recorded"],
            "UH0000010": [":information_source: INC-1 changed after you sent that; nothing was done."],
        },
        statuses={1: "resolved"},
        timeline={"100.000001"},
        followup_posts=Counter({"UH0000001": 1, "UH0000003": 2, "UH0000011": 2}),
    )
    result = reckon("http", promises, seen)
    assert result.figures == {
        "posts": 8,
        "lost": 2,
        "doubled": 1,
        "followups_doubled": 1,
        "timeline_lost": 1,
        "stale_cards": 1,
    }
    assert result.details["lost reply (mention), told 'not an incident thread'"] == 1
    assert result.details["outbox items in 2+ messages"] == 1
    assert result.details["follow-up re-sent, seen 1 (ops)"] == 1  # honest: the re-send is still shown
    assert [k for k in result.details if k.startswith("refused after the ack (mention)")] != []
    assert "| timeline rows lost | 1 |" in table({"http": result})


def test_a_short_soak_without_faults_loses_and_doubles_nothing(tmp_path: Path) -> None:
    out = tmp_path / "soak.json"
    # People wait a second after a card appears (--card-grace), so a slow machine cannot turn the
    # card-ts race of issue 16 into a flaky failure here; the soak itself writes at once.
    args = ["--duration", "20", "--rate", "6", "--no-faults", "--card-grace", "1", "--json", str(out)]
    done = subprocess.run(
        [sys.executable, "-m", "benchmarks.soak", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    report = json.loads(out.read_text())
    assert report["sim"]["problem_count"] == 0, report["sim"]["problems"]
    assert report["in_flight_at_end"] == 0 and report["drain_seconds"] < 60
    for side in ("http", "socket"):
        figures = report["results"][side]["figures"]
        assert figures["posts"] >= 15, (side, figures)
        assert {name: figures[name] for name, _ in ROWS[1:]} == dict.fromkeys(
            [name for name, _ in ROWS[1:]], 0
        ), (side, report["results"][side])
    assert "| posts promised by an ack |" in done.stdout
