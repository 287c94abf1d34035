"""Guided flows, cases and free questions end to end, through the Rasa REST channel."""

from __future__ import annotations

import pytest

from tests.test_assistant import button_titles, say, texts

pytestmark = pytest.mark.integration


def buttons(messages: list[dict]) -> dict[str, str]:
    return {b["title"]: b["payload"] for m in messages for b in m.get("buttons", [])}


def test_collect_signals_for_a_case_stop_and_resume_later(rasa_url: str, sender: str) -> None:
    asked = say(rasa_url, sender, '/start_flow{"flow":"verzamelen"}')
    assert "Over welke cliënt gaat het?" in texts(asked)
    first = say(rasa_url, sender, "cliënt A")
    assert "vraag 1 van 8" in texts(first) and "Van wie komt het signaal?" in texts(first)
    second = say(rasa_url, sender, "de buurvrouw belde")
    assert "vraag 2 van 8" in texts(second)
    third = say(rasa_url, sender, buttons(second)["Overslaan"])
    assert "vraag 3 van 8" in texts(third)
    stopped = say(rasa_url, sender, "stop")
    assert "bewaard bij cliënt A" in texts(stopped)

    listed = say(rasa_url, sender, "/list_cases")
    overview = say(rasa_url, sender, buttons(listed)["cliënt A"])
    assert "Signalen verzamelen: bezig (2 van 8)" in texts(overview)
    assert "de buurvrouw belde" in texts(overview)
    resumed = say(rasa_url, sender, buttons(overview)["Signalen verzamelen"])
    assert "verder bij stap 3 van 8" in texts(resumed)
    assert "Wat is de ernst" in texts(resumed)


def test_a_question_in_the_middle_is_answered_and_the_flow_goes_on(rasa_url: str, sender: str) -> None:
    say(rasa_url, sender, '/start_flow{"flow":"deur_open"}')
    first = say(rasa_url, sender, "gezin B")
    assert "vraag 1 van 6" in texts(first)
    answered = say(rasa_url, sender, "welke signalen zie je bij ouderen?")
    assert "Uitdrogingsverschijnselen" in texts(answered)
    assert "We gaan verder waar we waren" in texts(answered)
    assert "vraag 1 van 6" in texts(answered)


def test_a_free_question_gets_a_sourced_answer_and_a_next_step(rasa_url: str, sender: str) -> None:
    messages = say(rasa_url, sender, "wat als de cliënt alles ontkent?")
    text = texts(messages)
    assert "Schaamte" in text and "Bron: " in text
    assert "Eerste contact" in button_titles(messages)


def test_every_area_is_reachable_from_all_topics(rasa_url: str, sender: str) -> None:
    topics = buttons(say(rasa_url, sender, "/list_topics"))
    assert len(topics) == 12
    for title, payload in topics.items():
        reply = say(rasa_url, f"{sender}-{len(title)}-{title[:5]}", payload)
        assert reply and texts(reply), title
        assert button_titles(reply), f"{title}: no next step offered"


def test_starting_a_flow_in_your_own_words(rasa_url: str, sender: str) -> None:
    assert "6 stappen bij (een vermoeden van) zorgmijding" in texts(
        say(rasa_url, sender, "loop de 6 stappen met me door")
    )


def test_rename_and_close_a_case(rasa_url: str, sender: str) -> None:
    say(rasa_url, sender, '/start_flow{"flow":"risicofactoren"}')
    say(rasa_url, sender, "cliënt R")
    case_button = buttons(say(rasa_url, sender, "/list_cases"))["cliënt R"]
    overview = buttons(say(rasa_url, sender, case_button))
    say(rasa_url, sender, overview["Label wijzigen"])
    renamed = say(rasa_url, sender, "cliënt S")
    assert "heet nu 'cliënt S'" in texts(renamed)
    closed = say(rasa_url, sender, overview["Afsluiten"])
    assert "afgesloten" in texts(closed)
    assert "cliënt S" not in button_titles(say(rasa_url, sender, "/list_cases"))


@pytest.mark.parametrize(
    "flow",
    [
        "verzamelen", "analyseren", "contact", "eerste_contact", "deur_open",
        "risicofactoren", "zes_stappen", "werkrelatie", "oplossingsgericht", "interventies",
    ],
)  # fmt: skip
def test_every_flow_runs_to_its_summary(rasa_url: str, sender: str, flow: str) -> None:
    """Walk the flow as a worker would: type answers, tap Verder/Ja/the first option, Klaar."""
    messages = say(rasa_url, sender, f'/start_flow{{"flow":"{flow}"}}')
    for _ in range(40):
        text = texts(messages)
        if "Klaar:" in text:
            break
        options = buttons(messages)
        if "Over welke cliënt gaat het?" in text:
            messages = say(rasa_url, sender, f"cliënt {flow[:3]}")
        elif "Overslaan" in options and "Ja" not in options:
            messages = say(rasa_url, sender, "dat weet ik nog niet precies")
        else:
            preferred = ("Verder", "Afronden", "Ja", "Klaar")
            title = next((t for t in preferred if t in options), next(iter(options)))
            messages = say(rasa_url, sender, options[title])
    text = texts(messages)
    assert "Klaar:" in text, text
    assert button_titles(messages), "a finished flow offers a next step"
