"""Recognise messages that should not go to the dialogue model as they are."""

from __future__ import annotations

import unicodedata
from enum import Enum

MAX_CHARS = 2000  # longer is not a chat message; Telegram's own limit is 4096


class InputProblem(Enum):
    EMPTY = "empty"
    TOO_LONG = "too_long"
    NO_WORDS = "no_words"  # only emoji, digits or punctuation


# Control characters nobody types (NUL, escape, C1 codes): a database column may refuse them
# (PostgreSQL text can't hold NUL) and no answer needs them. Tab and line breaks stay.
_CONTROLS = {
    code: None for code in (*range(0x00, 0x20), 0x7F, *range(0x80, 0xA0)) if chr(code) not in "\t\n\r"
}


def without_controls(text: str) -> str:
    """`text` without control characters (keeps tabs, line breaks and every printable character)."""
    return text.translate(_CONTROLS)


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
