"""``opsbot``: serve | socket | console | migrate | manifest | check | postmortem | outbox | export |
backup."""

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
from datetime import UTC, datetime

from bot import eventloop
from bot.errors import SchemaTooNew, StoreUnavailable
from bot.logs import Redactor, setup_logging, setup_sentry
from bot.settings import Settings, SettingsError, load_settings
from bot.store import Store

log = logging.getLogger("opsbot")

EXIT_CONFIG = 2


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="opsbot", description="Slack chatops bot for the operations runbook."
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    serve = sub.add_parser("serve", help="HTTP mode: Slack sends requests to /slack/events on PORT")
    serve.add_argument(
        "--workers",
        type=_workers,
        default=1,
        help="serving processes sharing PORT (SO_REUSEPORT), under one supervising parent (default 1)",
    )
    # Set by that parent on each worker it starts ("2/4"); not for people.
    serve.add_argument("--worker", type=_worker, default=None, help=argparse.SUPPRESS)
    sub.add_parser("socket", help="Socket Mode with SLACK_APP_TOKEN (no public URL needed)")
    console = sub.add_parser("console", help="the bot in this terminal, no Slack account needed")
    console.add_argument("--db", default="opsbot-console.db", help="the console's own SQLite file")
    console.add_argument("--fresh", action="store_true", help="delete that file first: start over")
    sub.add_parser("migrate", help="apply the state store's migrations")
    manifest = sub.add_parser("manifest", help="print the Slack app manifest")
    group = manifest.add_mutually_exclusive_group()
    group.add_argument("--url", help="public base URL, e.g. https://opsbot.example.com")
    group.add_argument("--socket", action="store_true", help="the Socket Mode variant")
    # Listed for --help; `opsbot check` parses its own arguments, as a monitoring plugin must.
    sub.add_parser(
        "check", help="run diagnostics; exit 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN", add_help=False
    )
    pm = sub.add_parser("postmortem", help="print an incident's post-mortem draft (Markdown)")
    pm.add_argument("incident", help="INC-12, #12 or 12")
    outbox = sub.add_parser("outbox", help="inspect, retry or purge undelivered Slack messages")
    action = outbox.add_subparsers(dest="action", metavar="ACTION", required=True)
    listing = action.add_parser("list", help="items in a state, newest first (default: failed)")
    states = ["pending", "sending", "failed", "withheld", "sent"]
    listing.add_argument("--state", default="failed", choices=states)
    listing.add_argument("--limit", type=int, default=100)
    for name, text in (("retry", "failed items back to pending"), ("purge", "delete failed items")):
        cmd = action.add_parser(name, help=f"{text}: the IDs given, or --all")
        cmd.add_argument("ids", nargs="*", type=int)
        cmd.add_argument("--all", action="store_true", help="every failed item")
    export = sub.add_parser("export", help="incidents and their timelines as JSON Lines on stdout")
    export.add_argument("--since", type=_when, help="only incidents changed since (ISO date or time, UTC)")
    backup = sub.add_parser("backup", help="copy the SQLite store with its online backup API")
    backup.add_argument("file", help="a new file for the copy")
    return parser


def _when(text: str) -> float:
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an ISO date or time: {text!r}") from None
    return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).timestamp()


def _workers(text: str) -> int:
    try:
        count = int(text)
    except ValueError:
        count = 0
    if count < 1:
        raise argparse.ArgumentTypeError(f"not a number of processes: {text!r}")
    return count


