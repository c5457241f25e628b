"""Logging and Sentry set-up that keeps secrets out of both."""

from __future__ import annotations

import json
import logging
import re
import secrets
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any, Literal

ROOT = "opsbot"  # every logger of opsbot's own is opsbot.<area>

REDACTED = "[redacted]"

# Shapes of secrets even when they are not ours (Slack, Stripe, GitHub, Sentry, AWS, JWTs, passwords in
# URLs and command lines). Each matches the secret itself, so the words around it stay readable.
_PATTERNS = [
    re.compile(r"\bxox[abposer]-[0-9A-Za-z-]{6,}"),
    re.compile(r"\bxapp-[0-9A-Za-z-]{6,}"),
    re.compile(r"\b(?:sk|rk|pk)_(?:live|test)_[0-9A-Za-z]{6,}"),
    re.compile(r"\bwhsec_[0-9A-Za-z]{6,}"),
    re.compile(r"\bgithub_pat_[0-9A-Za-z_]{20,}"),
    re.compile(r"\bgh[pousr]_[0-9A-Za-z]{10,}"),
    re.compile(r"\bsntry[su]_[0-9A-Za-z_=+/.-]{10,}"),
    re.compile(r"\b(?:AKIA|ASIA|AIDA|AROA)[0-9A-Z]{16}\b"),
    # an AWS secret access key written next to its name (aws_secret_access_key=..., "SecretAccessKey": ...)
    re.compile(r"(?i)secret_?(?:access_?)?key[\"']?\s*[:=]\s*[\"']?(?P<s>[0-9A-Za-z/+=]{30,})"),
    re.compile(r"\beyJ[0-9A-Za-z_-]{5,}\.eyJ[0-9A-Za-z_-]{5,}\.[0-9A-Za-z_-]*"),  # a JWT
    # [user]:password@ in any URL; the password may hold '/', ':' and '@': it ends at the first '@'
    # followed by a host with no further '@' (redis://:pw@host has no user at all)
    re.compile(r"(?<=://)[^/\s:@]*:\S+?(?=@[^\s@/?#]*(?:[/?#\s]|$))"),
    re.compile(r"(?<=://)[0-9a-f]{16,}(?=@)"),  # a Sentry DSN's key
    re.compile(r"(?:^|\s)(?:-u|--user)(?:\s+|=)[\"']?(?P<s>[^\s:\"']+:[^\s\"']+)"),  # curl -u user:password
    re.compile(r"(?i)(?<=password=)[^&\s]+"),
    re.compile(r"(?i)(?<=Bearer )[0-9A-Za-z._~+/=-]{8,}"),
    re.compile(r"(?i)(?<=Basic )[0-9A-Za-z+/]{8,}={0,2}"),  # HTTP basic auth: base64 of user:password
]


def _replace(match: re.Match[str]) -> str:
    """The match with its secret replaced: the group named ``s`` when there is one, else all of it."""
    if "s" not in match.re.groupindex:
        return REDACTED
    start, end = match.span("s")
    whole = match.group(0)
    return whole[: start - match.start()] + REDACTED + whole[end - match.start() :]


class Redactor:
    """Replaces known secret values and secret-shaped strings."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        self.secrets = sorted({s for s in secrets if s and len(s) >= 4}, key=len, reverse=True)

    def __call__(self, text: str) -> str:
        for secret in self.secrets:
            if secret in text:
                text = text.replace(secret, REDACTED)
        for pattern in _PATTERNS:
            text = pattern.sub(_replace, text)
        return text

    def scrub(self, value: Any) -> Any:
        """A deep copy of ``value`` with every string redacted."""
        if isinstance(value, str):
            return self(value)
        if isinstance(value, dict):
            return {k: self.scrub(v) for k, v in value.items()}
        if isinstance(value, list | tuple):
            return [self.scrub(v) for v in value]
        return value


class RedactingFilter(logging.Filter):
    def __init__(self, redactor: Redactor) -> None:
        super().__init__()
        self.redactor = redactor

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = self.redactor(message)
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = self.redactor(record.exc_text)
        if cleaned != message or record.args:
            record.msg, record.args = cleaned, None
        return True


def iso(epoch: float) -> str:
    """An epoch as an ISO 8601 UTC time with milliseconds, for log lines and exports."""
    return datetime.fromtimestamp(epoch, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


class TextFormatter(logging.Formatter):
    """``2026-11-27T09:26:01.123Z INFO opsbot.outbox: message`` (UTC, ISO 8601)."""

    def formatTime(self, record: logging.LogRecord, datefmt: str | None = None) -> str:
        return iso(record.created)


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message (and the traceback as ``exc``; the worker
    number under ``serve --workers``)."""

    def __init__(self, *, worker: int | None = None) -> None:
        super().__init__()
        self.worker = worker

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "time": iso(record.created),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        if self.worker is not None:
            line["worker"] = self.worker
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        if record.exc_text:
            line["exc"] = record.exc_text
        # json.dumps escapes newlines, so a traceback never splits the line a log shipper reads.
        return json.dumps(line, ensure_ascii=False)


