"""Text as Slack sends it, turned into what the person typed: the one place inbound text is decoded.

Slack escapes a typed ``&``, ``<`` and ``>`` as ``&amp;``, ``&lt;`` and ``&gt;`` and leaves its own tokens
(``<@U…>``, ``<#C…>``, ``<!subteam^…>``, ``<https://…|…>``) as they are. opsbot stores what was meant and
escapes once on the way out (``bot.slack.blocks.escape``), where broadcasts stay inert.
"""

from __future__ import annotations


def typed(text: str | None) -> str:
    """What the person typed: Slack's three entities decoded (``&amp;`` last: ``&amp;lt;`` stays ``&lt;``)."""
    if not text:
        return ""
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")
