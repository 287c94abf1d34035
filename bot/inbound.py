"""What a worker sent, in channel-neutral terms, and the commands the bot knows.

A typed line, a command or a tapped button becomes an `Inbound`: the kind, the text to
keep in the transcript, and the payload that says who answers it — Rasa (a payload that
starts with "/") or the bot itself (a local action name, see `Local`).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from enum import StrEnum

MAX_CALLBACK_BYTES = 64  # Telegram's limit on callback data
# A button payload as Rasa's actions build it: "/intent" plus optional JSON entities.
_PAYLOAD = re.compile(r"/[A-Za-z_][A-Za-z0-9_]*(?P<entities>\{.*\})?", re.DOTALL)
# The bot's own buttons (e.g. the delete confirmation) carry "bot:<action>".
LOCAL_BUTTON_PREFIX = "bot:"
# Nudge buttons (bot/nudges.py) carry "bot:nudge:<verb>[:<argument>]".
NUDGE_ACTION = re.compile(r"nudge:[a-z]+(?::[a-z0-9]+)?")


class Local(StrEnum):
    """Things the bot answers itself, without Rasa."""

    PRIVACY = "privacy"
    EXPORT = "export"
    DELETE_ASK = "delete_ask"
    DELETE_YES = "delete_yes"
    DELETE_NO = "delete_no"
    UNKNOWN_COMMAND = "unknown_command"
    STALE_BUTTON = "stale_button"
    ONLY_TEXT = "only_text"
    EDITED = "edited"
    # Supervision (bot/sharing.py, bot/dashboard/commands.py); buttons add ":<choice>".
    SHARE = "share"
    DASHBOARD = "dashboard"
    TEAM = "team"
    FEEDBACK = "feedback"
    FEEDBACK_REPLY = "feedback_reply"
    NUDGES = "nudge:settings"  # /nudges: the reflection reminder settings
    CRISIS = "crisis"  # the help line's button: the full crisis answer ("crisis:<kind>")


# The bot's own buttons that carry a choice after the action ("share:case:12").
TAPPABLE = {Local.SHARE, Local.DASHBOARD, Local.FEEDBACK, Local.CRISIS}


@dataclass(frozen=True)
class Command:
    description: str  # Dutch, shown in Telegram's command menu
    payload: str  # a Rasa intent payload, or a Local action


COMMANDS: dict[str, Command] = {
    "start": Command("Begin (opnieuw) een gesprek", "/greet"),
    "menu": Command("Laat zien waarmee ik kan helpen", "/ask_capabilities"),
    "help": Command("Uitleg: zo werkt Deuropener", "/ask_help"),
    "stop": Command("Stop met waar we mee bezig zijn", "/stop"),
    "privacy": Command("Wat ik bewaar en wie het ziet", Local.PRIVACY),
    "mijngegevens": Command("Al je gegevens als bestand", Local.EXPORT),
    "verwijder": Command("Wis al je gegevens (na bevestiging)", Local.DELETE_ASK),
    "verloop": Command("Grafiek: hoe je werkrelaties zich ontwikkelen", "/show_chart"),
    "delen": Command("Kies wat je begeleider van je gesprekken ziet", Local.SHARE),
    "team": Command("Voor begeleiders: overzicht van je team", Local.TEAM),
    "dashboard": Command("Voor begeleiders: inloglink voor het dashboard", Local.DASHBOARD),
    "nudges": Command("Herinneringen om te reflecteren instellen", Local.NUDGES),
}


class Kind(StrEnum):
    TEXT = "text"
    COMMAND = "command"
    BUTTON = "button"
    NOT_TEXT = "not_text"
    EDITED = "edited"


@dataclass(frozen=True)
class Inbound:
    kind: Kind
    text: str | None  # typed text (scrubbed before it is kept), a command, or a button title
    payload: str | None  # None: typed text for Rasa; "/intent...": for Rasa; else a Local action
    start_code: str | None = None  # the invite code of "/start CODE"

    @property
    def for_rasa(self) -> bool:
        return self.payload is None or self.payload.startswith("/")


def is_payload(data: str | None) -> bool:
    """True for callback data shaped like an intent payload: "/intent" or "/intent{json}"."""
    if not data or len(data.encode()) > MAX_CALLBACK_BYTES:
        return False
    match = _PAYLOAD.fullmatch(data)
    if match is None:
        return False
    if entities := match.group("entities"):
        try:
            return isinstance(json.loads(entities), dict)
        except ValueError:
            return False
    return True


def local_button(action: Local) -> str:
    return LOCAL_BUTTON_PREFIX + action.value


def typed(text: str | None) -> Inbound:
    """A typed message: a command ("/name[@bot] [args]") or text for the assistant."""
    stripped = (text or "").strip()
    if stripped.startswith("/"):
        head, _, args = stripped.partition(" ")
        name = head[1:].split("@", 1)[0].lower()
        command = COMMANDS.get(name)
        if command is None:
            return Inbound(Kind.COMMAND, f"/{name}", Local.UNKNOWN_COMMAND)
        code = args.strip() if name == "start" and args.strip() else None
        return Inbound(Kind.COMMAND, f"/{name}", command.payload, start_code=code)
    return Inbound(Kind.TEXT, text or "", None)


def tapped(data: str | None, title: str | None) -> Inbound:
    """A tapped button: a Rasa payload, one of the bot's own buttons, or something stale."""
    if data and data.startswith(LOCAL_BUTTON_PREFIX):
        action = data.removeprefix(LOCAL_BUTTON_PREFIX)
        if action in (Local.DELETE_YES, Local.DELETE_NO):
            return Inbound(Kind.BUTTON, title or action, action)
        if action.split(":", 1)[0] in TAPPABLE and len(action) <= MAX_CALLBACK_BYTES:
            return Inbound(Kind.BUTTON, title or action, action)
        if NUDGE_ACTION.fullmatch(action):
            return Inbound(Kind.BUTTON, title or action, action)
    if is_payload(data):
        return Inbound(Kind.BUTTON, title or data, data)
    return Inbound(Kind.BUTTON, title, Local.STALE_BUTTON)


NOT_TEXT = Inbound(Kind.NOT_TEXT, None, Local.ONLY_TEXT)
EDITED = Inbound(Kind.EDITED, None, Local.EDITED)
