"""Every name opsbot gives an incident's Slack messages and outbox lanes, encoded and decoded here only."""

from __future__ import annotations


def lane(number: int) -> str:
    """Everything owed for one incident goes out in order on one lane."""
    return f"inc:{number}"


def card(number: int) -> str:
    """The incident's card in the incident channel (its thread is the incident's thread)."""
    return f"card:{number}"


def picker(number: int) -> str:
    return f"picker:{number}"


def checklist(number: int) -> str:
    return f"checklist:{number}"


def diagnostics(number: int) -> str:
    """The diagnostics report in the incident's thread (also the key of its run state)."""
    return f"diag:{number}"


DIAGNOSTICS_PREFIX = "diag:"


def diagnostics_number(key: str) -> int | None:
    """The incident number of a ``diagnostics(...)`` key, or None when ``key`` is not one."""
    rest = key.removeprefix(DIAGNOSTICS_PREFIX)
    return int(rest) if rest != key and rest.isdigit() else None
