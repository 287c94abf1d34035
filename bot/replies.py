"""Channel-neutral replies: what Rasa answered, ready for Telegram or the terminal."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from coach import crisis


@dataclass(frozen=True)
class Button:
    title: str
    payload: str


@dataclass(frozen=True)
class Reply:
    text: str = ""
    buttons: tuple[Button, ...] = field(default_factory=tuple)
    image: str | None = None
    photo: bytes | None = None  # a picture made by the bot itself (a chart), sent as a file

    @classmethod
    def from_rasa(cls, message: dict[str, Any]) -> Reply:
        """Build a reply from one message of Rasa's REST channel answer."""
        buttons = tuple(
            Button(title=str(b.get("title", "")), payload=str(b.get("payload", "")))
            for b in message.get("buttons") or []
        )
        return cls(text=message.get("text") or "", buttons=buttons, image=message.get("image"))


MENU_PAYLOAD = "/ask_capabilities"
MENU_BUTTON = Button("Menu", MENU_PAYLOAD)


def crisis_reply(kind: crisis.CrisisKind | None) -> Reply:
    """The fixed crisis answer (every line and the meldcode when the kind is unknown), with the menu."""
    return Reply(crisis.answer(kind), (MENU_BUTTON,))
