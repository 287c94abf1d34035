"""Guided flows: a worker walks through content step by step (coach/content/flows.yml).

Pure state machine: `start` makes a state, `apply` takes the worker's input and returns the
next state. The state is a plain JSON-able dict, so Rasa can keep it in a slot and a case
can store it to resume later. Rendering to Dutch text lives in coach/flow_text.py.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cache
from typing import Any

from coach import content
from coach.sections import section

# Reserved choices for navigation; anything else is an option id or a toggle "t<index>".
SKIP, BACK, NEXT, DONE = "skip", "back", "next", "done"
YES, NO = "ja", "nee"
TOGGLE_PREFIX = "t"

State = dict[str, Any]


@dataclass(frozen=True)
class Step:
    kind: str  # question | info | choice | checklist | yesno
    key: str  # where the answer is stored; for info steps just an id
    text: str  # the question, or for info steps the section ref
    options: tuple[tuple[str, str], ...] = ()  # (id, label) for choices and checklists
    when: tuple[tuple[str, str], ...] = ()  # only if these earlier answers were given
    position: tuple[int, int] | None = None  # (n, of) within a series of questions
    start: int = 0  # for info steps: which items of the section to show
    stop: int | None = None
    conclusion: tuple[str, str] | None = None  # yes/no series: (all yes, otherwise)
    group: str = ""  # title of the section a series of questions comes from


@dataclass(frozen=True)
class Flow:
    id: str
    title: str
    intro: str
    case: bool
    internal: bool
    steps: tuple[Step, ...] = field(default_factory=tuple)
    next: tuple[str, ...] = ()  # flows to offer when this one is finished


def _as_spec(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {"section": value}


def _expand(kind: str, value: Any) -> list[Step]:
    """Turn one step of flows.yml into the concrete steps the worker sees."""
    spec = _as_spec(value)
    when = tuple(sorted((spec.get("when") or {}).items()))
    if kind in ("question", "choose"):
        options = tuple((str(k), v) for k, v in (spec.get("options") or {}).items())
        return [Step("choice" if kind == "choose" else "question", spec["key"], spec["text"], options, when)]
    ref = spec["section"]
    sec = section(ref)
    if kind in ("ask", "yesno"):
        n = len(sec.items)
        series = [
            Step(
                "question" if kind == "ask" else "yesno",
                f"{ref}.{i}",
                item.text,
                when=when,
                position=(i + 1, n),
                group=sec.title,
            )
            for i, item in enumerate(sec.items)
        ]
        if kind == "yesno":
            last = series[-1]
            conclusion = (spec["all_yes"], spec["otherwise"])
            series[-1] = Step(
                last.kind, last.key, last.text, when=when, position=last.position, conclusion=conclusion
            )
        return series
    if kind == "check":
        options = tuple((f"{TOGGLE_PREFIX}{i}", item.text) for i, item in enumerate(sec.items))
        return [Step("checklist", ref, ref, options, when)]
    if kind == "show":
        per = int(spec.get("per") or len(sec.items) or 1)
        return [
            Step("info", f"{ref}@{start}", ref, when=when, start=start, stop=start + per)
            for start in range(0, max(len(sec.items), 1), per)
        ]
    raise ValueError(f"unknown step kind {kind!r}")


@cache
def flows() -> dict[str, Flow]:
    result: dict[str, Flow] = {}
    for flow_id, spec in content.load("flows")["flows"].items():
        steps: list[Step] = []
        for raw in spec["steps"]:
            ((kind, value),) = raw.items()
            steps.extend(_expand(kind, value))
        result[flow_id] = Flow(
            id=flow_id,
            title=spec["title"],
            intro=spec.get("intro", ""),
            case=bool(spec.get("case")),
            internal=bool(spec.get("internal")),
            steps=tuple(steps),
            next=tuple(spec.get("next", ())),
        )
    return result


def public_flows() -> list[Flow]:
    """The flows a worker can start from the menu (not internal helpers like renaming)."""
    return [flow for flow in flows().values() if not flow.internal]


def _applies(step: Step, answers: dict[str, Any]) -> bool:
    return all(answers.get(key) == value for key, value in step.when)


def _next_index(flow: Flow, answers: dict[str, Any], after: int) -> int:
    index = after + 1
    while index < len(flow.steps) and not _applies(flow.steps[index], answers):
        index += 1
    return index


def _previous_index(flow: Flow, answers: dict[str, Any], before: int) -> int:
    index = before - 1
    while index >= 0 and not _applies(flow.steps[index], answers):
        index -= 1
    return max(index, 0)


def start(flow_id: str, answers: dict[str, Any] | None = None, step: int = 0) -> State:
    """A new state for `flow_id`, optionally resuming earlier answers at `step`."""
    flow = flows()[flow_id]
    answers = dict(answers or {})
    index = (
        step
        if step < len(flow.steps) and _applies(flow.steps[step], answers)
        else _next_index(flow, answers, step)
    )
    return {"flow": flow_id, "step": index, "answers": answers}


def flow_of(state: State) -> Flow:
    return flows()[state["flow"]]


def current(state: State) -> Step | None:
    """The step the worker is on, or None when the flow is finished."""
    flow = flow_of(state)
    return flow.steps[state["step"]] if state["step"] < len(flow.steps) else None


def progress(state: State) -> tuple[int, int]:
    """(steps done, steps in total) — for "3 van 8" in case overviews."""
    return min(state["step"], len(flow_of(state).steps)), len(flow_of(state).steps)


class InvalidInput(Exception):
    """The input doesn't fit the current step; the message says why, in Dutch."""


