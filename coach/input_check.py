"""Recognise messages that should not go to the dialogue model as they are."""

from __future__ import annotations

import unicodedata
from enum import Enum

MAX_CHARS = 2000  # longer is not a chat message; Telegram's own limit is 4096


class InputProblem(Enum):
    EMPTY = "empty"
    TOO_LONG = "too_long"
    NO_WORDS = "no_words"  # only emoji, digits or punctuation


def check(text: str | None) -> InputProblem | None:
    """Return what is wrong with a message, or None when it can go to the assistant."""
    stripped = (text or "").strip()
    if not stripped:
        return InputProblem.EMPTY
    if len(stripped) > MAX_CHARS:
        return InputProblem.TOO_LONG
    if stripped.startswith("/"):  # a button payload or command: handled elsewhere
        return None
    if not any(unicodedata.category(ch).startswith("L") for ch in stripped):
        return InputProblem.NO_WORDS
    return None


ANSWERS = {
    InputProblem.EMPTY: "Ik zie geen tekst in je bericht. Typ je vraag, of kies iets uit het menu.",
    InputProblem.TOO_LONG: (
        f"Dat is een lang bericht (meer dan {MAX_CHARS} tekens). Kun je het in een paar zinnen "
        "samenvatten? Dan kan ik je beter helpen."
    ),
    InputProblem.NO_WORDS: (
        "Daar kan ik geen vraag in lezen. Typ je vraag in woorden, of kies iets uit het menu."
    ),
}
