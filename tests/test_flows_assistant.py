"""Guided flows, cases and free questions end to end, through the Rasa REST channel."""

from __future__ import annotations

import pytest

from coach import flows
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


FLOWS = [
    "verzamelen", "analyseren", "contact", "eerste_contact", "deur_open",
    "risicofactoren", "zes_stappen", "werkrelatie", "oplossingsgericht", "interventies",
]  # fmt: skip
CASE_FLOWS = {"verzamelen", "analyseren", "deur_open", "risicofactoren"}
SKIPPABLE = {"verzamelen", "analyseren", "deur_open", "zes_stappen"}  # flows with questions to skip
ANSWER = "dat weet ik nog niet precies"


def step_on(rasa_url: str, sender: str, messages: list[dict], label: str) -> list[dict]:
    """One move as a worker would make it: a label, a typed answer, or Verder/Ja/the first option."""
    text, options = texts(messages), buttons(messages)
    if "Over welke cliënt gaat het?" in text:
        return say(rasa_url, sender, label)
    if "Overslaan" in options and "Ja" not in options:
        return say(rasa_url, sender, ANSWER)
    preferred = ("Verder", "Afronden", "Ja", "Klaar")
    title = next((t for t in preferred if t in options), next(iter(options)))
    return say(rasa_url, sender, options[title])


def walk_to_the_end(rasa_url: str, sender: str, messages: list[dict], label: str) -> list[dict]:
    for _ in range(40):
        if "Klaar:" in texts(messages):
            return messages
        messages = step_on(rasa_url, sender, messages, label)
    raise AssertionError(f"the flow did not finish: {texts(messages)}")


def prompt_of(messages: list[dict]) -> str:
    """The step the worker is asked now: the last message with buttons."""
    return next(m["text"] for m in reversed(messages) if m.get("buttons"))


@pytest.mark.parametrize("flow", FLOWS)
def test_every_flow_runs_to_its_summary(rasa_url: str, sender: str, flow: str) -> None:
    """The happy path: type answers, tap Verder/Ja/the first option, Klaar."""
    messages = say(rasa_url, sender, f'/start_flow{{"flow":"{flow}"}}')
    messages = walk_to_the_end(rasa_url, sender, messages, f"cliënt {flow[:3]}")
    text = texts(messages)
    if flow in CASE_FLOWS:
        assert f"voor cliënt {flow[:3]}" in text and "bewaard bij deze cliënt" in text
    assert button_titles(messages), "a finished flow offers a next step"


@pytest.mark.parametrize("flow", FLOWS)
def test_every_flow_question_skip_stop_and_resume(rasa_url: str, sender: str, flow: str) -> None:
    """Ask a question midway, skip a step (where one asks something), stop, resume, finish."""
    label = f"cliënt {flow[:4]}"
    messages = say(rasa_url, sender, f'/start_flow{{"flow":"{flow}"}}')
    if flow in CASE_FLOWS:
        messages = say(rasa_url, sender, label)

    asked = prompt_of(messages)
    answered = say(rasa_url, sender, "wat als de cliënt alles ontkent?")
    assert "Bron: " in texts(answered) and "We gaan verder waar we waren" in texts(answered)
    assert prompt_of(answered) == asked, "the flow goes on at the same step"

    moved = len(flows.flows()[flow].steps) > 1
    if moved:
        messages = step_on(rasa_url, sender, answered, label)
        if flow in SKIPPABLE:  # walk on to the first step that asks something, and skip it
            while "Overslaan" not in buttons(messages):
                messages = step_on(rasa_url, sender, messages, label)
            before = prompt_of(messages)
            messages = say(rasa_url, sender, buttons(messages)["Overslaan"])
            assert prompt_of(messages) != before, "skipping moves on"
        asked = prompt_of(messages)

    stopped = texts(say(rasa_url, sender, "stop"))
    if flow in CASE_FLOWS:
        assert f"bewaard bij {label}" in stopped
        listed = say(rasa_url, sender, "/list_cases")
        overview = say(rasa_url, sender, buttons(listed)[label])
        resumed = say(rasa_url, sender, buttons(overview)[flows.flows()[flow].title])
    else:
        assert ("Ik onthoud waar je was" in stopped) == moved
        resumed = say(rasa_url, sender, f'/start_flow{{"flow":"{flow}"}}')
    assert ("We gaan verder bij stap" in texts(resumed)) == moved
    assert prompt_of(resumed) == asked, "resumed at the step where the worker stopped"

    finished = texts(walk_to_the_end(rasa_url, sender, resumed, label))
    if flow in {"verzamelen", "deur_open"}:
        assert ANSWER in finished, "the answer given before stopping is in the summary"
