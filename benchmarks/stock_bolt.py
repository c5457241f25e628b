"""The baseline: a stock Bolt AsyncApp whose /incident handler only acks, served by Bolt's own server
(`pbr` as the second argument: with process_before_response=True, Bolt's fastest way to ack)."""

from __future__ import annotations

import os
import sys

from slack_bolt.async_app import AsyncApp
from slack_sdk.web.async_client import AsyncWebClient


def main(port: int, before_response: bool) -> None:
    # Same Slack stand-in as opsbot gets, so its one auth.test call is answered the same way.
    client = AsyncWebClient(token="xoxb-benchmark", base_url=os.environ["SLACK_API_URL"])
    app = AsyncApp(
        signing_secret=os.environ["SLACK_SIGNING_SECRET"],
        client=client,
        process_before_response=before_response,
    )

    @app.command("/incident")
    async def incident(ack):  # type: ignore[no-untyped-def]
        await ack("ok")

    app.start(port=port, host="127.0.0.1")


if __name__ == "__main__":
    main(int(sys.argv[1]), sys.argv[2:] == ["pbr"])
