"""The Slack stand-in as its own process, for benchmarks: `python benchmarks/slack_sim_server.py PORT`."""

from __future__ import annotations

import asyncio
import sys

from bot.devtools.slack_sim import SlackSim


async def main(port: int) -> None:
    await SlackSim().start(port=port)
    await asyncio.Event().wait()


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1])))
