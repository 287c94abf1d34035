"""Recognise a question typed in the middle of a guided flow, and the worker's case labels."""

from __future__ import annotations

QUESTION_WORDS = {
    "wat", "wie", "hoe", "waarom", "wanneer", "welke", "welk", "waar", "waarmee", "mag", "moet",
    "kan", "kun", "kunnen", "is", "zijn", "heb", "hebben", "wordt", "zou",
}  # fmt: skip


def looks_like_question(text: str) -> bool:
    """True for "wat is quid pro quo?" or "hoe werkt nut bewijzen", not for plain answers."""
    stripped = text.strip()
    if stripped.endswith("?"):
        return True
    first = stripped.split(maxsplit=1)[0].lower() if stripped else ""
    return first in QUESTION_WORDS and len(stripped.split()) >= 3
