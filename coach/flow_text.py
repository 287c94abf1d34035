"""Dutch prompts and summaries for the guided flows (short, for a phone screen)."""

from __future__ import annotations

from coach import flows
from coach.flows import BACK, DONE, NEXT, NO, SKIP, YES, State, Step
from coach.sections import render, section

STOP = "!stop"  # the stop button: ends the flow (progress of a case is kept)

Buttons = list[tuple[str, str]]  # (title, choice id or STOP)


def _heading(state: State, step: Step) -> str:
    title = flows.flow_of(state).title
    if not step.position:
        return title
    n, of = step.position
    heading = f"{title} · vraag {n} van {of}"
    if n == 1 and step.group and step.group != title:
        heading += f"\n{step.group}"  # a new series of questions: say what it is about
    return heading


def prompt(state: State) -> tuple[str, Buttons]:
    """The text and buttons for the worker's current step."""
    step = flows.current(state)
    if step is None:
        raise ValueError("the flow is finished; use summary()")
    back: Buttons = [("Terug", BACK)] if state["step"] > 0 else []
    stop: Buttons = [("Stoppen", STOP)]
    if step.kind == "question":
        return f"{_heading(state, step)}\n\n{step.text}", [("Overslaan", SKIP), *back, *stop]
    if step.kind == "yesno":
        return f"{_heading(state, step)}\n\n{step.text}", [
            ("Ja", YES),
            ("Nee", NO),
            ("Overslaan", SKIP),
            *back,
            *stop,
        ]
    if step.kind == "choice":
        return step.text, [*((label, option) for option, label in step.options), *back, *stop]
    if step.kind == "checklist":
        checked = set(state["answers"].get(step.key, []))
        sec = section(step.text)
        marks = [f"{'✅' if i in checked else '▫️'} {item.text}" for i, item in enumerate(sec.items)]
        text = f"{sec.title}\nTik aan wat je ziet; tik nog eens om het weg te halen.\n\n" + "\n".join(marks)
        toggles = [(f"{'✅ ' if int(k[1:]) in checked else ''}{label}", k) for k, label in step.options]
        return text, [*toggles, ("Klaar", DONE), *back, *stop]
    # info
    is_last = flows.progress({**state, "step": state["step"] + 1})[0] >= len(flows.flow_of(state).steps)
    text = render(step.text, step.start, step.stop)
    return text, [("Afronden" if is_last else "Verder", NEXT), *back, *stop]


def _answer_lines(state: State, finished: bool = False) -> list[str]:
    """One line per answer; once the flow is finished, skipped questions are named too."""
    lines: list[str] = []
    answers = state["answers"]
    for step in flows.flow_of(state).steps:
        if step.key not in answers:
            if finished and step.kind in {"question", "yesno"} and not step.when:
                lines.append(f"• {step.text}\n   (overgeslagen)")
            continue
        value = answers[step.key]
        if step.kind == "question":
            lines.append(f"• {step.text}\n   {value}")
        elif step.kind == "yesno":
            lines.append(f"• {step.text} {'ja' if value == YES else 'nee'}")
        elif step.kind == "choice":
            lines.append(f"• {step.text} {dict(step.options).get(value, value)}")
        elif step.kind == "checklist":
            sec = section(step.text)
            chosen = ", ".join(sec.items[i].text for i in value) or "niets aangevinkt"
            lines.append(f"• {sec.title}: {chosen}")
    return lines


def _conclusions(state: State) -> list[str]:
    found: list[str] = []
    steps = flows.flow_of(state).steps
    for end in (s for s in steps if s.conclusion):
        series = [
            s for s in steps if s.kind == "yesno" and s.key.rsplit(".", 1)[0] == end.key.rsplit(".", 1)[0]
        ]
        all_yes = all(state["answers"].get(s.key) == YES for s in series)
        found.append(end.conclusion[0] if all_yes else end.conclusion[1])
    return found


def answers_text(state: State) -> str:
    """The flow's title and what was filled in so far."""
    return "\n".join([f"{flows.flow_of(state).title}:", *_answer_lines(state)])


def summary(state: State, case_label: str | None = None) -> str:
    """What the worker filled in, ready to read back (and to reread later with the case)."""
    flow = flows.flow_of(state)
    heading = f"Klaar: {flow.title}" + (f" voor {case_label}" if case_label else "") + "."
    lines = _answer_lines(state, finished=True)
    if not lines:
        return f"{heading} Je hebt alles doorgelopen."
    parts = [heading, "\n".join(lines), *_conclusions(state)]
    if flow.case:
        parts.append("Je antwoorden zijn bewaard bij deze cliënt.")
    return "\n\n".join(parts)
