"""``opsbot console``: the whole bot in a terminal, no Slack account needed.

Each line typed becomes a signed Slack request to the real Bolt app; what the bot posts, edits and
replies lands in an in-process Slack stand-in (``bot.devtools.slack_sim``) and is printed readably here.
"""

from __future__ import annotations

import asyncio
import json
import re
import secrets
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

from slack_bolt.request.async_request import AsyncBoltRequest

from bot.devtools import payloads
from bot.devtools.slack_sim import BOT_USER, SlackSim
from bot.runtime import Runtime, start_runtime
from bot.settings import Settings
from bot.slack import ids
from bot.store import repo

HELP = """\
Type what you would type in Slack:
  /incident open P1 checkout broken     any /incident or /ops command
  press 2                                press button [2] of the last card shown
  reply INC-1 rolled back to v41         a message in INC-1's thread
  reply INC-1 @opsbot identified Stripe  mention the bot in the thread (a command)
  as dana                                act as another person (default: you)
  @name                                  mentions a person anywhere, e.g. /incident commander INC-1 @dana
  help                                   this text;  quit (or Ctrl-D) leaves
Button numbers stay the same while their message is on screen (an edited card keeps them)."""

# A person's stand-in user ID: @dana is U0DANA (the console user is U0CONSOLE, shown as @you).
YOU = "U0CONSOLE"
_MENTION = re.compile(r"(?<![<\w])@([A-Za-z][\w.-]{0,20})\b")


@dataclass
class Button:
    channel: str
    message_ts: str
    block_id: str
    element: dict[str, Any]


