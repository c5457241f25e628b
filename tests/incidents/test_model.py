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
        assert moved.status is to and moved.status_times[to.value] == 200.0
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
