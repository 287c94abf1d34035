"""The strategy choice: which of the five strategies fits, and what is asked when unclear."""

from __future__ import annotations

import pytest

from coach import strategy, strategy_text
from coach.situation import extract_facts
from coach.strategy import NONE_OF_THESE, NoClearFit, Question, Recommendation, decide, update


@pytest.mark.parametrize(
    ("description", "expected"),
    [
        ("mevrouw is erg wantrouwig en doet de deur niet open", "nut_bewijzen"),
        ("cl is achterdochtig en heel afwerend naar iedereen", "nut_bewijzen"),
        ("hij wil geen hulp maar wel een woning", "quid_pro_quo"),
        ("hij wil detentie voorkomen", "quid_pro_quo"),
        ("ze wil alleen maar van me af", "verlost_worden"),
        ("meneer zegt steeds dat ik moet oprotten", "verlost_worden"),
        ("meneer dreigt uit huis gezet te worden en weigert alles", "verkoopstrategieen"),
        ("er dreigt een gedwongen opname maar ze wil niks", "verkoopstrategieen"),
        ("ik heb alles al geprobeerd en niks werkt", "confronteren"),
        ("alle andere strategieën zijn mislukt bij dit gezin", "confronteren"),
    ],
)
def test_a_clear_description_gets_its_strategy_directly(description: str, expected: str) -> None:
    decision = decide(extract_facts(description))
    assert isinstance(decision, Recommendation)
    assert decision.strategy == expected


def test_an_unclear_description_asks_one_question_with_all_five_situations() -> None:
    decision = decide(extract_facts("cliënt A reageert niet op brieven"))
    assert isinstance(decision, Question)
    assert [f.strategy for f in decision.options] == [
        "nut_bewijzen",
        "quid_pro_quo",
        "verlost_worden",
        "verkoopstrategieen",
        "confronteren",
    ]


def test_a_negated_situation_is_not_offered_again() -> None:
    facts = extract_facts("ze is niet wantrouwig")
    assert facts == {"distrustful": False}
    decision = decide(facts)
    assert isinstance(decision, Question)
    assert "distrustful" not in {f.key for f in decision.options}


def test_negation_does_not_reach_past_maar() -> None:
    assert extract_facts("geen hulp, maar wel een uitkering") == {"has_stake": True}


def test_a_tapped_answer_decides_after_the_question() -> None:
    known = update({}, {"wants_rid": True})
    assert decide(known) == Recommendation("verlost_worden", "wants_rid")


def test_none_of_these_gives_no_strategy_but_sound_advice() -> None:
    decision = decide(update({"distrustful": False}, {NONE_OF_THESE: True}))
    assert isinstance(decision, NoClearFit)
    text = strategy_text.describe(decision)
    assert "team" in text and "vraag of opdracht" in text


def test_confronting_is_only_advised_as_last_resort() -> None:
    decision = decide({"distrustful": True})
    assert isinstance(decision, Recommendation) and decision.strategy != "confronteren"
    decision = decide({"others_failed": True, "distrustful": True})
    assert decision == Recommendation("confronteren", "others_failed", also_fits=("nut_bewijzen",))


def test_the_recommendation_says_why_what_and_what_to_watch_and_names_the_source() -> None:
    text = strategy_text.recommendation(Recommendation("nut_bewijzen", "distrustful"))
    assert text.startswith("Mijn voorstel: Nut bewijzen")
    assert "Past als: Je cliënt is zeer wantrouwig en afwerend." in text
    assert "hand- en spandiensten" in text
    assert "participatie" in text
    assert text.endswith(
        "Bron: Schema voortraject, contactlegging en beginfase van onvrijwillige hulpverlening"
    )


def test_sales_strategies_list_all_five_rules() -> None:
    text = strategy_text.explain("verkoopstrategieen")
    assert text.count("\n• ") == 5
    assert "discussiëren" in text and "Weerleg geen opvattingen" in text


def test_confronting_carries_the_reflection_question() -> None:
    assert "tekortschieten" in strategy_text.explain("confronteren")


def test_also_fitting_strategies_are_named() -> None:
    rec = decide({"eviction_or_admission": True, "distrustful": True})
    assert isinstance(rec, Recommendation)
    assert "Past misschien ook: Nut bewijzen." in strategy_text.recommendation(rec)


def test_every_fact_points_at_a_known_strategy() -> None:
    from coach import content

    assert {f.strategy for f in strategy.facts()} == set(content.strategies())
