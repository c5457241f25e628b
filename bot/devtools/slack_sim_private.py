"""What a person sees of the private replies sent to one response_url, as Slack shows them.

A slash command's response_url first shows the command's own message (the ack, which the stand-in never
sees). A post with ``replace_original`` takes that message's place (sent again, it takes it again: the
person still sees one); any other post adds a message.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class PrivateView:
    """One response_url's messages: the command's own (``None``: still the ack) and those added."""

    replaced: str | None = None
    added: list[str] = field(default_factory=list)

    def receive(self, params: dict[str, Any]) -> None:
        """A response_url post Slack accepted."""
        text = str(params.get("text") or "")
        if _true(params.get("replace_original")):
            self.replaced = text
        else:
            self.added.append(text)

    @property
    def visible(self) -> list[str]:
        """The follow-ups the person sees (the ack itself is not one)."""
        return ([self.replaced] if self.replaced is not None else []) + self.added


def _true(value: Any) -> bool:
    # JSON bodies carry a boolean; a form-encoded one the string "true".
    return value is True or (isinstance(value, str) and value.lower() == "true")
