"""The reflection as a conversation: a state machine over a JSON-able state.

Same shape as coach/flow_session.py (begin / prompt / advance, returning a `Turn`), so it
runs in the same Rasa form as the guided flows (actions/flows.py): pick a case (or all open
cases in turn), one scale question per element, an optional note, then store and tell the
outcome — and go on with the next case when the worker chose all of them.

State: {"flow": "reflectie", "pick": True} while choosing; then
{"flow", "case_id", "label", "step", "scores", "queue", "done"}; finished: {"flow", "done", "summary"}.
"""

from __future__ import annotations

from typing import Any, Protocol

from coach import reflection_text as text
from coach.cases import LabelProblem, clean_label
from coach.flow_session import CASE_PREFIX, MAX_CASE_BUTTONS, Turn
from coach.flow_text import STOP, Buttons
from coach.flows import BACK, SKIP
from coach.reflection import (
    FLOW,
    HIGH,
    LOW,
    Outcome,
    Scores,
    State,
    average,
    dropped_twice,
    elements,
    lowest,
    parse_score,
)
from coach.scrubber import scrub

ALL = "all"  # choice: all open cases, one after the other
MAX_NOTE = 1000


class Cases(Protocol):
    def list(self, include_closed: bool = False) -> list[Any]: ...
    def get(self, case_id: int) -> Any | None: ...
    def find(self, label: str) -> Any | None: ...
    def create(self, label: str) -> Any: ...


class Store(Protocol):
    def add(self, case_id: int, scores: Scores, note: str | None) -> Any: ...
    def scores(self, case_id: int) -> list[Scores]: ...


class ReflectionSession:
    """The reflection as a state machine; same shape as FlowSession (begin/prompt/advance)."""

    def __init__(self, cases: Cases, store: Store) -> None:
        self._cases = cases
        self._store = store

    def begin(self, case_id: int | None = None) -> Turn:
        case = self._cases.get(case_id) if case_id is not None else None
        open_cases = self._cases.list()
        if case is None and len(open_cases) == 1:
            case = open_cases[0]
        if case is None:
            return Turn({"flow": FLOW, "pick": True})
        return Turn(_for_case(case.id, case.label, []), [text.intro(case.label)])

    def prompt(self, state: State) -> tuple[str, Buttons]:
        if state.get("pick"):
            cases = self._cases.list()
            buttons: Buttons = [(c.label, f"{CASE_PREFIX}{c.id}") for c in cases[:MAX_CASE_BUTTONS]]
            if len(cases) > 1:
                buttons.append((text.ALL_BUTTON, ALL))
            return text.pick(bool(cases)), [*buttons, (text.STOP_BUTTON, STOP)]
        return text.prompt(state)

    def advance(self, state: State, choice: str | None, typed: str | None) -> Turn:
        if state.get("pick"):
            return self._pick(state, choice, typed)
        step = int(state["step"])
        if choice == BACK:
            return Turn({**state, "step": max(step - 1, 0)})
        if step < len(elements()):
            score = int(choice) if choice and choice.isdigit() else parse_score(typed)
            if score is None or not LOW <= score <= HIGH:
                return Turn(state, [text.SCALE_HELP])
            scores = {**state["scores"], elements()[step].key: score}
            return Turn({**state, "scores": scores, "step": step + 1})
        if choice == SKIP:
            note = None
        elif typed and typed.strip():
            note = scrub(typed.strip()).text[:MAX_NOTE]
        else:
            return Turn(state, [text.NOTE_HELP])
        return self._store_and_go_on(state, note)

    def _pick(self, state: State, choice: str | None, typed: str | None) -> Turn:
        open_cases = self._cases.list()
        if choice == ALL and open_cases:
            first, *rest = open_cases
            queue = [[c.id, c.label] for c in rest]
            notes = [text.all_in_turn([c.label for c in open_cases]), text.intro(first.label)]
            return Turn(_for_case(first.id, first.label, queue), notes)
        case = None
        if choice and choice.startswith(CASE_PREFIX) and choice[1:].isdigit():
            case = self._cases.get(int(choice[1:]))
        elif typed is not None:
            try:
                label = clean_label(typed)
            except LabelProblem as problem:
                return Turn(state, [str(problem)])
            case = self._cases.find(label) or self._cases.create(label)
        if case is None:
            return Turn(state, [text.PICK_HELP])
        return Turn(_for_case(case.id, case.label, []), [text.intro(case.label)])

    def _store_and_go_on(self, state: State, note: str | None) -> Turn:
        case_id, label, scores = int(state["case_id"]), str(state["label"]), dict(state["scores"])
        earlier = self._store.scores(case_id)
        self._store.add(case_id, scores, note)
        history = [*earlier, scores]
        dropped = dropped_twice(history)
        outcome = Outcome(
            label=label,
            scores=scores,
            previous=average(earlier[-1]) if earlier else None,
            weakest=lowest(scores),
            dropped=dropped,
            trend=tuple(average(s) for s in history[-3:]) if dropped else (),
        )
        done = [*state.get("done", []), [case_id, label]]
        summary = text.outcome(outcome)
        queue = state.get("queue") or []
        if queue:
            (next_id, next_label), *rest = queue
            new_state = {**_for_case(next_id, next_label, rest), "done": done}
            return Turn(new_state, [summary, text.next_case(next_label, len(rest) + 1)])
        return Turn({"flow": FLOW, "done": done, "summary": summary}, done=True)


def _for_case(case_id: int, label: str, queue: list[list[Any]]) -> State:
    return {"flow": FLOW, "case_id": case_id, "label": label, "step": 0, "scores": {}, "queue": queue}
