from __future__ import annotations

import pytest

from coach.crisis import CrisisKind, answer, detect
from scripts.privacy_report import TARGETS, CrisisFigures, load_crisis_set, measure_crisis


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ("mijn cliënt zegt dat hij er vanavond een eind aan maakt", CrisisKind.SUICIDE),
        ("ik wil zelf niet meer leven", CrisisKind.SUICIDE),
        ("mevrouw zegt dat ze dood wil, ze heeft pillen gespaard", CrisisKind.SUICIDE),
        ("ze staat met een mes in de keuken", CrisisKind.ACUTE_DANGER),
        ("meneer ligt bewusteloos op de grond", CrisisKind.ACUTE_DANGER),
        ("de vader slaat de kinderen, ik sta nu voor de deur", CrisisKind.CHILD_ABUSE),
        ("het kind heeft blauwe plekken en durft niet naar huis", CrisisKind.CHILD_ABUSE),
        ("ik vermoed kindermishandeling bij gezin B, wat moet ik doen?", CrisisKind.CHILD_ABUSE),
        ("haar man slaat haar, ze belde me net huilend op", CrisisKind.DOMESTIC_VIOLENCE),
        ("ik word bedreigd", CrisisKind.VIOLENCE),
        ("hij zegt dat hij me gaat vermoorden", CrisisKind.VIOLENCE),
    ],
)
def test_crisis_messages_are_recognised(text: str, kind: CrisisKind) -> None:
    assert detect(text) is kind


@pytest.mark.parametrize(
    "text",
    [
        "welke signalen van kindermishandeling zijn er?",
        "hoe bespreek ik huiselijk geweld met een cliënt?",
        "wat zegt de meldcode?",
        "wanneer schakel ik Veilig Thuis in?",
        "wat doe ik als een cliënt zegt dat hij niet meer wil leven?",
        "hoe vraag ik naar suïcidale gedachten?",
        "hoe ga ik om met agressie tijdens een huisbezoek?",
        "mijn cliënt is niet suïcidaal, maar wel somber",
        "hij slaat de plank steeds mis bij de gemeente",
        "ik schrik me dood van die rekeningen",
        "mijn cliënt wil geen hulp en doet de deur niet open",
    ],
)
def test_questions_and_ordinary_messages_are_not_a_crisis(text: str) -> None:
    assert detect(text) is None


@pytest.mark.parametrize("text", ["hij praat over zelfmoort", "ze dreigt met suicide", "ze is suïcidaal nu"])
def test_typos_and_accents_are_tolerated(text: str) -> None:
    assert detect(text) is CrisisKind.SUICIDE


def test_placeholders_from_the_scrubber_count_as_a_real_person() -> None:
    assert detect("[naam] praat steeds over zelfdoding") is CrisisKind.SUICIDE


@pytest.mark.parametrize("kind", list(CrisisKind))
def test_every_answer_has_the_help_numbers_and_fits_a_phone_screen(kind: CrisisKind) -> None:
    text = answer(kind)
    for needle in ("112", "113", "0800-0113", "113.nl", "0800-2000", "huisartsenpost", "verder waar je was"):
        assert needle in text, needle
    assert len(text) < 900


def test_abuse_answers_give_the_five_steps_of_the_meldcode() -> None:
    for kind in (CrisisKind.DOMESTIC_VIOLENCE, CrisisKind.CHILD_ABUSE):
        text = answer(kind)
        assert "meldcode" in text
        assert all(f"{step}. " in text for step in range(1, 6))
        assert "afwegingskader" in text
    assert "meldcode" not in answer(CrisisKind.SUICIDE)


@pytest.fixture(scope="module")
def figures() -> CrisisFigures:
    return measure_crisis(load_crisis_set())


def test_test_set_is_big_enough(figures: CrisisFigures) -> None:
    assert figures.crisis_messages + figures.questions >= 100
    assert figures.crisis_messages >= 50 and figures.questions >= 50


def test_recall_on_crisis_messages_meets_target(figures: CrisisFigures) -> None:
    assert figures.recall >= TARGETS["crisis_recall"]


def test_false_alarms_on_questions_meet_target(figures: CrisisFigures) -> None:
    assert figures.false_alarm_rate <= TARGETS["false_alarm"]
