"""The first slice end to end, through the Rasa REST channel that every channel uses."""

from __future__ import annotations

import httpx
import pytest

pytestmark = pytest.mark.integration

COACH_NOTE = "ik ben een coach, geen behandelaar of beslisser"


def say(rasa_url: str, sender: str, text: str) -> list[dict]:
    response = httpx.post(
        f"{rasa_url}/webhooks/rest/webhook", json={"sender": sender, "message": text}, timeout=30
    )
    response.raise_for_status()
    return response.json()


def texts(messages: list[dict]) -> str:
    return "\n".join(m.get("text", "") for m in messages)


def button_titles(messages: list[dict]) -> list[str]:
    return [b["title"] for m in messages for b in m.get("buttons", [])]


def test_greeting_shows_the_coach_note_once_and_the_menu(rasa_url: str, sender: str) -> None:
    first = say(rasa_url, sender, "hoi")
    assert COACH_NOTE in texts(first)
    assert "Contactstrategie kiezen" in button_titles(first)
    again = say(rasa_url, sender, "hallo")
    assert COACH_NOTE not in texts(again)


def test_what_can_you_do_lists_the_menu(rasa_url: str, sender: str) -> None:
    messages = say(rasa_url, sender, "wat kun je allemaal?")
    assert {"Contactstrategie kiezen", "Signalen verzamelen", "Alle onderwerpen", "Mijn cliënten"} <= set(
        button_titles(messages)
    )


def test_help_explains_how_to_use_it(rasa_url: str, sender: str) -> None:
    assert "label" in texts(say(rasa_url, sender, "help"))


def test_a_described_situation_gets_a_strategy_directly(rasa_url: str, sender: str) -> None:
    messages = say(rasa_url, sender, "mevrouw is erg wantrouwig en doet de deur niet open")
    text = texts(messages)
    assert "Mijn voorstel: Nut bewijzen" in text
    assert "hand- en spandiensten" in text
    assert "Bron: Schema voortraject" in text


def test_unclear_situation_one_question_then_a_tap_recommends(rasa_url: str, sender: str) -> None:
    question = say(rasa_url, sender, "welke strategie moet ik kiezen?")
    buttons = {b["title"]: b["payload"] for m in question for b in m.get("buttons", [])}
    assert "Wil vooral van mij af" in buttons
    assert all(len(p.encode()) <= 64 for p in buttons.values())
    answer = say(rasa_url, sender, buttons["Wil vooral van mij af"])
    assert "Mijn voorstel: Van de werker verlost worden" in texts(answer)


def test_stop_in_the_middle_forgets_the_half_made_choice(rasa_url: str, sender: str) -> None:
    say(rasa_url, sender, "welke aanpak past bij mijn cliënt")
    stopped = say(rasa_url, sender, "stop")
    assert "we stoppen" in texts(stopped).lower()
    assert "Contactstrategie kiezen" in button_titles(stopped)
    tracker = say(rasa_url, sender, "/ask_strategy")  # starts afresh: the question again
    assert "Wat past het best" in texts(tracker)


def test_explain_a_named_strategy(rasa_url: str, sender: str) -> None:
    text = texts(say(rasa_url, sender, "wat houdt quid pro quo in?"))
    assert text.startswith("Quid pro quo") or "\nQuid pro quo" in text
    assert "tegenprestatie" in text


@pytest.mark.parametrize(
    "message",
    [
        "😀😀😀",
        "what can you do for me?",
        "asdkjh qwpoeiru zxmnbv",
        "wat is de hoofdstad van peru",
        "x" * 10_000,
        "   ",
    ],
)
def test_bad_input_gets_a_friendly_dutch_answer_and_the_menu(
    rasa_url: str, sender: str, message: str
) -> None:
    messages = say(rasa_url, sender, message)
    assert messages, "never silence"
    assert "Contactstrategie kiezen" in button_titles(messages)
