"""Recognise crisis messages and give the fixed answer with the help numbers.

A crisis is suicide or self-harm, acute danger, violence, domestic violence or child abuse
that a worker is dealing with now, as opposed to a question about one of these topics
("welke signalen van kindermishandeling zijn er?"). The phrases, the cues that tell the two
apart, the decision rule and the answer texts are in coach/content/crisis.yml.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from enum import Enum
from functools import cache

from spacy.matcher import Matcher
from spacy.tokens import Doc

from coach import content
from coach.nlp import dutch

_LABEL = re.compile(r"\b(?:cli[eë]nte?|gezin|meneer|mevrouw|jongen|meisje|kind|mw|dhr)\.?\s+[A-Z]\b|\[naam\]")
NEGATION_WINDOW = 3


class CrisisKind(Enum):
    SUICIDE = "suicide"
    ACUTE_DANGER = "acute_danger"
    VIOLENCE = "violence"
    DOMESTIC_VIOLENCE = "domestic_violence"
    CHILD_ABUSE = "child_abuse"


def detect(text: str) -> CrisisKind | None:
    """The kind of crisis `text` reports, or None for anything else (including questions)."""
    doc = _parse(text)
    spec = _spec()
    hits: dict[str, list[tuple[str, int, int]]] = {"strong": [], "weak": []}
    cues: set[str] = set()
    idioms: list[tuple[int, int]] = []
    for match_id, start, end in spec.matcher(doc):
        label = doc.vocab.strings[match_id]  # "suicide/strong/3" or "cue/acute/0"
        group, name, _ = label.split("/")
        if group == "cue":
            cues.add(name)
        elif group == "idiom":
            idioms.append((start, end))
        elif not _negated(doc, start, end, spec.literals[label]):
            hits[name].append((group, start, end))
    for strength, found in hits.items():
        hits[strength] = [h for h in found if all(h[2] <= s or h[1] >= e for s, e in idioms)]
    if _LABEL.search(text):
        cues.add("specific")
    acute, now, firsthand = "acute" in cues, "now" in cues, "firsthand" in cues
    specific, generic, knowledge = "specific" in cues, "generic" in cues, "knowledge" in cues
    if hits["strong"]:
        fires = acute or (not generic and (now or firsthand or specific or not knowledge))
        found = hits["strong"]
    else:
        fires = not generic and (firsthand or ((specific or acute or now) and not knowledge))
        found = hits["weak"]
    if not found or not fires:
        return None
    kind = CrisisKind(min((group for group, _, _ in found), key=spec.order.index))
    return _refine(kind, doc, spec, worker_attacked="worker_victim" in cues)


def _refine(kind: CrisisKind, doc: Doc, spec: _Spec, worker_attacked: bool) -> CrisisKind:
    """Violence against a child is child abuse; among household members, domestic violence."""
    if kind not in (CrisisKind.DOMESTIC_VIOLENCE, CrisisKind.VIOLENCE):
        return kind
    words = {t.lower_ for t in doc} | {t.lemma_ for t in doc}
    if words & spec.child_victims or spec.child_by_age.search(doc.text):
        return CrisisKind.CHILD_ABUSE
    if kind is CrisisKind.VIOLENCE and words & spec.household and not worker_attacked:
        return CrisisKind.DOMESTIC_VIOLENCE
    return kind


@cache
def answer(kind: CrisisKind) -> str:
    """The fixed Dutch answer for a crisis of this kind: short enough for a phone screen."""
    data = content.load("crisis")["answer"]
    lines = [data["openings"][kind.value]]
    lines += [data["lines"][key] for key in data["order"][kind.value]]
    if kind.value in data["meldcode_for"]:
        lines += ["", *data["meldcode"]]
    lines += ["", data["after"], data["closing"]]
    return "\n".join(lines)


# --- matching ---------------------------------------------------------------------------


@dataclass(frozen=True)
class _Spec:
    matcher: Matcher
    literals: dict[str, frozenset[str]]  # pattern label -> its literal words (not negations)
    order: tuple[str, ...]  # kinds, most urgent first
    child_victims: frozenset[str]
    household: frozenset[str]
    child_by_age: re.Pattern[str]
    negations: frozenset[str]
    scope_breakers: frozenset[str]
    typo_words: tuple[str, ...]


def _plain(text: str) -> str:
    """Lowercase without accents: "Suïcide" -> "suicide"."""
    decomposed = unicodedata.normalize("NFKD", text.lower())
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


def _token_pattern(element: str) -> dict:
    if element.startswith("~"):
        return {"OP": f"{{0,{int(element[1:])}}}"}
    options = []
    for word in element.split("|"):
        word = _plain(word)
        if word.endswith("*"):
            options.append(re.escape(word[:-1]) + r"\w*")
            continue
        tokens = dutch()(word)
        forms = {word} | ({tokens[0].lemma_} if len(tokens) == 1 else set())
        options += [re.escape(form) for form in sorted(forms)]
    return {"LEMMA": {"REGEX": "^(?:" + "|".join(options) + ")$"}}


@cache
def _spec() -> _Spec:
    data = content.load("crisis")
    matcher = Matcher(dutch().vocab)
    literals: dict[str, frozenset[str]] = {}

    def add(label: str, phrases: list[str]) -> None:
        for n, phrase in enumerate(phrases):
            key = f"{label}/{n}"
            matcher.add(key, [[_token_pattern(e) for e in phrase.split()]])
            literals[key] = frozenset(_plain(w) for e in phrase.split() for w in e.split("|"))

    for kind, spec in data["kinds"].items():
        for strength in ("strong", "weak"):
            add(f"{kind}/{strength}", spec.get(strength, []))
    for cue, phrases in data["cues"].items():
        add(f"cue/{cue}", phrases)
    add("idiom/all", data["idioms"])
    return _Spec(
        matcher=matcher,
        literals=literals,
        order=tuple(data["kinds"]),
        child_victims=frozenset(data["child_victims"]),
        household=frozenset(data["household"]),
        child_by_age=re.compile(data["child_by_age"]),
        negations=frozenset(data["negations"]),
        scope_breakers=frozenset(data["scope_breakers"]),
        typo_words=tuple(data["typo_words"]),
    )


def _parse(text: str) -> Doc:
    doc = dutch()(_plain(text))
    words = _spec().typo_words
    for token in doc:
        # Only words the lemma table does not know can be typos of a key word.
        if len(token.text) >= 6 and token.lemma_ == token.text and token.text not in words:
            near = next((w for w in words if _one_typo(token.text, w)), None)
            if near:
                token.lemma_ = near
    return doc


def _one_typo(a: str, b: str) -> bool:
    """True when a and b differ by one edit: a letter changed, added, dropped or two swapped."""
    if a == b or abs(len(a) - len(b)) > 1:
        return False
    if len(a) == len(b):
        diff = [i for i in range(len(a)) if a[i] != b[i]]
        return len(diff) == 1 or (
            len(diff) == 2
            and diff[1] == diff[0] + 1
            and a[diff[0]] == b[diff[1]]
            and a[diff[1]] == b[diff[0]]
        )
    short, long_ = (a, b) if len(a) < len(b) else (b, a)
    return any(long_[:i] + long_[i + 1 :] == short for i in range(len(long_)))


def _negated(doc: Doc, start: int, end: int, literals: frozenset[str]) -> bool:
    """A negation inside the hit (not part of the phrase) or shortly before it, same clause."""
    spec = _spec()
    if any(t.lower_ in spec.negations and t.lower_ not in literals for t in doc[start:end]):
        return True
    for token in reversed(doc[max(0, start - NEGATION_WINDOW) : start]):
        if token.lower_ in spec.scope_breakers:
            return False
        if token.lower_ in spec.negations:
            return True
    return False
