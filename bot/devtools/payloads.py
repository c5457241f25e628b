"""Slack's inbound requests, shaped and signed exactly as Slack sends them.

The console builds what a person types into these; the tests and benchmarks send them over HTTP.
"""

from __future__ import annotations

import itertools
import json
import time
import uuid
from typing import Any
from urllib.parse import urlencode

from slack_sdk.signature import SignatureVerifier

from bot.devtools.slack_sim import BOT_USER, TEAM

APP_ID = "A0OPSBOT"
_event_ids = itertools.count(1)


def signed_headers(
    secret: str, body: str, *, timestamp: int | None = None, content_type: str
) -> dict[str, str]:
    ts = str(int(time.time()) if timestamp is None else timestamp)
    signature = SignatureVerifier(secret).generate_signature(timestamp=ts, body=body)
    return {
        "Content-Type": content_type,
        "X-Slack-Request-Timestamp": ts,
        "X-Slack-Signature": signature or "",
    }


def slash_command(
    command: str,
    text: str,
    *,
    user: str = "U0ONCALL",
    channel: str = "C0INCIDENT",
    response_url: str = "https://hooks.slack.com/commands/T0/1/x",
    trigger_id: str | None = None,
) -> str:
    """The form body of a slash command."""
    return urlencode(
        {
            "token": "legacy-verification-token",
            "team_id": TEAM,
            "team_domain": "opsbot-sim",
            "channel_id": channel,
            "channel_name": "engineering-incidents",
            "user_id": user,
            "user_name": user.lower(),
            "command": command,
            "text": text,
            "api_app_id": APP_ID,
            "is_enterprise_install": "false",
            "response_url": response_url,
            "trigger_id": trigger_id or f"{int(time.time())}.{uuid.uuid4().int % 10**12}.{uuid.uuid4().hex}",
        }
    )


def event_callback(event: dict[str, Any], *, event_id: str | None = None) -> str:
    """The JSON body of an Events API delivery."""
    return json.dumps(
        {
            "token": "legacy-verification-token",
            "team_id": TEAM,
            "api_app_id": APP_ID,
            "event": event,
            "type": "event_callback",
            "event_id": event_id or f"Ev{next(_event_ids):08d}{uuid.uuid4().hex[:6].upper()}",
            "event_time": int(time.time()),
            "authorizations": [
                {
                    "enterprise_id": None,
                    "team_id": TEAM,
                    "user_id": BOT_USER,
                    "is_bot": True,
                    "is_enterprise_install": False,
                }
            ],
            "authed_users": [BOT_USER],  # deprecated by Slack, still in its published wrapper schema
            "is_ext_shared_channel": False,
            "event_context": f"4-{uuid.uuid4().hex}",
        }
    )


def message_event(
    *, channel: str, user: str, text: str, ts: str, thread_ts: str | None = None
) -> dict[str, Any]:
    event = {
        "type": "message",
        "channel": channel,
        "user": user,
        "text": text,
        "ts": ts,
        "event_ts": ts,
        "channel_type": "channel",
        "team": TEAM,
    }
    if thread_ts:
        event["thread_ts"] = thread_ts
    return event


def app_mention_event(
    *, channel: str, user: str, text: str, ts: str, thread_ts: str | None = None
) -> dict[str, Any]:
    event = message_event(channel=channel, user=user, text=text, ts=ts, thread_ts=thread_ts)
    event["type"] = "app_mention"
    event.pop("channel_type")
    return event


def message_changed_event(*, channel: str, ts: str, thread_ts: str, user: str, text: str) -> dict[str, Any]:
    now = f"{time.time():.6f}"
    return {
        "type": "message",
        "subtype": "message_changed",
        "hidden": True,
        "channel": channel,
        "ts": now,
        "event_ts": now,
        "channel_type": "channel",
        "message": {
            "type": "message",
            "user": user,
            "text": text,
            "ts": ts,
            "thread_ts": thread_ts,
            "edited": {"user": user, "ts": now},
        },
        "previous_message": {"type": "message", "user": user, "text": "", "ts": ts, "thread_ts": thread_ts},
    }


def message_deleted_event(*, channel: str, ts: str, thread_ts: str, user: str) -> dict[str, Any]:
    now = f"{time.time():.6f}"
    return {
        "type": "message",
        "subtype": "message_deleted",
        "hidden": True,
        "channel": channel,
        "ts": now,
        "event_ts": now,
        "deleted_ts": ts,
        "channel_type": "channel",
        "previous_message": {"type": "message", "user": user, "text": "", "ts": ts, "thread_ts": thread_ts},
    }


def block_action(
    *,
    action: dict[str, Any],
    block_id: str,
    user: str,
    channel: str,
    message_ts: str,
    response_url: str = "https://hooks.slack.com/actions/T0/1/x",
    trigger_id: str | None = None,
) -> str:
    """The form body (``payload=...``) of a button press."""
    payload: dict[str, Any] = {
        "type": "block_actions",
        "user": {"id": user, "username": user.lower(), "name": user.lower(), "team_id": TEAM},
        "api_app_id": APP_ID,
        "token": "legacy-verification-token",
        "container": {
            "type": "message",
            "message_ts": message_ts,
            "channel_id": channel,
            "is_ephemeral": False,
        },
        "trigger_id": trigger_id or f"{int(time.time())}.{uuid.uuid4().int % 10**12}.{uuid.uuid4().hex}",
        "team": {"id": TEAM, "domain": "opsbot-sim"},
        "enterprise": None,
        "is_enterprise_install": False,
        "channel": {"id": channel, "name": "engineering-incidents"},
        "message": {"type": "message", "ts": message_ts, "user": BOT_USER, "text": ""},
        "state": {"values": {}},
        "response_url": response_url,
        "actions": [_action(action, block_id)],
    }
    return urlencode({"payload": json.dumps(payload)})


def _action(element: dict[str, Any], block_id: str) -> dict[str, Any]:
    """The ``actions[0]`` Slack sends for a pressed button, a chosen option or toggled checkboxes."""
    kind = element.get("type", "button")
    action: dict[str, Any] = {
        "action_id": element["action_id"],
        "block_id": block_id,
        "type": kind,
        "action_ts": f"{time.time():.6f}",
    }
    if kind == "button":
        action["text"] = element.get("text", {"type": "plain_text", "text": ""})
        action["value"] = element.get("value", "")
    elif kind == "static_select":
        action["selected_option"] = element["selected_option"]
        action["placeholder"] = element.get("placeholder")
    elif kind == "checkboxes":
        action["selected_options"] = element.get("selected_options", [])
    return action


def toggled(checkboxes: dict[str, Any], value: str) -> dict[str, Any]:
    """The checkboxes element after a person ticks or unticks the option ``value``."""
    selected = [o for o in checkboxes.get("initial_options", [])]
    if any(o["value"] == value for o in selected):
        selected = [o for o in selected if o["value"] != value]
    else:
        selected += [o for o in checkboxes.get("options", []) if o["value"] == value]
    return {**checkboxes, "selected_options": selected}
