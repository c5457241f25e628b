"""``/ops``: health at a glance and runbook diagnostics."""

from __future__ import annotations

from dataclasses import dataclass

from bot import render
from bot.deps import Deps
from bot.errors import UsageError

OPS_USAGE = {
    "status": "/ops status [public]",
    "check": "/ops check <scenario> [public]",
    "db": "/ops db <connections|long-queries [minutes]|blocked|slow-queries|table-sizes|index-hints|cache>",
    "deploys": "/ops deploys [public]",
    "help": "/ops help",
}


@dataclass(frozen=True)
class OpsHelp:
    pass


OpsCommand = OpsHelp


@dataclass(frozen=True)
class OpsReply:
    message: render.Message
    response_type: str = "ephemeral"


def help_text() -> str:
    lines = ["*Ops commands* (answers are private unless you add `public`)"]
    lines += [f"• `{usage}`" for usage in OPS_USAGE.values()]
    return "\n".join(lines)


def parse_ops_command(text: str) -> OpsCommand:
    words = text.split()
    if not words or words[0].lower() == "help":
        return OpsHelp()
    raise UsageError(
        f"`{words[0][:40]}` is not an ops command. Try one of: {', '.join(OPS_USAGE)}.", OPS_USAGE["help"]
    )


async def run(deps: Deps, cmd: OpsCommand) -> OpsReply:
    return OpsReply(render.Message(text=help_text()))
