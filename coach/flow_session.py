"""Running a guided flow for one worker: pick a flow and a case, resume, advance, finish.

Wraps the pure engine (coach/flows.py) with what needs the worker's cases: choosing or
creating a case by label, resuming stored progress, saving each step, renaming. Answers are
scrubbed of personal details before they are kept anywhere.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol

from coach import flow_text, flows
from coach.cases import LabelProblem, clean_label
from coach.flow_text import STOP, Buttons
from coach.flows import InvalidInput, State
from coach.scrubber import scrub

RENAME = "label"  # the one-question flow that renames a case
CASE_PREFIX = "c"  # choice id of an existing case: "c12"
MAX_CASE_BUTTONS = 8


class CaseLike(Protocol):
    id: int
    label: str
    flows: dict[str, Any]


class Cases(Protocol):
    def list(self, include_closed: bool = False) -> list[Any]: ...
    def get(self, case_id: int) -> Any | None: ...
    def find(self, label: str) -> Any | None: ...
    def create(self, label: str) -> Any: ...
    def save_flow(self, case_id: int, flow_id: str, state: dict[str, Any]) -> None: ...
    def rename(self, case_id: int, label: str) -> Any | None: ...


class Progress(Protocol):
    """Where the worker is in flows that are not about a case."""

    def get(self, flow_id: str) -> dict[str, Any] | None: ...
    def save(self, flow_id: str, state: dict[str, Any]) -> None: ...


@dataclass
class Turn:
    """What to tell the worker after one input, and the new state."""

    state: State
    notes: list[str] = field(default_factory=list)
    done: bool = False


class FlowSession:
    def __init__(self, cases: Cases, progress: Progress | None = None) -> None:
        self._cases = cases
        self._progress = progress

    # --- starting ---------------------------------------------------------------------

    def begin(self, flow_id: str | None, case_id: int | None = None) -> Turn:
        """Start `flow_id` (or let the worker pick one), for `case_id` when it needs a case."""
        if flow_id not in flows.flows():
            return Turn({"pick": "flow"})
        flow = flows.flows()[flow_id]
        needs_case = flow.case or flow_id == RENAME
        case = self._cases.get(case_id) if case_id is not None and needs_case else None
        if case is not None:
            return self._begin_for_case(flow_id, case)
        if needs_case:  # the intro follows once the case is known
            return Turn({"pick": "case", "flow": flow_id})
        stored = self._progress.get(flow_id) if self._progress else None
        if resumed := _resume(flow_id, stored, {}, "Je was hier eerder mee bezig. "):
            return resumed
        return Turn(flows.start(flow_id), [flow.intro] if flow.intro else [])

    def _begin_for_case(self, flow_id: str, case: CaseLike) -> Turn:
        flow = flows.flows()[flow_id]
        base = {"case_id": case.id, "case_label": case.label}
        if flow_id == RENAME:
            return Turn({**flows.start(flow_id), **base})
        note = f"Je was hier eerder mee bezig voor {case.label}. "
        if resumed := _resume(flow_id, case.flows.get(flow_id), base, note):
            return resumed
        intro = f"{flow.title} voor {case.label}. {flow.intro}".strip()
        return Turn({**flows.start(flow_id), **base}, [intro])

    # --- prompting ----------------------------------------------------------------------

    def prompt(self, state: State) -> tuple[str, Buttons]:
        """Text and buttons for where the worker is now."""
        if state.get("pick") == "flow":
            options = [(f.title, f.id) for f in flows.public_flows()]
            return "Waar wil je mee aan de slag?", [*options, ("Stoppen", STOP)]
        if state.get("pick") == "case":
            cases = self._cases.list()[:MAX_CASE_BUTTONS]
            text = "Over welke cliënt gaat het? "
            text += "Kies hieronder, of typ een nieuw label" if cases else "Typ een label"
            text += ", zoals 'cliënt A' of 'gezin B'. Gebruik geen naam."
            return text, [*((c.label, f"{CASE_PREFIX}{c.id}") for c in cases), ("Stoppen", STOP)]
        return flow_text.prompt(state)

    # --- advancing ----------------------------------------------------------------------

    def advance(self, state: State, choice: str | None, text: str | None) -> Turn:
        """Apply the worker's button `choice` or typed `text`."""
        if state.get("pick") == "flow":
            if choice in flows.flows():
                return self.begin(choice)
            return Turn(state, ["Kies een van de knoppen, of tik op 'Stoppen'."])
        if state.get("pick") == "case":
            return self._pick_case(state, choice, text)

        current = flows.current(state)
        if (
            text is not None
            and current is not None
            and current.kind == "question"
            and state["flow"] != RENAME
        ):
            text = scrub(text).text  # a new label is checked by clean_label instead
        try:
            new_state = flows.apply(state, choice=choice, text=text)
        except InvalidInput as problem:
            return Turn(state, [str(problem)])
        done = flows.current(new_state) is None
        self._save(new_state, done)
        return Turn(new_state, done=done)

    def _pick_case(self, state: State, choice: str | None, text: str | None) -> Turn:
        flow_id = state["flow"]
        if choice and choice.startswith(CASE_PREFIX) and choice[1:].isdigit():
            case = self._cases.get(int(choice[1:]))
            if case is not None:
                return self._begin_for_case(flow_id, case)
        try:
            label = clean_label(text or "")
        except LabelProblem as problem:
            return Turn(state, [str(problem)])
        case = self._cases.find(label) or self._cases.create(label)
        return self._begin_for_case(flow_id, case)

    def _save(self, state: State, done: bool) -> None:
        if state["flow"] == RENAME:
            return
        stored = {"step": state["step"], "answers": state["answers"], "done": done}
        if (case_id := state.get("case_id")) is not None:
            self._cases.save_flow(case_id, state["flow"], stored)
        elif self._progress is not None:
            self._progress.save(state["flow"], stored)

    # --- finishing ----------------------------------------------------------------------

    def finish(self, state: State) -> tuple[str, list[str]]:
        """The closing message and the flows to offer next."""
        if state.get("flow") == RENAME:
            return self._rename(state), []
        flow = flows.flow_of(state)
        return flow_text.summary(state, state.get("case_label")), list(flow.next)

    def _rename(self, state: State) -> str:
        typed = state["answers"].get("label")
        if not typed:
            return "Het label blijft zoals het was."
        try:
            label = clean_label(typed)
        except LabelProblem as problem:
            return f"{problem} Het label blijft '{state.get('case_label')}'."
        self._cases.rename(state["case_id"], label)
        return f"Gelukt: '{state.get('case_label')}' heet nu '{label}'."


def _resume(flow_id: str, stored: dict[str, Any] | None, base: dict[str, Any], note: str) -> Turn | None:
    """Pick up an unfinished flow where the worker left it; None if there is nothing to resume."""
    if not stored or stored.get("done") or stored.get("step", 0) <= 0:
        return None
    state = {**flows.start(flow_id, stored.get("answers"), stored["step"]), **base}
    if flows.current(state) is None:
        return None
    n, total = flows.progress(state)
    return Turn(state, [note + f"We gaan verder bij stap {n + 1} van {total}."])