def apply(state: State, choice: str | None = None, text: str | None = None) -> State:
    """The state after the worker's button `choice` or typed `text` on the current step."""
    step = current(state)
    if step is None:
        return state
    flow = flow_of(state)
    answers = dict(state["answers"])
    index = state["step"]

    if choice == BACK:
        return {**state, "step": _previous_index(flow, answers, index)}
    if choice == SKIP and step.kind in ("question", "yesno", "choice"):
        answers.pop(step.key, None)
    elif step.kind == "info":
        if choice not in (NEXT, None) and text is None:
            raise InvalidInput("Tik op 'Verder' om door te gaan, of op 'Terug'.")
    elif step.kind == "question":
        if choice is not None or not (text or "").strip():
            raise InvalidInput("Typ je antwoord, of tik op 'Overslaan'.")
        answers[step.key] = text.strip()
    elif step.kind == "yesno":
        value = choice or _yes_no(text)
        if value not in (YES, NO):
            raise InvalidInput("Kies 'Ja' of 'Nee', of tik op 'Overslaan'.")
        answers[step.key] = value
    elif step.kind == "choice":
        valid = dict(step.options)
        value = choice if choice in valid else _match_label(text, step.options)
        if value is None:
            raise InvalidInput("Kies een van de knoppen, of tik op 'Overslaan'.")
        answers[step.key] = value
    elif step.kind == "checklist":
        checked = list(answers.get(step.key, []))
        if choice == DONE:
            answers[step.key] = checked
        elif choice and choice.startswith(TOGGLE_PREFIX) and choice in dict(step.options):
            item = int(choice[len(TOGGLE_PREFIX) :])
            checked = sorted(set(checked) ^ {item})
            return {**state, "answers": {**answers, step.key: checked}}
        else:
            raise InvalidInput("Tik op wat past, en daarna op 'Klaar'.")
    return {**state, "answers": answers, "step": _next_index(flow, answers, index)}


def _yes_no(text: str | None) -> str | None:
    word = (text or "").strip().lower().rstrip("!.")
    if word in {"ja", "j", "yes", "jazeker", "klopt", "zeker"}:
        return YES
    if word in {"nee", "n", "no", "nope", "niet"}:
        return NO
    return None


def _match_label(text: str | None, options: tuple[tuple[str, str], ...]) -> str | None:
    typed = (text or "").strip().lower()
    if not typed:
        return None
    for option_id, label in options:
        if typed in (option_id.lower(), label.lower()) or typed in label.lower().split():
            return option_id
    return None
