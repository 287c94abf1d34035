"""Guided flows: steps, skip/back, checklists, yes/no with a conclusion, cases and resuming."""

from __future__ import annotations

from pathlib import Path

import pytest

from coach import answers, flow_text, flows
from coach.flow_session import FlowSession
from coach.flows import BACK, DONE, NEXT, SKIP, YES
from storage.cases import CaseRepository
from storage.progress import ProgressRepository


@pytest.fixture
def cases(tmp_path: Path) -> CaseRepository:
    return CaseRepository(owner="worker-1", url=f"sqlite:///{tmp_path / 'app.db'}")


def test_collecting_signals_asks_the_eight_questions_one_at_a_time() -> None:
    state = flows.start("verzamelen")
    seen = []
    while (step := flows.current(state)) is not None:
        text, buttons = flow_text.prompt(state)
        seen.append(step.text)
        assert f"vraag {len(seen)} van 8" in text
        assert ("Overslaan", SKIP) in buttons
        state = flows.apply(state, text=f"antwoord {len(seen)}")
    assert seen[0] == "Van wie komt het signaal?"
    assert seen[-1] == "Weet de betrokkene (de beoogde cliënt) van de melding?"
    assert "antwoord 8" in flow_text.summary(state, "cliënt A")


def test_skip_and_back() -> None:
    state = flows.apply(flows.start("verzamelen"), choice=SKIP)
    assert flows.current(state).position == (2, 8)
    state = flows.apply(state, choice=BACK)
    assert flows.current(state).position == (1, 8)
    with pytest.raises(flows.InvalidInput):
        flows.apply(state, text="   ")


def test_risk_factor_checklist_follows_the_age_group() -> None:
    state = flows.start("risicofactoren")
    state = flows.apply(state, choice="t1")
    state = flows.apply(state, choice="t8")
    state = flows.apply(state, choice="t1")  # tapped twice: off again
    state = flows.apply(state, choice=DONE)
    state = flows.apply(state, text="een oudere")
    assert flows.current(state).text == "signalen.ouderen"
    state = flows.apply(flows.apply(state, choice="t2"), choice=DONE)
    assert flows.current(state) is None
    text = flow_text.summary(state, "cliënt B")
    assert "Financiële problemen" in text and "Stille armoede" in text and "Overlast" not in text


def test_proportionality_check_concludes() -> None:
    state = flows.start("zes_stappen")
    while (step := flows.current(state)) is not None:
        if step.kind == "info":
            state = flows.apply(state, choice=NEXT)
        elif step.kind == "question":
            state = flows.apply(state, text="huisbezoek met de huisarts")
        else:
            state = flows.apply(state, choice=YES if step.position != (4, 4) else "nee")
    assert "Niet alle vragen zijn met ja beantwoord" in flow_text.summary(state)


def test_first_contact_offers_the_guidelines_a_few_at_a_time() -> None:
    state = flows.start("eerste_contact")
    text, _ = flow_text.prompt(state)
    assert "1. Wees duidelijk en direct" in text and "4." not in text
    state = flows.apply(state, choice=NEXT)
    assert "4. Onderzoek de oorzaken" in flow_text.prompt(state)[0]


def test_a_case_flow_asks_for_a_label_stores_answers_and_resumes(cases: CaseRepository) -> None:
    session = FlowSession(cases)
    turn = session.begin("verzamelen")
    assert turn.state["pick"] == "case"
    assert "label" in session.prompt(turn.state)[0]
    turn = session.advance(turn.state, None, "cliënt A")
    assert turn.state["case_label"] == "cliënt A"
    turn = session.advance(turn.state, None, "de buurvrouw")
    turn = session.advance(turn.state, None, "ze zegt dat het stinkt")
    # the worker stops; later the flow resumes at question 3 with the earlier answers
    case = cases.find("cliënt A")
    assert case is not None
    again = session.begin("verzamelen", case.id)
    assert flows.current(again.state).position == (3, 8)
    assert "verder bij stap 3" in again.notes[0]
    assert again.state["answers"]["voortraject.signalen_verzamelen.0"] == "de buurvrouw"


def test_a_reading_flow_resumes_where_the_worker_stopped(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'app.db'}"
    session = FlowSession(CaseRepository("worker-1", url), ProgressRepository("worker-1", url))
    turn = session.begin("eerste_contact")
    turn = session.advance(turn.state, NEXT, None)
    turn = session.advance(turn.state, NEXT, None)
    # stopped here; the next time the flow starts at the guidelines not yet read
    again = session.begin("eerste_contact")
    assert again.state["step"] == 2
    assert "verder bij stap 3" in again.notes[0]
    # another worker starts at the beginning
    other = FlowSession(CaseRepository("worker-2", url), ProgressRepository("worker-2", url))
    assert other.begin("eerste_contact").state["step"] == 0
    # a finished flow starts afresh
    while not turn.done:
        turn = session.advance(turn.state, NEXT, None)
    assert session.begin("eerste_contact").state["step"] == 0


def test_a_label_with_a_name_is_refused(cases: CaseRepository) -> None:
    session = FlowSession(cases)
    turn = session.advance(session.begin("deur_open").state, None, "meneer Jansen")
    assert turn.state["pick"] == "case"
    assert "zonder naam" in turn.notes[0]


def test_renaming_a_case(cases: CaseRepository) -> None:
    case = cases.create("cliënt A")
    session = FlowSession(cases)
    turn = session.advance(session.begin("label", case.id).state, None, "gezin C")
    assert turn.done
    assert "heet nu 'gezin C'" in session.finish(turn.state)[0]
    assert cases.get(case.id).label == "gezin C"


def test_cases_are_private_to_their_owner(cases: CaseRepository, tmp_path: Path) -> None:
    case = cases.create("cliënt A")
    other = CaseRepository(owner="worker-2", url=f"sqlite:///{tmp_path / 'app.db'}")
    assert other.get(case.id) is None and other.list() == []


def test_every_faq_key_has_an_answer_with_a_source_and_a_next_flow() -> None:
    for key in answers.question_keys():
        found = answers.answer(key)
        assert found is not None and "Bron: " in found.text
        assert found.flow in flows.flows() or found.flow == "strategie"


def test_every_flow_and_section_renders() -> None:
    for flow in flows.flows().values():
        assert flow.steps
        for nxt in flow.next:
            assert nxt in flows.flows() or nxt == "strategie"


def test_the_domain_has_exactly_one_response_per_faq_key() -> None:
    import yaml

    domain = yaml.safe_load(Path("domain/faq.yml").read_text())
    keys = {name.split("/", 1)[1] for name in domain["responses"]}
    assert keys == set(answers.question_keys())
