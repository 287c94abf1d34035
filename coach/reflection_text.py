"""Dutch texts for the reflection on the working relationship (short, for a phone screen)."""

from __future__ import annotations

from coach import content
from coach.answers import _render_ref as render_ref  # the one renderer of content refs
from coach.flow_text import STOP, Buttons
from coach.flows import BACK, SKIP
from coach.reflection import HIGH, LOW, Element, Outcome, State, average, elements
from coach.sections import source_line

TITLE = "Reflectie op de werkrelatie"
ALL_BUTTON = "Alle open cliënten na elkaar"
STOP_BUTTON = "Stoppen"
SKIP_BUTTON = "Overslaan"
CHART_BUTTON = "Bekijk het verloop"
PICK_HELP = "Kies een cliënt met de knoppen, of typ het label."
NOTE_HELP = "Typ een korte notitie, of tik op 'Overslaan'."
STRATEGY_PREFIX = "strategy:"


def _data() -> dict:
    return content.load("reflectie")


def scale_hint() -> str:
    scale = _data()["scale"]
    return f"{LOW} = {scale['low']} · {HIGH} = {scale['high']}"


SCALE_HELP = (
    "Geef een cijfer van 1 tot 5 met de knoppen hieronder (of typ het cijfer). "
    "Wil je stoppen? Tik op 'Stoppen'."
)


def intro(label: str) -> str:
    return f"{TITLE} met {label}. {_data()['intro']}"


def pick(has_cases: bool) -> str:
    if has_cases:
        return f"{TITLE}. Over welke cliënt wil je reflecteren? Kies hieronder, of typ een ander label."
    return (
        "Je hebt nog geen open cliënten om op te reflecteren. Typ een label om er een te beginnen, "
        "zoals 'cliënt A' of 'gezin B' (geen naam), of tik op 'Stoppen'."
    )


def all_in_turn(labels: list[str]) -> str:
    return f"We lopen je {len(labels)} open cliënten na elkaar langs: {', '.join(labels)}."


def next_case(label: str, left: int) -> str:
    more = "" if left == 1 else f" (nog {left} te gaan)"
    return f"Dan nu {label}{more}."


def prompt(state: State) -> tuple[str, Buttons]:
    """The question (or the note) for the worker's current step."""
    step = int(state["step"])
    label = state["label"]
    back: Buttons = [("Terug", BACK)] if step > 0 else []
    stop: Buttons = [(STOP_BUTTON, STOP)]
    total = len(elements())
    if step >= total:
        text = (
            f"Wil je nog iets kwijt over de werkrelatie met {label}? "
            "Typ een korte notitie (zonder namen), of tik op 'Overslaan'."
        )
        return text, [(SKIP_BUTTON, SKIP), *back, *stop]
    element = elements()[step]
    scale = _data()["scale"]
    heading = f"{label} · vraag {step + 1} van {total} · {element.label}"
    text = f"{heading}\n\n{element.question}\n\n{scale_hint()}"
    scores: Buttons = [
        (f"{n} · {scale['low']}" if n == LOW else f"{n} · {scale['high']}" if n == HIGH else str(n), str(n))
        for n in range(LOW, HIGH + 1)
    ]
    return text, [*scores, *back, *stop]


def _number(value: float) -> str:
    return f"{value:.1f}".replace(".", ",")


def tip(element: Element) -> str:
    """The lead sentence and the content it points to, with that content's source."""
    if element.tip_ref.startswith(STRATEGY_PREFIX):
        strategy = content.strategies()[element.tip_ref.removeprefix(STRATEGY_PREFIX)]
        lines = [*strategy.means, *(f"Let op: {line}" for line in strategy.watch)]
        body = strategy.name + "\n" + "\n".join(f"• {line}" for line in lines)
        source = strategy.source
    else:
        body, source = render_ref(element.tip_ref)
    return f"Tip: {element.tip_lead}\n\n{body}\n\n{source_line(source)}"


def together() -> str:
    spec = _data()["together"]
    return f"{spec['text']}\n{source_line(content.source_title(spec['source']))}"


def drop_warning(label: str, trend: tuple[float, ...]) -> str:
    spec = _data()["drop"]
    text = spec["text"].format(label=label, trend=" → ".join(_number(v) for v in trend))
    return f"⚠️ {text}\n{source_line(content.source_title(spec['source']))}"


def outcome(result: Outcome) -> str:
    """What the worker reads after one reflection."""
    lines = [f"• {e.label}: {result.scores[e.key]}" for e in elements() if e.key in result.scores]
    now = average(result.scores)
    trend = f"Gemiddeld {_number(now)}"
    if result.previous is not None:
        trend += f" (vorige keer {_number(result.previous)})"
    weakest = result.weakest
    parts = [
        f"Bewaard: je reflectie op {result.label}.\n" + "\n".join(lines) + f"\n{trend}.",
        f"Het laagst scoort nu {weakest.label.lower()} ({result.scores[weakest.key]}).\n{tip(weakest)}",
        together(),
    ]
    if result.dropped:
        parts.append(drop_warning(result.label, result.trend))
    return "\n\n".join(parts)


def stopped(state: State) -> str:
    done = state.get("done") or []
    kept = f" Je reflecties op {', '.join(label for _, label in done)} zijn wel bewaard." if done else ""
    return f"De reflectie op {state.get('label', 'deze cliënt')} is niet bewaard.{kept}"


def finished_buttons(state: State) -> list[tuple[str, int]]:
    """(button title, case id) for the chart of each case reflected on."""
    done = state.get("done") or []
    if len(done) == 1:
        return [(CHART_BUTTON, int(done[0][0]))]
    return [(f"Verloop {label}", int(case_id)) for case_id, label in done]


def chart_caption(label: str, count: int) -> str:
    times = "1 reflectie" if count == 1 else f"{count} reflecties"
    return f"Zo ontwikkelt de werkrelatie met {label} zich ({times}). Per onderdeel een lijn; 5 is het best."


def no_reflections(label: str | None = None) -> str:
    about = f" op {label}" if label else ""
    return f"Je hebt nog geen reflecties{about}. Na je eerste reflectie laat ik het verloop zien."


PICK_CHART = "Van welke cliënt wil je het verloop zien?"
