"""Case labels: how a worker refers to a client without personal details."""

from __future__ import annotations

from coach.scrubber import scrub

MAX_LABEL = 40

LABEL_HINT = "Gebruik een label zonder naam of andere gegevens, zoals 'cliënt A', 'gezin B' of 'meneer X'."


class LabelProblem(Exception):
    """The label can't be used; the message says why, in Dutch."""


def clean_label(text: str) -> str:
    """A usable label, or LabelProblem when it is empty, too long or contains personal details."""
    label = " ".join(text.split())
    if not label or label.startswith("/"):
        raise LabelProblem(f"Typ een label voor je cliënt. {LABEL_HINT}")
    if len(label) > MAX_LABEL:
        raise LabelProblem(f"Dat label is te lang (meer dan {MAX_LABEL} tekens). {LABEL_HINT}")
    if scrub(label).found:
        raise LabelProblem(f"Dat label lijkt persoonsgegevens te bevatten. {LABEL_HINT}")
    return label
