from __future__ import annotations

import pytest

from bot.errors import InvalidTransition
from bot.incidents.model import TRANSITIONS, Incident, Severity, Status, format_duration, transition


def inc(status: Status = Status.INVESTIGATING) -> Incident:
    return Incident(
        number=3,
        title="t",
        severity=Severity.P1,
        status=status,
        commander="U1",
        declared_by="U1",
        created_at=100.0,
        updated_at=100.0,
        status_times={"investigating": 100.0},
    )


@pytest.mark.parametrize("start", list(Status))
@pytest.mark.parametrize("to", list(Status))
def test_transition_table(start: Status, to: Status) -> None:
    forward = list(Status).index(to) > list(Status).index(start)
    allowed = forward or (start is Status.RESOLVED and to is Status.INVESTIGATING)
    assert (to in TRANSITIONS[start]) == allowed
    if allowed:
        moved = transition(inc(start), to, now=200.0)
        first = 100.0 if to is Status.INVESTIGATING else 200.0  # milestones keep their first time
        assert moved.status is to and moved.status_times[to.value] == first
        assert moved.version == 2 and moved.updated_at == 200.0
    else:
        with pytest.raises(InvalidTransition) as err:
            transition(inc(start), to, now=200.0)
        assert "INC-3" in err.value.user_message()


def test_reopen_clears_resolution_and_duration_counts_to_resolution() -> None:
    resolved = transition(inc(), Status.RESOLVED, now=160.0)
    assert resolved.duration(now=999.0) == 60.0
    reopened = transition(resolved, Status.INVESTIGATING, now=300.0)
    assert "resolved" not in reopened.status_times and reopened.duration(now=400.0) == 300.0


def test_severity_facts() -> None:
    assert Severity.parse("p0") is Severity.P0 and Severity.parse("P4") is None
    assert Severity.P1.response_seconds == 7200 and Severity.P1.pages_oncall and not Severity.P2.pages_oncall


@pytest.mark.parametrize(
    ("seconds", "text"), [(5, "5s"), (200, "3m 20s"), (3900, "1h 05m"), (190000, "2d 4h")]
)
def test_format_duration(seconds: int, text: str) -> None:
    assert format_duration(seconds) == text


@pytest.mark.parametrize(
    ("start", "to"),
    [
        (Status.IDENTIFIED, Status.INVESTIGATING),
        (Status.MONITORING, Status.IDENTIFIED),
        (Status.MONITORING, Status.INVESTIGATING),
    ],
)
def test_a_step_back_needs_a_reason_and_keeps_the_milestones(start: Status, to: Status) -> None:
    at = inc(start)
    at = Incident(**{**at.__dict__, "status_times": {"investigating": 100.0, start.value: 150.0}})
    with pytest.raises(InvalidTransition) as err:
        transition(at, to, now=200.0)
    assert "needs a reason" in err.value.user_message()
    moved = transition(at, to, now=200.0, reason="errors came back")
    assert moved.status is to
    assert moved.status_times[start.value] == 150.0  # time to mitigate stays the first Monitoring
    assert moved.status_times[to.value] == (100.0 if to is Status.INVESTIGATING else 200.0)


def test_reopen_clears_eta_and_updates() -> None:
    resolved = transition(inc(), Status.RESOLVED, now=160.0)
    resolved = Incident(**{**resolved.__dict__, "eta": "10 min", "latest_update": "all good"})
    reopened = transition(resolved, Status.INVESTIGATING, now=300.0)
    assert reopened.eta is None and reopened.latest_update is None


@pytest.mark.parametrize(
    ("word", "severity"),
    [
        ("p0", Severity.P0),
        ("Critical", Severity.P0),
        ("HIGH", Severity.P1),
        ("medium", Severity.P2),
        ("Low", Severity.P3),
    ],
)
def test_severity_words_from_the_runbook(word: str, severity: Severity) -> None:
    assert Severity.parse(word) is severity


@pytest.mark.parametrize(
    ("word", "status"),
    [("mitigated", Status.MONITORING), ("fixed", Status.RESOLVED), ("Closed", Status.RESOLVED)],
)
def test_status_synonyms(word: str, status: Status) -> None:
    assert Status.parse(word) is status