class Console:
    def __init__(self, runtime: Runtime, sim: SlackSim, secret: str, out: TextIO) -> None:
        self.runtime = runtime
        self.sim = sim
        self.secret = secret
        self.out = out
        self.user = YOU
        self.buttons: dict[int, Button] = {}
        self._numbers: dict[tuple[str, ...], int] = {}  # a button's identity -> its number
        self._seen = 0

    # --- input -----------------------------------------------------------------------------

    async def handle(self, line: str) -> bool:
        """Carry out one line; False when the user wants to leave."""
        line = line.strip()
        if not line:
            return True
        word = line.split()[0].lower()
        if word in ("quit", "exit"):
            return False
        if word == "help":
            self.say(HELP)
        elif line.startswith("/"):
            command, _, text = line.partition(" ")
            text = self.mentions(text)
            body = payloads.slash_command(
                command, text, user=self.user, channel="C0INCIDENT", response_url=self.sim.response_url()
            )
            await self.send(body, "application/x-www-form-urlencoded")
        elif word == "press":
            await self.press(line.split()[1:] if len(line.split()) > 1 else [])
        elif word in ("reply", "say"):
            await self.reply(line.split(None, 2)[1:])
        elif word == "as":
            name = line.split()[1].lstrip("@") if len(line.split()) > 1 else "you"
            self.user = user_id(name)
            self.say(f"(you are now {self.name(self.user)})")
        else:
            self.say("(not understood; type `help`)")
        await self.runtime.deps.settle(within=30)
        self.show_new()
        return True

    async def send(self, body: str, content_type: str) -> None:
        headers = payloads.signed_headers(self.secret, body, content_type=content_type)
        request = AsyncBoltRequest(body=body, headers={k.lower(): [v] for k, v in headers.items()})
        response = await self.runtime.app.async_dispatch(request)
        if response.status != 200:
            self.say(f"(Slack would show: HTTP {response.status} {response.body})")
        elif response.body:
            try:
                data = json.loads(response.body)
            except ValueError:
                data = {"text": response.body}
            self.show_private(data)

    def mentions(self, text: str) -> str:
        """``@dana`` as Slack sends it once it has resolved the name: ``<@U0DANA>``."""
        return _MENTION.sub(lambda m: f"<@{user_id(m.group(1))}>", text)

    async def press(self, args: list[str]) -> None:
        if not args or not args[0].isdigit() or int(args[0]) not in self.buttons:
            shown = ", ".join(map(str, sorted(self.buttons)))
            self.say(f"(press a button by its number: {shown})" if self.buttons else "(no buttons)")
            return
        button = self.buttons[int(args[0])]
        body = payloads.block_action(
            action=button.element,
            block_id=button.block_id,
            user=self.user,
            channel=button.channel,
            message_ts=button.message_ts,
            response_url=self.sim.response_url(),
        )
        await self.send(body, "application/x-www-form-urlencoded")

    async def reply(self, args: list[str]) -> None:
        if len(args) < 2 or not args[0].upper().lstrip("INC-#").isdigit():
            self.say("(usage: reply INC-1 your message)")
            return
        number = int(args[0].upper().lstrip("INC-#"))
        async with self.runtime.store.transaction() as tx:
            card = await repo.get_ref(tx, ids.card_ref(number))
        if card is None:
            self.say(f"(INC-{number} has no card in Slack yet)")
            return
        channel, thread_ts = card
        text = self.mentions(args[1])
        msg = self.sim.post_human(channel, self.user, text, thread_ts)
        event = payloads.message_event(
            channel=channel, user=self.user, text=text, ts=msg["ts"], thread_ts=thread_ts
        )
        await self.send(payloads.event_callback(event), "application/json")
        if f"<@{BOT_USER}>" in text:
            mention = payloads.app_mention_event(
                channel=channel, user=self.user, text=text, ts=msg["ts"], thread_ts=thread_ts
            )
            await self.send(payloads.event_callback(mention), "application/json")

    # --- output ----------------------------------------------------------------------------

    def say(self, text: str) -> None:
        print(text, file=self.out, flush=True)

    def name(self, user: str) -> str:
        if user == YOU:
            return "@you"
        if user == BOT_USER:
            return "@opsbot"
        return "@" + user.removeprefix("U0").lower()

    def number(self, button: Button, *identity: str) -> int:
        """The button's number: the same for as long as its message is shown, even when edited."""
        key = (button.channel, button.message_ts, button.block_id, *identity)
        number = self._numbers.setdefault(key, len(self._numbers) + 1)
        self.buttons[number] = button
        return number

    def plain(self, text: str) -> str:
        """Slack mrkdwn to terminal text."""
        text = re.sub(r"<!date\^\d+\^[^|>]*\|([^>]*)>", r"\1", text)
        text = re.sub(r"<@([UW][A-Z0-9]+)(?:\|[^>]*)?>", lambda m: self.name(m.group(1)), text)
        text = re.sub(r"<#(C[A-Z0-9]+)(?:\|([^>]*))?>", lambda m: "#" + self._channel_name(m.group(1)), text)
        text = re.sub(r"<!subteam\^([A-Z0-9]+)(?:\|[^>]*)?>", r"@oncall", text)
        text = re.sub(r"<(https?://[^|>]+)\|([^>]+)>", r"\2 (\1)", text)
        text = re.sub(r"<(https?://[^>]+)>", r"\1", text)
        return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")

    def _channel_name(self, channel_id: str) -> str:
        channel = self.sim.channels.get(channel_id)
        return channel.name if channel else channel_id

    def render_blocks(self, blocks: list[dict[str, Any]], *, channel: str, ts: str) -> list[str]:
        lines: list[str] = []
        for block in blocks:
            kind = block.get("type")
            if kind in ("section", "header", "context"):
                texts = []
                if block.get("text"):
                    texts.append(block["text"]["text"])
                texts += [f["text"] for f in block.get("fields", [])]
                texts += [e.get("text", "") for e in block.get("elements", []) if isinstance(e, dict)]
                lines.append("   ".join(texts) if block.get("fields") else "\n".join(texts))
                accessory = block.get("accessory")
                if accessory and accessory.get("type") == "checkboxes":
                    lines.extend(self._checkboxes(accessory, block, channel=channel, ts=ts))
                elif accessory and accessory.get("type") == "static_select":
                    lines.append(self._select(accessory, block, channel=channel, ts=ts))
            elif kind == "divider":
                lines.append("─" * 40)
            elif kind == "actions":
                labels = []
                for element in block.get("elements", []):
                    if element.get("type") == "button":
                        button = Button(channel, ts, block.get("block_id", ""), element)
                        number = self.number(button, str(element.get("action_id")))
                        labels.append(f"[{number}] {element['text']['text']}")
                    elif element.get("type") == "static_select":
                        labels.append(self._select(element, block, channel=channel, ts=ts))
                lines.append("  ".join(labels))
        return [self.plain(line) for line in lines]

    def _select(self, element: dict[str, Any], block: dict[str, Any], *, channel: str, ts: str) -> str:
        labels = []
        for option in element.get("options", []):
            chosen = {**element, "selected_option": option}
            button = Button(channel, ts, block.get("block_id", ""), chosen)
            number = self.number(button, str(element.get("action_id")), str(option.get("value")))
            labels.append(f"[{number}] {option['text']['text']}")
        return "  ".join(labels)

    def _checkboxes(
        self, accessory: dict[str, Any], block: dict[str, Any], *, channel: str, ts: str
    ) -> list[str]:
        checked = {o["value"] for o in accessory.get("initial_options", [])}
        lines = []
        for option in accessory.get("options", []):
            mark = "x" if option["value"] in checked else " "
            element = payloads.toggled(accessory, option["value"])
            button = Button(channel, ts, block.get("block_id", ""), element)
            number = self.number(button, str(accessory.get("action_id")), str(option["value"]))
            lines.append(f"  [{mark}] {option['text']['text']}   (press {number} to toggle)")
        return lines

    def show_private(self, data: dict[str, Any]) -> None:
        """A command's answer: private (taking the ack's place, if it says so), or in the channel when it
        was asked for ``public``."""
        lines = self.render_blocks(data.get("blocks") or [], channel="C0INCIDENT", ts="")
        text = "\n".join(lines) if lines else self.plain(str(data.get("text", "")))
        if data.get("response_type") == "in_channel":
            self.say(_indent(text, f"#{self._channel_name('C0INCIDENT')} opsbot (for everyone): ", "    "))
        elif str(data.get("replace_original")).lower() == "true":  # Slack shows this one, not both
            self.say(_indent(text, "(only you, in place of your command's first answer) "))
        else:
            self.say(_indent(text, "(only you) "))

    def show_new(self) -> None:
        new = self.sim.calls[self._seen :]
        self._seen = len(self.sim.calls)
        for call in new:
            if call.status != 200:
                continue
            p = call.params
            if call.method in ("chat.postMessage", "chat.update"):
                channel = self._channel_name(str(p.get("channel", "")))
                ts = str(p.get("ts") or call.response.get("ts", ""))
                body = (
                    self.render_blocks(call.blocks, channel=str(p.get("channel")), ts=ts)
                    if call.blocks
                    else [self.plain(str(p.get("text", "")))]
                )
                text = "\n".join(body)
                if call.method == "chat.update":
                    self.say(_indent(text, f"#{channel} ✎ opsbot (edited): ", "    "))
                elif p.get("thread_ts"):
                    also = (
                        " (also sent to the channel)"
                        if str(p.get("reply_broadcast")).lower() == "true"
                        else ""
                    )
                    self.say(_indent(text, f"    ↳ opsbot{also}: ", "      "))
                else:
                    self.say(_indent(text, f"#{channel} opsbot: ", "    "))
            elif call.method == "chat.postEphemeral":
                self.say(_indent(self.plain(str(p.get("text", ""))), "(only you) "))
            elif call.method == "response_url":
                self.show_private(p)


