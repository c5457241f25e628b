"""The Bolt app, built by a factory from injected ports. There is no module-level app."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_bolt.logger import get_bolt_app_logger
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_bolt.response import BoltResponse
from slack_sdk.web.async_client import AsyncWebClient

from bot.deps import Deps
from bot.logs import DROP_CLIENT_TOKEN_WARNING, report_unexpected
from bot.slack.listeners import actions, alerts, clock, commands, lifecycle, public, remediation, threads
from bot.slack.requestlog import LoggedApp

log = logging.getLogger("opsbot.slack")


class LeanApp(LoggedApp):
    """The logged app, giving every request the one shared Web API client.

    Bolt builds a new AsyncWebClient per request, so that a listener may change its token safely.
    opsbot's listeners never call Slack (they owe messages to the outbox) and never touch a token, and
    building that client was a measurable part of the CPU a note costs. The context is otherwise what
    Bolt's own ``_init_context`` makes (tests/slack/test_lean_app.py compares the two, so a Bolt upgrade
    that changes it fails there)."""

    def _init_context(self, req: AsyncBoltRequest) -> None:
        req.context["logger"] = get_bolt_app_logger(app_name=self.name, base_logger=self._base_logger)
        req.context["token"] = self._token
        req.context["client"] = self.client
        req.context["listener_runner"] = self.listener_runner


def build_app(
    deps: Deps,
    *,
    client: AsyncWebClient,
    signing_secret: str,
    observe: Callable[[str, float], None] | None = None,
) -> AsyncApp:
    """An AsyncApp with every listener registered; requests are always signature-checked. ``observe``
    hears each request's kind and time to ack (the metrics)."""
    bolt_log = logging.getLogger("opsbot.bolt")
    bolt_log.addFilter(DROP_CLIENT_TOKEN_WARNING)  # the same filter object is added once only
    app = LeanApp(
        client=client,
        signing_secret=signing_secret,
        # Listeners commit before they ack and leave slow work to the outbox, so the ack can be the
        # listener's own return: no polling for it, and no work left running after the response.
        process_before_response=True,
        request_verification_enabled=True,
        logger=bolt_log,
    )
    app.observe = observe
    commands.register(app, deps)
    actions.register(app, deps)
    actions.register_runbook(app, deps)
    clock.register(app, deps)
    threads.register(app, deps)
    public.register(app, deps)
    alerts.register(app, deps)
    remediation.register(app, deps)
    lifecycle.register(app, deps)  # last: its catch-all acks what nothing above took

    @app.error
    async def on_error(error: Exception, body: dict[str, Any]) -> BoltResponse:
        # Listeners explain their own failures; what reaches here escaped a middleware.
        ref = report_unexpected(error)
        return BoltResponse(status=200, body=f"Something went wrong (ref {ref}).")

    return app
