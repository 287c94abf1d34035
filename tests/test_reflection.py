"""Reflection on the working relationship: scoring, the drop rule, tips, the conversation, storage."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import delete

from bot import access, transcript
from bot.models import Case as CaseRow
from bot.models import Role
from coach import reflection, reflection_text
from coach.flow_text import STOP
from coach.flows import BACK, SKIP
from coach.reflection import Outcome, dropped_twice, elements, lowest, parse_score
from coach.reflection_session import ALL, ReflectionSession
from storage.cases import CaseRepository, database
from storage.reflections import ReflectionRepository

KEYS = [e.key for e in elements()]


def scores(*values: int) -> dict[str, int]:
    return dict(zip(KEYS, values, strict=True))


@pytest.fixture
def url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'app.db'}"


@pytest.fixture
def cases(url: str) -> CaseRepository:
    return CaseRepository(owner="worker-1", url=url)


@pytest.fixture
def store(url: str) -> ReflectionRepository:
    return ReflectionRepository(owner="worker-1", url=url)


@pytest.fixture
def session(cases: CaseRepository, store: ReflectionRepository) -> ReflectionSession:
    return ReflectionSession(cases, store)


# --- the domain ----------------------------------------------------------------------------


def test_six_elements_from_movisie_each_with_a_question_label_and_sourced_tip() -> None:
    assert KEYS == ["doelen", "band", "vertrouwen", "continuiteit", "praktisch", "motivatie"]
    for element in elements():
        assert element.question.endswith("?") and len(element.question) < 120
        assert element.label and len(element.label) <= 20  # fits a chart legend on a phone
        tip = reflection_text.tip(element)
        assert tip.startswith("Tip: ") and "\nBron: " in tip and "•" in tip


def test_low_trust_gets_the_practical_service_tip_from_the_strategies() -> None:
    tip = reflection_text.tip(reflection.element("vertrouwen"))
    assert "Nut bewijzen" in tip and "hand- en spandiensten" in tip
    assert "Bron: Schema voortraject, contactlegging en beginfase" in tip


def test_the_lowest_element_wins_and_a_tie_goes_to_the_one_asked_first() -> None:
    assert lowest(scores(4, 4, 2, 4, 4, 4)).key == "vertrouwen"
    assert lowest(scores(5, 3, 4, 3, 4, 4)).key == "band"


@pytest.mark.parametrize(
    ("averages", "dropped"),
    [
        ([4, 3, 2], True),
        ([5, 4, 4, 3], False),  # the last three are 4, 4, 3: one drop only
        ([4, 4, 3], False),
        ([3, 2], False),  # two reflections can drop only once
        ([2, 3, 4], False),
        ([5, 2, 4, 3, 2], True),  # only the last three count
    ],
)
def test_dropped_twice_in_a_row_means_three_strictly_decreasing_averages(
    averages: list[int], dropped: bool
) -> None:
    assert dropped_twice([scores(*[a] * 6) for a in averages]) is dropped


def test_the_drop_rule_looks_at_the_average_not_at_one_element() -> None:
    falling_trust_rising_rest = [scores(3, 3, 5, 3, 3, 3), scores(4, 4, 4, 4, 4, 4), scores(5, 5, 3, 5, 5, 5)]
    assert not dropped_twice(falling_trust_rising_rest)


@pytest.mark.parametrize(
    ("typed", "score"),
    [("4", 4), (" 2 ", 2), ("vier", 4), ("3/5", 3), ("5 van 5", 5), ("6", None), ("goed", None)],
)
def test_typed_scores(typed: str, score: int | None) -> None:
    assert parse_score(typed) == score


def test_the_outcome_names_the_lowest_element_suggests_the_client_and_warns_on_a_drop() -> None:
    trust = reflection.element("vertrouwen")
    result = Outcome("cliënt A", scores(4, 3, 2, 4, 3, 3), 3.5, trust, True, (4.0, 3.5, 3.2))
    text = reflection_text.outcome(result)
    assert "Het laagst scoort nu vertrouwen (2)" in text
    assert "samen met je cliënt" in text
    assert "twee keer op rij gedaald (gemiddeld 4,0 → 3,5 → 3,2)" in text and "intervisie" in text
    assert "vorige keer 3,5" in text
    calm = Outcome("cliënt A", scores(4, 4, 4, 4, 4, 4), None, reflection.element("doelen"), False, ())
    assert "intervisie" not in reflection_text.outcome(calm)


# --- the conversation ----------------------------------------------------------------------


def _answer_all(session: ReflectionSession, state: dict, values: list[int], note: str | None = None):
    for value in values:
        turn = session.advance(state, str(value), None)
        state = turn.state
    return session.advance(state, None, note) if note else session.advance(state, SKIP, None)


def test_no_open_case_offers_to_start_one_by_typing_a_label(session: ReflectionSession) -> None:
    turn = session.begin()
    text, buttons = session.prompt(turn.state)
    assert "nog geen open cliënten" in text and buttons == [("Stoppen", STOP)]
    turn = session.advance(turn.state, None, "cliënt Z")
    assert turn.state["label"] == "cliënt Z" and turn.state["step"] == 0
    assert "vraag 1 van 6" in session.prompt(turn.state)[0]


def test_one_reflection_scores_each_element_with_buttons_and_stores_it(
    session: ReflectionSession, cases: CaseRepository, store: ReflectionRepository
) -> None:
    case = cases.create("cliënt A")
    turn = session.begin()  # the only open case: no need to ask
    assert turn.state["case_id"] == case.id and "6 korte vragen" in turn.notes[0]
    state = turn.state
    for index, element in enumerate(elements()):
        text, buttons = session.prompt(state)
        assert f"vraag {index + 1} van 6" in text and element.question in text
        assert [choice for _, choice in buttons[:5]] == ["1", "2", "3", "4", "5"]
        assert ("Stoppen", STOP) in buttons
        state = session.advance(state, str([4, 3, 2, 4, 3, 5][index]), None).state
    text, buttons = session.prompt(state)
    assert "notitie" in text and ("Overslaan", SKIP) in buttons
    done = session.advance(state, None, "Ze belde Jan de Vries op 06-12345678 en was boos.")
    assert done.done and "Het laagst scoort nu vertrouwen (2)" in done.state["summary"]
    [stored] = store.history(case.id)
    assert stored.scores == scores(4, 3, 2, 4, 3, 5)
    assert "06-12345678" not in (stored.note or "") and "boos" in (stored.note or "")


def test_free_text_during_a_scale_question_gets_a_friendly_re_ask(
    session: ReflectionSession, cases: CaseRepository
) -> None:
    cases.create("cliënt A")
    state = session.begin().state
    turn = session.advance(state, None, "tja lastig te zeggen")
    assert turn.state == state and "cijfer van 1 tot 5" in turn.notes[0]
    state = session.advance(state, None, "vier").state
    assert state["scores"] == {"doelen": 4}
    back = session.advance(state, BACK, None).state
    assert back["step"] == 0


def test_all_open_cases_in_turn_and_the_drop_warning(
    session: ReflectionSession, cases: CaseRepository, store: ReflectionRepository
) -> None:
    first, second = cases.create("cliënt A"), cases.create("gezin B")
    week = timedelta(days=7)
    now = datetime.now(UTC)
    store.add(second.id, scores(5, 5, 5, 5, 5, 5), None, at=now - 2 * week)
    store.add(second.id, scores(4, 4, 4, 4, 4, 4), None, at=now - week)

    pick = session.begin()
    text, buttons = session.prompt(pick.state)
    assert "Over welke cliënt" in text
    assert {"cliënt A", "gezin B", reflection_text.ALL_BUTTON} <= {title for title, _ in buttons}
    turn = session.advance(pick.state, ALL, None)
    assert "2 open cliënten" in turn.notes[0]
    labels = [turn.state["label"], turn.state["queue"][0][1]]
    assert sorted(labels) == ["cliënt A", "gezin B"]

    values = {"cliënt A": [4, 4, 4, 4, 4, 4], "gezin B": [3, 3, 3, 2, 3, 3]}
    middle = _answer_all(session, turn.state, values[labels[0]])
    assert not middle.done and f"Dan nu {labels[1]}" in middle.notes[-1]
    last = _answer_all(session, middle.state, values[labels[1]], note="kort gesprek aan de deur")
    assert last.done
    everything = "\n".join([*middle.notes, last.state["summary"]])
    assert "De werkrelatie met gezin B is twee keer op rij gedaald" in everything
    assert "De werkrelatie met cliënt A is twee keer" not in everything
    assert len(store.history(first.id)) == 1 and len(store.history(second.id)) == 3
    assert reflection_text.finished_buttons(last.state) == [
        (f"Verloop {label}", cid) for cid, label in last.state["done"]
    ]


def test_stopping_keeps_only_finished_reflections() -> None:
    state = {"flow": reflection.FLOW, "label": "gezin B", "done": [[1, "cliënt A"]]}
    text = reflection_text.stopped(state)
    assert "gezin B is niet bewaard" in text and "cliënt A zijn wel bewaard" in text


# --- storage --------------------------------------------------------------------------------


def test_reflections_are_private_and_go_with_their_case(url: str, cases: CaseRepository) -> None:
    case = cases.create("cliënt A")
    mine = ReflectionRepository(owner="worker-1", url=url)
    theirs = ReflectionRepository(owner="worker-2", url=url)
    assert theirs.add(case.id, scores(1, 1, 1, 1, 1, 1), None) is None
    now = datetime.now(UTC)
    mine.add(case.id, scores(2, 2, 2, 2, 2, 2), None, at=now)
    mine.add(case.id, scores(3, 3, 3, 3, 3, 3), "eerder", at=now - timedelta(days=7))
    assert [r.scores["doelen"] for r in mine.history(case.id)] == [3, 2]  # oldest first
    assert theirs.history(case.id) == [] and theirs.cases() == []
    assert mine.cases() == [(case.id, "cliënt A", 2)]
    with database(url).session() as session:
        session.execute(delete(CaseRow).where(CaseRow.id == case.id))
    assert mine.history(case.id) == [] and mine.cases() == []


def test_chart_reference() -> None:
    assert reflection.chart_case(reflection.chart_ref(12)) == 12
    assert reflection.chart_case("https://example.org/a.png") is None
    assert reflection.chart_case(None) is None


def test_mijngegevens_exports_and_verwijder_erases_the_reflections(url: str, cases: CaseRepository) -> None:
    db = database(url)
    with db.session() as session:
        code = access.create_invite(session, Role.WORKER, "Team", timedelta(hours=1))
    with db.session() as session:
        assert access.redeem(session, code, pseudonym="worker-1", channel="telegram", chat_id=1) is not None
    case = cases.create("cliënt A")
    store = ReflectionRepository(owner="worker-1", url=url)
    store.add(case.id, scores(4, 3, 2, 4, 3, 5), "ging beter")
    with db.session() as session:
        exported = transcript.export(session, access.find_user(session, "worker-1"))
    [reflected] = exported["reflecties"]
    assert reflected["cliënt"] == "cliënt A" and reflected["scores"]["vertrouwen"] == 2
    assert reflected["notitie"] == "ging beter"
    with db.session() as session:
        transcript.erase(session, access.find_user(session, "worker-1"))
    assert store.history(case.id) == [] and store.cases() == []
