"""``opsbot``: serve | socket | console | migrate | manifest | check."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import logging
import secrets
import signal
import sys
from collections.abc import Sequence

from bot.errors import StoreUnavailable
from bot.logs import Redactor, setup_logging, setup_sentry
from bot.settings import Settings, SettingsError, load_settings

log = logging.getLogger("opsbot")

EXIT_CONFIG = 2


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="opsbot", description="Slack chatops bot for the operations runbook."
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.add_parser("serve", help="HTTP mode: Slack sends requests to /slack/events on PORT")
    sub.add_parser("socket", help="Socket Mode with SLACK_APP_TOKEN (no public URL needed)")
    sub.add_parser("console", help="the bot in this terminal, no Slack account needed")
    sub.add_parser("migrate", help="apply the state store's migrations")
    manifest = sub.add_parser("manifest", help="print the Slack app manifest")
    group = manifest.add_mutually_exclusive_group()
    group.add_argument("--url", help="public base URL, e.g. https://opsbot.example.com")
    group.add_argument("--socket", action="store_true", help="the Socket Mode variant")
    # Listed for --help; `opsbot check` parses its own arguments, as a monitoring plugin must.
    sub.add_parser(
        "check", help="run diagnostics; exit 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN", add_help=False
    )
    return parser


def _require(settings: Settings, *names: str) -> None:
    for name in names:
        if not getattr(settings, name):
            raise SettingsError(f"{name.upper()}: is required for this command")


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["check"]:
        from bot.runbook.check import main as check_main

        return check_main(argv[1:])
    args = _parser().parse_args(argv)
    command = args.command or "serve"
    if command == "manifest":
        from bot.slack.manifest import build_manifest, render_manifest

        try:
            manifest = build_manifest(url=args.url, socket=args.socket)
        except ValueError as exc:
            print(f"opsbot manifest: {exc}", file=sys.stderr)
            return EXIT_CONFIG
        sys.stdout.write(render_manifest(manifest))
        return 0
    try:
        settings = load_settings()
        redactor = Redactor(settings.secrets())
        setup_logging(settings.log_level if command != "console" else "WARNING", redactor, stream=sys.stderr)
        setup_sentry(settings.sentry_dsn.get_secret_value() if settings.sentry_dsn else None, redactor)
        if command == "serve":
            _require(settings, "slack_bot_token", "slack_signing_secret")
            return asyncio.run(_serve(settings))
        if command == "socket":
            _require(settings, "slack_bot_token", "slack_app_token")
            return asyncio.run(_socket(settings))
        if command == "console":
            from bot.devtools.console import run_console

            return asyncio.run(run_console(settings))
        if command == "migrate":
            return asyncio.run(_migrate(settings))
    except SettingsError as exc:
        print(f"opsbot: configuration error: {exc}", file=sys.stderr)
        return EXIT_CONFIG
    except StoreUnavailable as exc:
        print(f"opsbot: the state store is unreachable: {Redactor()(str(exc))}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    return 0


async def _until_signalled() -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(sig, stop.set)
    await stop.wait()


async def _serve(settings: Settings) -> int:
    from bot.runtime import start_runtime

    runtime = await start_runtime(settings)
    try:
        await runtime.serve_http(host=settings.host, port=settings.port)
        # What start-up built lives as long as the process: keep it out of the collector's way, so a
        # full collection does not stall an ack.
        gc.freeze()
        log.info("opsbot ready: listening on http://%s:%d/slack/events", settings.host, settings.port)
        await _until_signalled()
    finally:
        await runtime.close()
    return 0


async def _socket(settings: Settings) -> int:
    from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler

    from bot.runtime import start_runtime

    assert settings.slack_app_token is not None
    # Socket Mode requests come over the app's own authenticated WebSocket, not signed HTTP.
    runtime = await start_runtime(settings, signing_secret=secrets.token_hex(16))
    try:
        # Webhooks, health and metrics still arrive over HTTP, on PORT as in serve mode.
        await runtime.serve_http(host=settings.host, port=settings.port, slack=False)
        # The handler reaches Slack through the app's own client, so SLACK_API_URL applies here too.
        handler = AsyncSocketModeHandler(runtime.app, settings.slack_app_token.get_secret_value())
        runtime.stack.push_async_callback(handler.close_async)
        await handler.connect_async()
        log.info("opsbot ready: connected in Socket Mode; HTTP on port %d", settings.port)
        await _until_signalled()
    finally:
        await runtime.close()
    return 0


async def _migrate(settings: Settings) -> int:
    from bot.store import open_store

    store = open_store(settings.database_url.get_secret_value())
    try:
        applied = await store.migrate()
        state = await store.ping()
    finally:
        await store.close()
    print(f"opsbot: applied migrations {applied}; {state}" if applied else f"opsbot: up to date; {state}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
