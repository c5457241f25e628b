"""The post-mortem draft: pure rendering, the upload into the thread over HTTP, and the CLI."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from pathlib import Path

from bot.incidents import postmortem, render
from bot.incidents.model import TIMELINE_KINDS, Incident, Severity, Status
from bot.store import open_store, repo
from bot.store.repo import TimelineEvent
from tests.harness import Harness

T0 = 1_764_252_000.0  # 2025-11-27 14:00:00 UTC
FINAL = "diagnostics at resolve (Checkout): 3 OK\nOK App - 200 in 80ms"


def resolved_incident() -> Incident:
    return Incident(
        number=4,
        title="checkout | broken",
        severity=Severity.P1,
        status=Status.RESOLVED,
        commander="U0DANA",
        declared_by="U0ONCALL",
        created_at=T0,
        updated_at=T0 + 3600,
        scenario="checkout",
        impact="EU card payments fail",
        acknowledged_at=T0 + 120,
        status_times={
            "investigating": T0,
            "identified": T0 + 600,
            "monitoring": T0 + 1800,
            "resolved": T0 + 3600,
        },
    )


def ev(i: int, kind: str, text: str, at: float, **extra: object) -> TimelineEvent:
    return TimelineEvent(id=i, incident=4, kind=kind, actor="U0DANA", text=text, created_at=at, **extra)  # type: ignore[arg-type]


def test_draft_has_the_record_and_the_prompts() -> None:
    events = [
        ev(1, "earlier", "deploy of v2026.11.3", T0 - 300),
        ev(2, "declared", "declared P1: checkout | broken", T0),
        ev(3, "diagnostics", "diagnostics (Checkout): 2 OK · 1 FAIL", T0 + 30),
        ev(4, "checklist", "checked: Check Stripe status", T0 + 200),
        ev(5, "message", "oops", T0 + 250, deleted_at=T0 + 260),
        ev(6, "status", "resolved: rolled back", T0 + 3600),
        ev(
            7, "diagnostics_final", "diagnostics at resolve (Checkout): 3 OK\nOK App - 200 in 80ms", T0 + 3605
        ),
    ]
    text = postmortem.draft(resolved_incident(), events, scenario_title="Checkout not working")
    assert text.startswith("# Post-mortem: INC-4 checkout | broken\n")
    for line in (
        "- **Severity:** P1 (High)",
        "- **Scenario:** Checkout not working",
        "- **Commander:** @U0DANA",
        "EU card payments fail",
        "| Acknowledged | 2025-11-27 14:02:00 | 2m 00s |",
        "| Identified | 2025-11-27 14:10:00 | 10m 00s |",
        "| Mitigated (first Monitoring) | 2025-11-27 14:30:00 | 30m 00s |",
        "| Resolved | 2025-11-27 15:00:00 | 1h 00m |",
        "| 2025-11-27 13:55:00 | Earlier event | @U0DANA | deploy of v2026.11.3 |",
        "| Declared | @U0DANA | declared P1: checkout \\| broken |",
        "| Checklist | @U0DANA | checked: Check Stripe status |",
        "- At declaration (2025-11-27 14:00:30): diagnostics (Checkout): 2 OK · 1 FAIL",
        "- At resolution (2025-11-27 15:00:05): diagnostics at resolve (Checkout): 3 OK",
        "    - OK App - 200 in 80ms",
        "## Root cause",
        "## Where we got lucky",
        "| Action | Owner | Due |",
    ):
        assert line in text, line
    assert "oops" not in text  # deleted messages stay deleted
    assert postmortem.filename(resolved_incident()) == "INC-4-postmortem.md"


async def test_postmortem_is_uploaded_to_the_thread_once(bot: Harness) -> None:
    await bot.command("open P1 checkout broken")
    await bot.command("ack INC-1")
    await bot.command("update INC-1 mitigated rolled back")
    refused = await bot.command("postmortem INC-1")
    assert "still Monitoring" in refused["text"]
    await bot.command("resolve INC-1 orders flowing")
    await bot.settle()
    assert any("`/incident postmortem INC-1`" in line for line in bot.said(1))

    reply = await bot.command("postmortem INC-1", trigger_id="pm-1")
    again = await bot.command("postmortem INC-1", trigger_id="pm-1")  # Slack delivered it twice
    assert "Uploading" in reply["text"] and "twice" in again["text"]
    await bot.settle()
    assert [c.method for c in bot.sim.calls if "upload" in c.method.lower()] == [
        "files.getUploadURLExternal",
        "upload",
        "files.completeUploadExternal",
    ]
    (uploaded,) = bot.sim.uploads.values()
    channel, card_ts = await bot.card_ref(1)
    assert (uploaded.channel, uploaded.thread_ts, uploaded.filename) == (
        channel,
        card_ts,
        "INC-1-postmortem.md",
    )
    assert uploaded.text.startswith("# Post-mortem: INC-1 checkout broken")
    assert "| Mitigated (first Monitoring) |" in uploaded.text and "## Action items" in uploaded.text
    assert "- At declaration (" in uploaded.text and "- At resolution (" in uploaded.text
    shared = [m for m in bot.thread(1) if m.get("files")]
    assert len(shared) == 1 and "Post-mortem draft for *INC-1*" in shared[0]["text"]
    assert json.loads(json.dumps(shared[0]["files"]))[0]["title"] == "Post-mortem draft: INC-1"


def test_cli_prints_the_draft(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/opsbot.db"

    async def seed() -> None:
        store = open_store(url)
        await store.migrate()
        async with store.transaction() as tx:
            await repo.insert_incident(tx, resolved_incident())
            await repo.append_event(tx, incident=4, kind="declared", actor="U0ONCALL", text="declared", at=T0)
        await store.close()

    asyncio.run(seed())
    env = {"DATABASE_URL": url, "PATH": "/usr/bin:/bin", "HOME": str(tmp_path)}
    done = subprocess.run(
        [sys.executable, "-m", "bot", "postmortem", "INC-4"],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        cwd=tmp_path,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("# Post-mortem: INC-4") and "| Resolved |" in done.stdout
    missing = subprocess.run(
        [sys.executable, "-m", "bot", "postmortem", "99"],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        cwd=tmp_path,
    )
    assert missing.returncode == 1 and "no INC-99" in missing.stderr


def test_every_timeline_kind_has_its_own_words_on_the_thread_and_in_the_post_mortem() -> None:
    events = [
        TimelineEvent(id=i, incident=1, kind=kind, actor="U0ONCALL", text=f"a {kind} entry", created_at=1e9)
        for i, kind in enumerate(TIMELINE_KINDS)
    ]
    lines = render.timeline_lines(events)
    unlabelled = [kind for kind, line in zip(TIMELINE_KINDS, lines, strict=True) if " • " in line]
    assert unlabelled == [], "each kind needs a mark in bot.incidents.render"
    table = postmortem.draft(resolved_incident(), events)
    for kind in TIMELINE_KINDS:  # each row's "What" is a word the post-mortem chose, not the raw kind
        assert f"| {postmortem.label(kind)} | @U0ONCALL | a {kind} entry |" in table, kind
    assert set(TIMELINE_KINDS) <= set(postmortem.LABELS), "each kind needs words in bot.incidents.postmortem"
