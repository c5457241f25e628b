"""The Slack stand-in as its own process, for benchmarks:
`python -m benchmarks.slack_sim_server PORT [--check]`.

With ``--check`` every Web API call is held against Slack's OpenAPI description (as in the tests);
problems show at /_sim/state. Faults, channels and Socket Mode requests are driven through /_sim/.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run as a script from anywhere

from bot.devtools.slack_sim import SlackSim


async def main(port: int, *, check: bool) -> None:
    validator = None
    if check:
        from tests.fakes.slack_spec import check_call

        validator = check_call
    await SlackSim(validator=validator).start(port=port)
    await asyncio.Event().wait()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("port", type=int)
    parser.add_argument("--check", action="store_true", help="check calls against the OpenAPI spec")
    args = parser.parse_args()
    asyncio.run(main(args.port, check=args.check))
