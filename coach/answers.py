"""Answers to free questions, rendered from the content (coach/content/questions.yml)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache

from coach import content
from coach.sections import bullet_lines, section, source_line

_REF = re.compile(r"^(?P<ref>[\w.]+)(?:\[(?P<items>[\d,\s]+)\])?$")


@dataclass(frozen=True)
class Answer:
    text: str
    flow: str  # the flow (or "strategie") to offer as the next step


@cache
def question_keys() -> tuple[str, ...]:
    return tuple(content.load("questions")["questions"])


def _render_ref(raw: str) -> tuple[str, str]:
    """(text, source title) for a ref such as "contactlegging.richtlijnen[0,1]"."""
    match = _REF.match(raw)
    if match is None:
        raise ValueError(f"bad content ref {raw!r}")
    sec = section(match["ref"])
    if match["items"] is None:
        body = "\n\n".join(p for p in (sec.intro, bullet_lines(sec), sec.note) if p)
    else:
        picked = [int(i) for i in match["items"].split(",")]
        body = "\n".join(f"• {sec.items[i].text}" for i in picked)
    return f"{sec.title}\n{body}", sec.source


def answer(key: str) -> Answer | None:
    """The answer for a faq key, with one short line naming the documents used."""
    spec = content.load("questions")["questions"].get(key)
    if spec is None:
        return None
    parts = [spec["lead"]] if spec.get("lead") else []
    sources: list[str] = [content.source_title(spec["lead_source"])] if spec.get("lead_source") else []
    for ref in spec["refs"]:
        text, source = _render_ref(ref)
        parts.append(text)
        if source not in sources:
            sources.append(source)
    parts.append(source_line(*sources))
    return Answer("\n\n".join(parts), spec["flow"])
