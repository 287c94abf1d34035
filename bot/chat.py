"""`make chat`: talk to the running assistant in the terminal, along the Telegram path.

The same `Conversation` as Telegram: access check, scrubbing, transcript, Rasa, pending
messages. No invite is needed: the local user (your login name) is registered automatically
as a worker of team "lokaal" — this is the developer's own machine.

Buttons are shown numbered; type the number to tap one. Ctrl-D or "exit" ends the chat.
"""

from __future__ import annotations

import asyncio
import getpass
import json
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bot import inbound
from bot.access import LOCAL_CHANNEL
from bot.conversation import Conversation, open_conversation
from bot.inbound import Inbound
from bot.models import User
from bot.replies import Button, Reply
from bot.settings import Settings


def render(replies: list[Reply]) -> tuple[str, list[Button]]:
    """Text to print for the replies, and the buttons that numbers now select."""
    lines: list[str] = []
    buttons: list[Button] = []
    for reply in replies:
        if reply.text:
            lines.append(reply.text)
        if reply.image:
            lines.append(f"[afbeelding: {reply.image}]")
        for button in reply.buttons:  # numbered on through the answer, as shown
            buttons.append(button)
            lines.append(f"  [{len(buttons)}] {button.title}")
    return "\n".join(lines), buttons


def resolve(typed: str, buttons: list[Button]) -> Inbound:
    """A typed button number taps that button; anything else is a typed message."""
    if typed.strip().isdigit() and 1 <= int(typed) <= len(buttons):
        button = buttons[int(typed) - 1]
        return inbound.tapped(button.payload, button.title)
    return inbound.typed(typed)


class TerminalOutlet:
    """Collects answers to print them after each message; exports go to a file in data/."""

    def __init__(self, data_dir: Path) -> None:
        self.replies: list[Reply] = []
        self._data_dir = data_dir

    async def send(self, user: User, reply: Reply) -> None:
        if reply.photo is not None:  # a chart: saved as a file, its path printed
            path = self._data_dir / f"verloop-{datetime.now(UTC):%Y%m%d-%H%M%S-%f}.png"
            path.write_bytes(reply.photo)
            reply = Reply(reply.text, reply.buttons, image=str(path))
        self.replies.append(reply)

    async def send_export(self, user: User, data: dict[str, Any]) -> None:
        path = self._data_dir / f"mijngegevens-{datetime.now(UTC):%Y%m%d-%H%M%S}.json"
        path.write_text(json.dumps(data, ensure_ascii=False, indent=2), encoding="utf-8")
        self.replies.append(Reply(f"Al je gegevens staan in {path}"))

    def take(self) -> list[Reply]:
        taken, self.replies = self.replies, []
        return taken


async def say(
    conversation: Conversation, outlet: TerminalOutlet, user_key: str, message: Inbound
) -> list[Reply]:
    """One message from the local user, and the answers to it."""
    ticket = conversation.receive(user_key, message, register_local=True)
    if ticket.user is not None:
        await conversation.drain(ticket.user, outlet)
    return outlet.take()


async def chat() -> int:
    settings = Settings.from_env()
    conversation, rasa, db = open_conversation(settings, LOCAL_CHANNEL)
    try:
        if not await rasa.is_up():
            print(f"The assistant is not running at {settings.rasa_url}. Start it with `make run` first.")
            return 1
        outlet = TerminalOutlet(settings.data_dir)
        user = getpass.getuser()
        print("Deuropener, lokaal. Typ je bericht; een nummer kiest een knop. Ctrl-D of 'exit' stopt.\n")
        buttons: list[Button] = []
        loop = asyncio.get_running_loop()
        while True:
            typed = await loop.run_in_executor(None, _read, "jij> ")
            if typed is None or typed.strip().lower() in {"exit", "quit"}:
                break
            text, new_buttons = render(await say(conversation, outlet, user, resolve(typed, buttons)))
            buttons = new_buttons
            print(f"\n{text}\n")
    finally:
        await rasa.aclose()
        db.dispose()
    return 0


def _read(prompt: str) -> str | None:
    try:
        return input(prompt)
    except EOFError:
        return None


if __name__ == "__main__":
    sys.exit(asyncio.run(chat()))
