"""Reflecting on the working relationship: six elements rated 1-5, per case, over time.

Pure domain logic (no Rasa, no Telegram, no database):
- `elements()` — the questions in order, from coach/content/reflectie.yml;
- `lowest()` — the element that needs attention first;
- `dropped_twice()` — the "dropped twice in a row" rule;
- `Outcome` — what a finished reflection tells the worker.
The conversation itself is coach/reflection_session.py; the Dutch texts coach/reflection_text.py.

"Dropped twice in a row" is defined on the AVERAGE of the six scores of each reflection: the
case's last three reflections have strictly decreasing averages (a > b > c). One element
dipping while others rise is ordinary; the whole relationship sliding twice is a signal.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from typing import Any

from coach import content

FLOW = "reflectie"  # the `flow` of a reflection state (also what the transcript records)
LOW, HIGH = 1, 5
CHART_PREFIX = "chart:"  # image reference for "the chart of case N", drawn when it is sent

State = dict[str, Any]
Scores = dict[str, int]

_WORDS = {"een": 1, "één": 1, "twee": 2, "drie": 3, "vier": 4, "vijf": 5}
_NUMBER = re.compile(r"^\s*([1-5])(?:\s*(?:/|van|uit)\s*5)?\s*[.!]?\s*$")


@dataclass(frozen=True)
class Element:
    key: str
    label: str  # short, for the chart and the summary
    question: str
    tip_lead: str
    tip_ref: str  # "file.section[...]" or "strategy:<key>"


@cache
def elements() -> tuple[Element, ...]:
    """The elements in the order they are asked."""
    return tuple(
        Element(key, spec["label"], spec["question"], spec["tip"]["lead"], spec["tip"]["ref"])
        for key, spec in content.load("reflectie")["elements"].items()
    )


def element(key: str) -> Element:
    return next(e for e in elements() if e.key == key)


def average(scores: Scores) -> float:
    values = [v for v in scores.values() if isinstance(v, int)]
    return sum(values) / len(values) if values else 0.0


def lowest(scores: Scores) -> Element:
    """The lowest-scored element; on a tie the one asked first."""
    rated = [e for e in elements() if e.key in scores]
    if not rated:
        raise ValueError("no scores")
    return min(rated, key=lambda e: scores[e.key])


def dropped_twice(history: list[Scores]) -> bool:
    """True when the averages of the last three reflections (oldest first) strictly decrease."""
    if len(history) < 3:
        return False
    a, b, c = (average(s) for s in history[-3:])
    return a > b > c


def parse_score(text: str | None) -> int | None:
    """A typed score: "4", "4/5", "vier"; None if it isn't one."""
    typed = (text or "").strip().lower()
    if typed in _WORDS:
        return _WORDS[typed]
    match = _NUMBER.match(typed)
    return int(match.group(1)) if match else None


def chart_ref(case_id: int) -> str:
    return f"{CHART_PREFIX}{case_id}"


def chart_case(image: str | None) -> int | None:
    """The case id of a chart reference, else None (an ordinary image URL)."""
    if not image or not image.startswith(CHART_PREFIX):
        return None
    raw = image.removeprefix(CHART_PREFIX)
    return int(raw) if raw.isdigit() else None


def is_reflection(state: State | None) -> bool:
    return bool(state) and state.get("flow") == FLOW  # type: ignore[union-attr]


def waits_for_text(state: State) -> bool:
    """Whether the worker is expected to type (a case label or the note), not tap."""
    return bool(state.get("pick")) or state.get("step") == len(elements())


@dataclass(frozen=True)
class Outcome:
    """What one finished reflection tells the worker."""

    label: str
    scores: Scores
    previous: float | None  # the average last time, if there was a last time
    weakest: Element
    dropped: bool
    trend: tuple[float, ...]  # the averages of the last three, when it dropped
