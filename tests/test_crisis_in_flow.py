"""A crisis message gets the fixed answer at once, in any flow, and the flow goes on after."""

from __future__ import annotations

from pathlib import Path

import pytest

from coach import content
from coach.crisis import safety_button, safety_line
from tests.rasa_stack import RasaStack
from tests.test_chat import _chat

pytestmark = pytest.mark.integration


def test_a_crisis_in_the_middle_of_a_flow_then_the_flow_continues(
    tmp_path: Path, rasa_stack: RasaStack
) -> None:
    output = _chat(
        tmp_path,
        rasa_stack,
        "hoi\n2\ncliënt A\n"  # the menu's second button: Signalen verzamelen
        "mijn cliënt zegt net dat hij er vanavond een eind aan maakt\n"
        "de huisarts\nexit\n",
    )
    assert "113" in output and "112" in output  # the fixed crisis answer
    after_crisis = output.split("113", 1)[1]
    assert "vraag 2 van 8" in after_crisis  # "de huisarts" answered question 1: the flow went on


def test_a_question_about_the_topic_is_answered_as_content(tmp_path: Path, rasa_stack: RasaStack) -> None:
    output = _chat(tmp_path, rasa_stack, "welke signalen van kindermishandeling zijn er?\nexit\n")
    openings = content.load("crisis")["answer"]["openings"].values()
    assert not any(opening in output for opening in openings)  # no crisis answer for a knowledge question
    assert "Bron:" in output or "Hiermee kan ik je helpen" in output


def test_an_unsure_message_gets_the_help_numbers_and_the_flow_goes_on(
    tmp_path: Path, rasa_stack: RasaStack
) -> None:
    output = _chat(
        tmp_path,
        rasa_stack,
        # The help line's button is [1], the question's own buttons come after it; then the
        # worker taps it after all, and answers question 2.
        "hoi\n2\ncliënt A\nhij heeft wel eens gezegd dat het leven zwaar is\n1\nde buurvrouw\nexit\n",
    )
    line = safety_line()
    assert line in output  # the help numbers in one line ...
    before_tap, after_tap = output.split(f"[1] {safety_button()}", 1)
    openings = content.load("crisis")["answer"]["openings"]
    assert not any(opening in before_tap for opening in openings.values())  # ... not the crisis answer
    assert "vraag 2 van 8" in after_tap  # the message answered question 1
    full, after_full = after_tap.split(openings["suicide"], 1)[1].split("Ik ben een coach", 1)
    assert "113" in full and "0800-0113" in full and "112" in full  # the full answer on one tap
    assert "vraag 3 van 8" in after_full  # and the flow goes on where it was
