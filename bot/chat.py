"""`make chat`: talk to the running assistant in the terminal, along the Telegram path.

Buttons are shown numbered; type the number to tap one. Ctrl-D or "exit" ends the chat.
"""

from __future__ import annotations

import asyncio
import getpass
import sys

from bot.conversation import Conversation
from bot.rasa_client import RasaClient
from bot.replies import Button, Reply
from bot.settings import Settings
from bot.store import TurnStore


def render(replies: list[Reply]) -> tuple[str, list[Button]]:
    """Text to print for the replies, and the buttons that numbers now select."""
    lines: list[str] = []
    buttons: list[Button] = []
    for reply in replies:
        if reply.text:
            lines.append(reply.text)
        if reply.image:
            lines.append(f"[afbeelding: {reply.image}]")
        buttons = list(reply.buttons) or buttons
        for number, button in enumerate(reply.buttons, start=1):
            lines.append(f"  [{number}] {button.title}")
    return "\n".join(lines), buttons


def resolve(typed: str, buttons: list[Button]) -> str:
    """A typed button number becomes that button's payload; anything else is sent as is."""
    if typed.strip().isdigit() and 1 <= int(typed) <= len(buttons):
        return buttons[int(typed) - 1].payload
    return typed


async def chat() -> int:
    settings = Settings.from_env()
    rasa = RasaClient(settings.rasa_url, settings.rasa_timeout)
    if not await rasa.is_up():
        print(f"The assistant is not running at {settings.rasa_url}. Start it with `make run` first.")
        return 1
    conversation = Conversation(rasa, TurnStore(settings.database_url, settings.pseudonym_secret), "local")
    user = getpass.getuser()
    print("Deuropener, lokaal. Typ je bericht; een nummer kiest een knop. Ctrl-D of 'exit' stopt.\n")
    buttons: list[Button] = []
    loop = asyncio.get_running_loop()
    try:
        while True:
            typed = await loop.run_in_executor(None, _read, "jij> ")
            if typed is None or typed.strip().lower() in {"exit", "quit"}:
                break
            text, new_buttons = render(await conversation.handle(user, resolve(typed, buttons)))
            buttons = new_buttons
            print(f"\n{text}\n")
    finally:
        await rasa.aclose()
    return 0


def _read(prompt: str) -> str | None:
    try:
        return input(prompt)
    except EOFError:
        return None


if __name__ == "__main__":
    sys.exit(asyncio.run(chat()))
