from __future__ import annotations

import pytest

from coach.input_check import MAX_CHARS, InputProblem, check


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("", InputProblem.EMPTY),
        ("   \n\t ", InputProblem.EMPTY),
        (None, InputProblem.EMPTY),
        ("a" * (MAX_CHARS + 1), InputProblem.TOO_LONG),
        ("😀😀🙈", InputProblem.NO_WORDS),
        ("?!... 123", InputProblem.NO_WORDS),
        ("hoi", None),
        ("wat kun je? 🙂", None),
        ("/ask_strategy", None),
        ("é", None),
    ],
)
def test_check(text: str | None, problem: InputProblem | None) -> None:
    assert check(text) is problem