class DropClientTokenWarning(logging.Filter):
    """Bolt reads SLACK_BOT_TOKEN from the environment by itself even when it is given a ready
    client, then warns that the token it found is unused. opsbot's client carries that very token,
    so the warning is noise on every start; only that one message is dropped."""

    def filter(self, record: logging.LogRecord) -> bool:
        from slack_bolt.logger.messages import warning_client_prioritized_and_token_skipped

        return record.getMessage() != warning_client_prioritized_and_token_skipped()


DROP_CLIENT_TOKEN_WARNING = DropClientTokenWarning()


def setup_logging(
    level: str,
    redactor: Redactor,
    *,
    stream: Any = None,
    fmt: Literal["text", "json"] = "text",
    worker: int | None = None,
) -> None:
    """One handler on the root logger: secrets redacted, ISO times, text or JSON lines; ``worker``
    (``serve --workers``) marks every line with the worker that wrote it."""
    handler = logging.StreamHandler(stream)
    tag = f"[worker {worker}] " if worker is not None else ""
    formatter = (
        JsonFormatter(worker=worker)
        if fmt == "json"
        else TextFormatter(f"%(asctime)s %(levelname)s {tag}%(name)s: %(message)s")
    )
    handler.setFormatter(formatter)
    handler.addFilter(RedactingFilter(redactor))
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level)
    # Python's warnings go through logging too, so a JSON log stays JSON on every line.
    logging.captureWarnings(True)
    for noisy in ("slack_bolt", "slack_sdk", "httpx", "aiohttp.access"):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, logging.getLevelName(level)))
    # The pool logs every failed reconnect; opsbot says it once, as "the state store is unreachable".
    logging.getLogger("psycopg.pool").setLevel(logging.ERROR)


def before_send_for(redactor: Redactor) -> Any:
    def before_send(event: dict[str, Any], hint: dict[str, Any]) -> dict[str, Any]:
        scrubbed: dict[str, Any] = redactor.scrub(event)
        return scrubbed

    return before_send


def setup_sentry(dsn: str | None, redactor: Redactor, *, transport: Any = None) -> bool:
    """Report opsbot's own errors to Sentry, with every secret scrubbed. False when no DSN is set."""
    if not dsn:
        return False
    import sentry_sdk
    from sentry_sdk.scrubber import DEFAULT_DENYLIST, EventScrubber

    denylist = [
        *DEFAULT_DENYLIST,
        "slack_bot_token",
        "slack_signing_secret",
        "slack_app_token",
        "database_url",
        "ops_database_url",
        "stripe_api_key",
        "sentry_auth_token",
        "github_token",
        "signing_secret",
        "response_url",
    ]
    options: dict[str, Any] = {
        "dsn": dsn,
        "event_scrubber": EventScrubber(denylist=denylist, recursive=True),
        "before_send": before_send_for(redactor),
        "before_breadcrumb": lambda crumb, hint: redactor.scrub(crumb),
        "traces_sample_rate": 0.0,
    }
    if transport is not None:
        options["transport"] = transport
    sentry_sdk.init(**options)
    return True


log = logging.getLogger("opsbot")


def error_reference() -> str:
    """A short random reference a user can quote, to find the error in the logs and in Sentry."""
    return secrets.token_hex(3)


def report_unexpected(exc: BaseException) -> str:
    """Log and send to Sentry an error nobody expected; returns the reference the user can quote."""
    ref = error_reference()
    try:  # Sentry first, with the reference; the log line below is then deduplicated by sentry-sdk
        import sentry_sdk

        with sentry_sdk.new_scope() as scope:
            scope.set_tag("opsbot_ref", ref)
            sentry_sdk.capture_exception(exc)
    except Exception:  # reporting must never make things worse
        log.debug("sentry capture failed", exc_info=True)
    log.error("unexpected error (ref %s)", ref, exc_info=exc)
    return ref