def user_id(name: str) -> str:
    """The stand-in Slack user ID for a name typed in the console."""
    name = name.lower()
    if name in ("you", "me"):
        return YOU
    if name == "opsbot":
        return BOT_USER
    return "U0" + re.sub(r"\W", "", name).upper()[:9]


def _indent(text: str, first: str, rest: str | None = None) -> str:
    rest = rest if rest is not None else " " * len(first)
    lines = text.splitlines() or [""]
    return "\n".join([first + lines[0], *(rest + line for line in lines[1:])])


DEFAULT_DB = "opsbot-console.db"


def console_store_url(db: str, *, fresh: bool) -> str:
    """The console's own SQLite file (never the configured store); ``fresh`` deletes it first."""
    path = Path(db)
    if fresh:
        for suffix in ("", "-wal", "-shm"):
            path.with_name(path.name + suffix).unlink(missing_ok=True)
    return f"sqlite:///{path.resolve()}"


async def run_console(
    settings: Settings,
    *,
    db: str = DEFAULT_DB,
    fresh: bool = False,
    stdin: TextIO = sys.stdin,
    out: TextIO = sys.stdout,
) -> int:
    """Start the bot against the local Slack stand-in and read lines until EOF or quit.

    The console always works on its own SQLite file, whatever DATABASE_URL says: it must never list,
    create or deliver production incidents."""
    sim = await SlackSim().start()
    secret = secrets.token_hex(16)
    settings = settings.model_copy(
        update={
            "database_url": _secret(console_store_url(db, fresh=fresh)),
            "slack_api_url": sim.api_url,
            "slack_bot_token": _secret("xoxb-console-fake-token-for-the-local-stand-in"),
            "slack_signing_secret": _secret(secret),
        }
    )
    runtime = await start_runtime(settings, outbox_options={"poll_interval": 0.2, "backoff_base": 0.2})
    console = Console(runtime, sim, secret, out)
    interactive = stdin.isatty()
    try:
        if interactive:
            console.say("opsbot console: a local Slack with #engineering-incidents. Type `help`.")
        await _mention_earlier_run(console, db)
        loop = asyncio.get_running_loop()
        while True:
            if interactive:
                print(f"{console.name(console.user)}> ", end="", file=out, flush=True)
            line = await loop.run_in_executor(None, stdin.readline)
            if not line:
                break
            if not interactive and line.strip():
                console.say(f"> {line.rstrip()}")
            if not await console.handle(line):
                break
    finally:
        await runtime.close()
        await sim.stop()
    return 0


async def _mention_earlier_run(console: Console, db: str) -> None:
    async with console.runtime.store.transaction() as tx:
        kept = await repo.list_incidents(tx, include_resolved=True, limit=1)
    if kept:
        console.say(
            f"(incidents from an earlier run are kept in {db}, but this stand-in Slack starts empty, "
            "so their cards cannot be edited; `opsbot console --fresh` starts over)"
        )


def _secret(value: str) -> Any:
    from pydantic import SecretStr

    return SecretStr(value)
