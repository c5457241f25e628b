"""``opsbot manifest``: the Slack app manifest for a given public URL, or for Socket Mode."""

from __future__ import annotations

from importlib import resources
from typing import Any
from urllib.parse import urlsplit

import yaml

from bot.slack.web import EVENTS_PATH

_PLACEHOLDER = "https://opsbot.example.com"


def load_manifest() -> dict[str, Any]:
    """The manifest template: package data (in the repository, a link to the top-level manifest.yml)."""
    text = resources.files("bot.slack").joinpath("manifest.yml").read_text(encoding="utf-8")
    data: dict[str, Any] = yaml.safe_load(text)
    return data


def check_url(url: str) -> str:
    """``url`` when it can be Slack's request URL (https, with a host); ValueError saying why otherwise."""
    parts = urlsplit(url)
    if parts.scheme != "https" or not parts.hostname:
        raise ValueError(
            f"the URL must start with https:// and name a host (Slack only calls HTTPS), got {url!r}"
        )
    return url


def build_manifest(*, url: str | None = None, socket: bool = False) -> dict[str, Any]:
    manifest = load_manifest()
    if url is not None:
        check_url(url)
    base = (url or _PLACEHOLDER).rstrip("/")
    features = manifest["features"]
    settings = manifest["settings"]
    for command in features["slash_commands"]:
        if socket:
            command.pop("url", None)
        else:
            command["url"] = base + EVENTS_PATH
    if socket:
        settings["socket_mode_enabled"] = True
        settings["event_subscriptions"].pop("request_url", None)
        settings["interactivity"].pop("request_url", None)
    else:
        settings["socket_mode_enabled"] = False
        settings["event_subscriptions"]["request_url"] = base + EVENTS_PATH
        settings["interactivity"]["request_url"] = base + EVENTS_PATH
    return manifest


def render_manifest(manifest: dict[str, Any]) -> str:
    return yaml.safe_dump(manifest, sort_keys=False, allow_unicode=True)
