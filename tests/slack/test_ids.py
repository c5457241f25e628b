"""The block_id / button value / option value codecs: what is encoded decodes to the same thing, and
anything else is a UsageError for the person who pressed it."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.errors import UsageError
from bot.slack import ids

numbers = st.integers(min_value=1, max_value=10**9)
words = st.from_regex(r"[a-z][a-z_]{0,20}", fullmatch=True)


@given(numbers, numbers, st.one_of(st.just(""), words))
def test_card_buttons_round_trip(number: int, version: int, move: str) -> None:
    button = ids.CardButton(number, version, move)
    assert ids.CardButton.decode(button.encode()) == button


@given(numbers, words, st.frozensets(st.from_regex(r"[a-z][0-9]{1,2}", fullmatch=True), max_size=10))
def test_checklist_sections_round_trip(number: int, section: str, ticked: frozenset[str]) -> None:
    shown = ids.ChecklistSection(number, section, ticked)
    assert ids.ChecklistSection.decode(shown.encode()) == shown


@given(numbers, words)
def test_scenario_choices_round_trip(number: int, scenario: str) -> None:
    choice = ids.ScenarioChoice(number, scenario)
    assert ids.ScenarioChoice.decode(choice.encode()) == choice


def test_the_formats_slack_already_holds_stay_readable() -> None:
    # Cards and checklists already posted carry these; a new version must still understand them.
    assert ids.CardButton.decode("12:4:identified") == ids.CardButton(12, 4, "identified")
    assert ids.CardButton.decode("12:4") == ids.CardButton(12, 4)
    assert ids.ChecklistSection.decode("checklist:3:investigation") == ids.ChecklistSection(
        3, "investigation"
    )
    assert ids.ScenarioChoice.decode("3:payments") == ids.ScenarioChoice(3, "payments")
    assert ids.card_block(7) == "incident_card:7" and ids.picker_block(7) == "picker:7"
    assert ids.STATUS_ACTIONS.match(ids.status_action("resolved"))


@pytest.mark.parametrize("value", ["", "x:1", "1", "1:x", "1:2:3:4", "-1:2"])
def test_bad_button_values_are_usage_errors(value: str) -> None:
    with pytest.raises(UsageError, match="old card"):
        ids.CardButton.decode(value)


@pytest.mark.parametrize(
    "block_id", ["", "checklist:x:investigation", "checklist:1", "picker:1:y", "checklist:1:"]
)
def test_bad_checklist_block_ids_are_usage_errors(block_id: str) -> None:
    with pytest.raises(UsageError, match="old message"):
        ids.ChecklistSection.decode(block_id)


@pytest.mark.parametrize("value", ["", "x:payments", ":payments"])
def test_bad_picker_values_are_usage_errors(value: str) -> None:
    with pytest.raises(UsageError, match="old message"):
        ids.ScenarioChoice.decode(value)


def test_stored_refs_keep_their_format() -> None:
    # These are keys in the store (slack_refs, outbox lanes): a new spelling would orphan old messages.
    assert (
        ids.lane(5),
        ids.card_ref(5),
        ids.checklist_ref(5),
        ids.diagnostics_ref(5),
        ids.picker_ref(5),
    ) == (
        "inc:5",
        "card:5",
        "checklist:5",
        "diag:5",
        "picker:5",
    )


def test_diagnostics_number_reads_both_report_refs() -> None:
    assert ids.diagnostics_number(ids.diagnostics_ref(12)) == 12
    assert ids.diagnostics_number(ids.diagnostics_ref(12, "site_down")) == 12
    assert ids.diagnostics_number("diag:x") is None and ids.diagnostics_number("card:12") is None
