"""The reflection end to end through Rasa's REST channel (the real model and action server)."""

from __future__ import annotations

import httpx
import pytest

from tests.rasa_stack import RasaStack
from tests.test_assistant import say, texts
from tests.test_flows_assistant import buttons

pytestmark = pytest.mark.integration

SCORE_TITLES = {1: "1 · helemaal niet", 5: "5 · helemaal wel"}


def new_case(rasa_url: str, sender: str, label: str) -> None:
    """Make an open case the way a worker does: start a case flow, name the client, stop."""
    say(rasa_url, sender, '/start_flow{"flow":"verzamelen"}')
    assert "vraag 1 van 8" in texts(say(rasa_url, sender, label))
    say(rasa_url, sender, "/stop")


def answer(
    rasa_url: str, sender: str, asked: list[dict], values: list[int], note: str | None = None
) -> list[dict]:
    """Tap a score for each of the six questions, then type the note or skip it."""
    for value in values:
        assert "1 = helemaal niet · 5 = helemaal wel" in texts(asked)
        asked = say(rasa_url, sender, buttons(asked)[SCORE_TITLES.get(value, str(value))])
    assert "notitie" in texts(asked)
    return say(rasa_url, sender, note) if note else say(rasa_url, sender, buttons(asked)["Overslaan"])


def test_two_cases_in_turn_the_drop_warning_and_the_chart(rasa_url: str, sender: str) -> None:
    new_case(rasa_url, sender, "cliënt A")
    new_case(rasa_url, sender, "gezin B")

    # Two earlier reflections on gezin B, the second lower: one drop so far.
    for values in ([5] * 6, [4] * 6):
        started = say(rasa_url, sender, "/start_reflection")
        asked = say(rasa_url, sender, buttons(started)["gezin B"])
        assert "Reflectie op de werkrelatie met gezin B" in texts(asked)
        done = answer(rasa_url, sender, asked, values)
        assert "Bewaard: je reflectie op gezin B" in texts(done)
        assert "intervisie" not in texts(done)

    started = say(rasa_url, sender, "ik wil reflecteren")
    assert "Over welke cliënt wil je reflecteren?" in texts(started)
    asked = say(rasa_url, sender, buttons(started)["Alle open cliënten na elkaar"])
    assert "We lopen je 2 open cliënten na elkaar langs" in texts(asked)
    first = "gezin B" if "gezin B · vraag 1 van 6" in texts(asked) else "cliënt A"
    second = "cliënt A" if first == "gezin B" else "gezin B"

    # Typing instead of tapping: a friendly re-ask with the buttons, nothing lost.
    again = say(rasa_url, sender, "tja, wisselend")
    assert "cijfer van 1 tot 5" in texts(again) and f"{first} · vraag 1 van 6" in texts(again)
    assert "3" in buttons(again)

    values = {"gezin B": [3, 3, 2, 3, 3, 3], "cliënt A": [4, 4, 4, 4, 2, 5]}
    middle = answer(rasa_url, sender, again, values[first])
    assert f"Bewaard: je reflectie op {first}" in texts(middle)
    assert f"Dan nu {second}" in texts(middle) and f"{second} · vraag 1 van 6" in texts(middle)
    last = answer(rasa_url, sender, middle, values[second], note="kort gesprek aan de deur, ging beter")
    both = texts(middle) + texts(last)
    assert "De werkrelatie met gezin B is twee keer op rij gedaald (gemiddeld 5,0 → 4,0 → 2,8)" in both
    assert "De werkrelatie met cliënt A is twee keer" not in both
    assert "Het laagst scoort nu vertrouwen (2)" in both and "Nut bewijzen" in both  # gezin B
    assert "Het laagst scoort nu praktische hulp (2)" in both  # cliënt A
    assert "samen met je cliënt" in texts(last)

    chart = say(rasa_url, sender, buttons(last)["Verloop gezin B"])
    images = [m["image"] for m in chart if m.get("image")]
    assert len(images) == 1 and images[0].startswith("chart:")
    assert "Zo ontwikkelt de werkrelatie met gezin B zich (3 reflecties)" in texts(chart)

    pick = say(rasa_url, sender, "/show_chart")
    assert "Van welke cliënt wil je het verloop zien?" in texts(pick)
    assert {"cliënt A", "gezin B"} <= set(buttons(pick))


def test_without_an_open_case_the_worker_can_start_one(rasa_url: str, sender: str) -> None:
    started = say(rasa_url, sender, "werkrelatie evalueren")
    assert "nog geen open cliënten" in texts(started)
    asked = say(rasa_url, sender, "cliënt Q")
    assert "cliënt Q · vraag 1 van 6" in texts(asked)
    stopped = say(rasa_url, sender, buttons(asked)["Stoppen"])
    assert "De reflectie op cliënt Q is niet bewaard" in texts(stopped)
    nothing = say(rasa_url, sender, "/show_chart")
    assert "nog geen reflecties" in texts(nothing)


def test_a_question_in_the_middle_is_answered_and_the_reflection_goes_on(rasa_url: str, sender: str) -> None:
    new_case(rasa_url, sender, "cliënt C")
    started = say(rasa_url, sender, "/start_reflection")
    assert "cliënt C · vraag 1 van 6" in texts(started)
    answered = say(rasa_url, sender, "hoe bouw ik een goede werkrelatie op?")
    assert "Bron: " in texts(answered) and "We gaan verder waar we waren" in texts(answered)
    assert "cliënt C · vraag 1 van 6" in texts(answered)


def test_a_nudge_starts_the_reflection_through_trigger_intent(rasa_stack: RasaStack, sender: str) -> None:
    """What "Nu reflecteren" in a nudge does (bot/nudges.py): no user message, just the intent."""
    new_case(rasa_stack.url, sender, "cliënt N")
    new_case(rasa_stack.url, sender, "gezin M")
    response = httpx.post(
        f"{rasa_stack.url}/conversations/{sender}/trigger_intent",
        params={"token": rasa_stack.token},
        json={"name": "start_reflection"},
        timeout=30,
    )
    response.raise_for_status()
    messages = response.json()["messages"]
    assert "Over welke cliënt wil je reflecteren?" in texts(messages)
    assert {"cliënt N", "gezin M", "Alle open cliënten na elkaar", "Stoppen"} <= set(buttons(messages))
    asked = say(rasa_stack.url, sender, buttons(messages)["gezin M"])  # the form runs on as usual
    assert "gezin M · vraag 1 van 6" in texts(asked)