def _worker(text: str) -> tuple[int, int]:
    from bot.server.workers import parse_worker

    try:
        return parse_worker(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _require(settings: Settings, *names: str) -> None:
    for name in names:
        if not getattr(settings, name):
            raise SettingsError(f"{name.upper()}: is required for this command")


def main(argv: Sequence[str] | None = None) -> int:
    """Run one ``opsbot`` command; returns the exit status."""
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
        # The console never uses the configured store, so a DATABASE_URL it would refuse cannot stop it.
        settings = load_settings(**({"database_url": "sqlite://:memory:"} if command == "console" else {}))
        redactor = Redactor(settings.secrets())
        level = settings.log_level if command != "console" else "WARNING"
        worker = args.worker[0] if command == "serve" and args.worker else None
        setup_logging(level, redactor, stream=sys.stderr, fmt=settings.log_format, worker=worker)
        setup_sentry(settings.sentry_dsn.get_secret_value() if settings.sentry_dsn else None, redactor)
        if command == "serve" and args.workers > 1:
            return _supervise(settings, args.workers)
        if command in ("serve", "socket"):
            return eventloop.run(_run(command, args, settings))
        return asyncio.run(_run(command, args, settings))
    except SettingsError as exc:
        print(f"opsbot: configuration error: {exc}", file=sys.stderr)
        return EXIT_CONFIG
    except StoreUnavailable as exc:
        print(f"opsbot: the state store is unreachable: {Redactor()(str(exc))}", file=sys.stderr)
        return 1
    except SchemaTooNew as exc:
        print(f"opsbot: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130


async def _run(command: str, args: argparse.Namespace, settings: Settings) -> int:
    if command == "serve":
        _require(settings, "slack_bot_token", "slack_signing_secret")
        return await _serve(settings, worker=args.worker)
    if command == "socket":
        _require(settings, "slack_bot_token", "slack_app_token")
        return await _socket(settings)
    if command == "console":
        from bot.devtools.console import run_console

        return await run_console(settings, db=args.db, fresh=args.fresh)
    if command == "postmortem":
        return await _postmortem(settings, args.incident)
    from bot.store import open_store

    store = open_store(settings.database_url.get_secret_value())
    try:
        if command == "migrate":
            return await _migrate(store)
        await store.open()
        if command == "outbox":
            return await _outbox(store, args)
        if command == "export":
            return await _export(store, args.since)
        return await _backup(store, args.file)
    finally:
        await store.close()


async def _migrate(store: Store) -> int:
    from bot.store.schema import LATEST, schema_state

    applied = await store.migrate()
    newer = (await store.run(schema_state)).unknown
    if newer:
        # An older release may serve on a compatible newer schema, but never migrates it.
        print(
            f"opsbot: the state store has migration(s) {', '.join(map(str, newer))}, newer than this "
            f"opsbot knows (up to {LATEST}); migrate with the newest release",
            file=sys.stderr,
        )
        return 1
    state = await store.ping()
    print(f"opsbot: applied migrations {applied}; {state}" if applied else f"opsbot: up to date; {state}")
    return 0


async def _outbox(store: Store, args: argparse.Namespace) -> int:
    import time

    from bot.store import admin

    if args.action == "list":
        rows = await admin.list_outbox(store, state=args.state, limit=args.limit)
        print(admin.HEADER)
        for row in rows:
            print(row.line())
        return 0
    if not args.ids and not args.all:
        print(f"opsbot: outbox {args.action}: name item IDs (`opsbot outbox list`) or --all", file=sys.stderr)
        return EXIT_CONFIG
    if args.action == "retry":
        count = await admin.retry_failed(store, ids=args.ids, now=time.time())
        print(f"opsbot: {count} failed item(s) back to pending; a running opsbot delivers them")
    else:
        count = await admin.purge_failed(store, ids=args.ids)
        print(f"opsbot: {count} failed item(s) deleted")
    return 0


async def _export(store: Store, since: float | None) -> int:
    from bot.store import admin

    async for line in admin.export_incidents(store, since=since):
        sys.stdout.write(line + "\n")
    return 0


async def _backup(store: Store, file: str) -> int:
    from pathlib import Path

    from bot.store import admin
    from bot.store.sqlite import SqliteStore

    if not isinstance(store, SqliteStore) or store.path == ":memory:":
        print("opsbot: backup copies a SQLite file; for PostgreSQL use pg_dump", file=sys.stderr)
        return EXIT_CONFIG
    try:
        pages = await asyncio.to_thread(admin.backup_sqlite, store.path, Path(file))
    except FileExistsError as exc:
        print(f"opsbot: {exc}", file=sys.stderr)
        return EXIT_CONFIG
    print(f"opsbot: backed up {store.path} to {file} ({pages} pages)")
    return 0


async def _until_signalled() -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    log.info("opsbot: stopping: no new requests; finishing those in flight and the current delivery round")


def _supervise(settings: Settings, count: int) -> int:
    """``serve --workers N``: migrate once, then run N workers on PORT until SIGTERM."""
    from bot.server.app import REQUEST_GRACE_S
    from bot.server.workers import Supervisor
    from bot.store import open_store

    _require(settings, "slack_bot_token", "slack_signing_secret")
    store = open_store(settings.database_url.get_secret_value())
    if getattr(store, "path", None) == ":memory:":
        raise SettingsError("DATABASE_URL: --workers needs a store the workers share (a file or PostgreSQL)")

    async def migrate() -> None:
        try:
            await store.migrate()
        finally:
            await store.close()

    asyncio.run(migrate())  # once, so the workers start on a current schema instead of racing to it
    # Each worker may take its own grace for the delivery round and REQUEST_GRACE_S for requests in flight.
    return Supervisor(count=count, stop_within=settings.shutdown_grace_s + REQUEST_GRACE_S + 5).run()


async def _serve(settings: Settings, *, worker: tuple[int, int] | None = None) -> int:
    from bot.runtime import start_runtime
    from bot.server.lifecycle import instance_name, record_start

    name = instance_name("serve", worker=worker[0] if worker else None)
    runtime = await start_runtime(settings, instance=name)
    clean = False
    try:
        await record_start(runtime.store, now=runtime.deps.clock(), instance=runtime.stopping.instance)
        await runtime.health.auth.check(runtime.client)
        await runtime.serve_http(host=settings.host, port=settings.port, reuse_port=worker is not None)
        # What start-up built lives as long as the process: keep it out of the collector's way, so a
        # full collection does not stall an ack.
        gc.freeze()
        log.info(
            "opsbot ready: listening on http://%s:%d/slack/events%s",
            settings.host,
            settings.port,
            f" (worker {worker[0]} of {worker[1]})" if worker else "",
        )
        await _until_signalled()
        clean = True
    finally:
        await runtime.close(grace=settings.shutdown_grace_s if clean else 0.0, clean=clean)
    return 0


async def _socket(settings: Settings) -> int:
    from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler

    from bot.runtime import start_runtime
    from bot.server.lifecycle import instance_name, record_start

    assert settings.slack_app_token is not None
    # Socket Mode requests come over the app's own authenticated WebSocket, not signed HTTP.
    name = instance_name("socket")
    runtime = await start_runtime(settings, signing_secret=secrets.token_hex(16), instance=name)
    clean = False
    try:
        await record_start(runtime.store, now=runtime.deps.clock(), instance=runtime.stopping.instance)
        await runtime.health.auth.check(runtime.client)
        # Webhooks, health and metrics still arrive over HTTP, on PORT as in serve mode.
        await runtime.serve_http(host=settings.host, port=settings.port, slack=False)
        # The handler reaches Slack through the app's own client, so SLACK_API_URL applies here too.
        handler = AsyncSocketModeHandler(runtime.app, settings.slack_app_token.get_secret_value())
        runtime.stack.push_async_callback(handler.close_async)
        await handler.connect_async()
        log.info("opsbot ready: connected in Socket Mode; HTTP on port %d", settings.port)
        await _until_signalled()
        clean = True
    finally:
        await runtime.close(grace=settings.shutdown_grace_s if clean else 0.0, clean=clean)
    return 0


async def _postmortem(settings: Settings, ref: str) -> int:
    from bot.errors import UsageError
    from bot.incidents import postmortem
    from bot.incidents.grammar import parse_incident_ref
    from bot.runbook.routing import ScenarioRouter
    from bot.store import open_store, repo

    try:
        number = parse_incident_ref(ref, "opsbot postmortem INC-12")
    except UsageError as exc:
        print(f"opsbot: {exc.user_message()}", file=sys.stderr)
        return EXIT_CONFIG
    store = open_store(settings.database_url.get_secret_value())
    try:
        await store.migrate()
        async with store.transaction() as tx:
            inc = await repo.get_incident(tx, number)
            events = await repo.timeline(tx, number) if inc else []
    finally:
        await store.close()
    if inc is None:
        print(f"opsbot: there is no INC-{number}", file=sys.stderr)
        return 1
    title = ScenarioRouter().scenarios().get(inc.scenario or "")
    sys.stdout.write(postmortem.draft(inc, events, scenario_title=title))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
