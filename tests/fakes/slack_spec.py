"""Holds every Web API call against Slack's published OpenAPI description (../shared/reference/slack)."""

from __future__ import annotations

import functools
import json
from pathlib import Path
from typing import Any

REFERENCE = Path(__file__).resolve().parents[3] / "shared" / "reference"
SLACK = REFERENCE / "slack"

# Parameters Slack added after the published spec was last changed (its README lists the gaps), and
# team_id, which the per-request clients Bolt builds attach to every call (for org-wide installs).
NEWER_PARAMS = {"metadata", "markdown_text", "include_all_metadata", "team_id"}


def reference_dir() -> Path:
    for candidate in (REFERENCE, Path.cwd().parent / "shared" / "reference"):
        if candidate.is_dir():
            return candidate
    raise FileNotFoundError("../shared/reference is missing; the tests check against it")


@functools.lru_cache(maxsize=1)
def spec() -> dict[str, Any]:
    data: dict[str, Any] = json.loads((reference_dir() / "slack" / "slack_web_openapi_v2.json").read_text())
    return data


# Methods newer than the published spec: (required, optional) parameters, from Slack's reference pages.
# Socket Mode (2021) takes only the app-level token. The external file upload (2024) replaced
# files.upload: https://docs.slack.dev/reference/methods/files.getUploadURLExternal and
# https://docs.slack.dev/reference/methods/files.completeUploadExternal
NEWER_METHODS: dict[str, tuple[set[str], set[str]]] = {
    "apps.connections.open": ({"token"}, set()),
    "files.getUploadURLExternal": ({"token", "filename", "length"}, {"alt_txt", "snippet_type"}),
    "files.completeUploadExternal": (
        {"token", "files"},
        {"channel_id", "channels", "thread_ts", "initial_comment", "blocks"},
    ),
}


def check_call(method: str, verb: str, params: dict[str, Any]) -> list[str]:
    """Problems with one call: unknown method, wrong HTTP verb, missing required or unknown parameters."""
    if method in NEWER_METHODS:
        required, optional = NEWER_METHODS[method]
        missing = [
            f"{method}: required parameter {name!r} missing" for name in sorted(required - set(params))
        ]
        unknown = set(params) - required - optional - {"team_id"}
        return missing + [f"{method}: parameter {name!r} is not expected" for name in sorted(unknown)]
    path = spec()["paths"].get("/" + method)
    if path is None:
        return [f"{method}: not a Slack Web API method"]
    ops = {v.upper(): op for v, op in path.items()}
    problems = []
    op = ops.get(verb.upper())
    if op is None:
        # slack_sdk may POST a GET method (Slack accepts both); the parameters must still be right.
        op = next(iter(ops.values()))
    declared = {p["name"]: p for p in op.get("parameters", [])}
    for name, param in declared.items():
        if param.get("required") and name not in params:
            problems.append(f"{method}: required parameter {name!r} missing")
    for name in params:
        if name not in declared and name not in NEWER_PARAMS:
            problems.append(f"{method}: parameter {name!r} is not in the spec")
    return problems


@functools.lru_cache(maxsize=1)
def event_wrapper_required() -> list[str]:
    schema = json.loads((reference_dir() / "slack" / "slack_common_event_wrapper_schema.json").read_text())
    return list(schema["required"])
