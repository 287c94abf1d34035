"""Recognise crisis messages and give the fixed answer with the help numbers.

A crisis is suicide or self-harm, acute danger, a medical emergency, violence, domestic
violence or child abuse that a worker is dealing with now, as opposed to a question about one
of these topics ("welke signalen van kindermishandeling zijn er?") or a problem in the past
("vroeger was er huiselijk geweld"). The word classes, concept lexicons, the combinations of
concepts that make a crisis (frames), the cues that tell a real case from a question, the
decision rule and the answer texts are all in coach/content/crisis.yml.

The rules no longer decide alone: `detect` asks the classifier in coach/crisis_model.py,
which reads the wording and the cues the rules find (`signals`); the rules still give the
kind. `rules_detect` is the rules' own verdict.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from enum import Enum
from functools import cache, lru_cache
from typing import Any

from spacy.matcher import Matcher
from spacy.tokens import Doc

from coach import content
from coach.nlp import dutch

# A labelled client ("cliënt A", "[naam]"), or a message that opens with "cliënt" (no article).
_LABEL = re.compile(
    r"\b(?:cli[eë]nte?|gezin|meneer|mevrouw|jongen|meisje|kind|mw|dhr)\.?\s+[A-Z]\b|\[naam\]|^\s*[Cc]li[eë]nte?\b"
)
# A yes/no or wh-question about a topic ("is een kind dat stil is altijd mishandeld?"): the
# message opens with a verb or question word and ends with a question mark.
_QUESTION = re.compile(
    r"^\s*(?:is|zijn|moet|moeten|mag|mogen|kan|kun|kunnen|wat|hoe|welke|wanneer|waarom|waar)\b.*\?\s*$",
    re.IGNORECASE | re.DOTALL,
)
NEGATION_WINDOW = 3  # words before a hit in which a negation counts
NEGATION_AFTER = 3  # words after it

# How much a hit says on its own: a phrase describing an event, a frame (concepts that occur
# together), or a phrase that only names the topic.
STRONG, FRAME, WEAK = 0, 1, 2
_TIERS = {"strong": STRONG, "frames": FRAME, "weak": WEAK}

Span = tuple[int, int]


class CrisisKind(Enum):
    SUICIDE = "suicide"
    ACUTE_DANGER = "acute_danger"
    MEDICAL = "medical"
    VIOLENCE = "violence"
    DOMESTIC_VIOLENCE = "domestic_violence"
    CHILD_ABUSE = "child_abuse"


@dataclass(frozen=True)
class _Hit:
    kind: str
    tier: int
    spans: tuple[Span, ...]


@dataclass(frozen=True)
class Assessment:
    kind: CrisisKind | None = None  # a crisis: the fixed crisis answer, at once
    possible: bool = False  # maybe one: the help numbers in one line, with the normal answer
    likely: CrisisKind | None = None  # for a possible one: the kind it would most likely be


def assess(text: str) -> Assessment:
    """How likely `text` reports a crisis, in two tiers (see `coach.crisis_model.assess`): a
    classifier trained on the labelled messages weighs the wording and the cues the rules find."""
    from coach import crisis_model  # it imports this module for the rule signals

    return crisis_model.assess(text)


def detect(text: str) -> CrisisKind | None:
    """The kind of crisis `text` reports, or None for anything else (including questions)."""
    return assess(text).kind


def rules_detect(text: str) -> CrisisKind | None:
    """The verdict of the hand-written rules alone."""
    return _analyse(text).found_kind


def explain(text: str) -> str:
    """One line on why the rules do or do not see a crisis in `text`, for tuning the lexicons."""
    found = _analyse(text).found
    if not found:
        return "no crisis"
    kind, hit, cues = found
    tier = {STRONG: "phrase", FRAME: "frame", WEAK: "topic word"}[hit.tier]
    return f"{kind.value} ({tier}; cues: {', '.join(sorted(cues)) or 'none'})"


@dataclass(frozen=True)
class _Analysis:
    found: tuple[CrisisKind, _Hit, set[str]] | None  # the rules' verdict
    hits: tuple[_Hit, ...]  # every hit outside figures of speech and the past
    cues: frozenset[str]  # the cues found, "past" included

    @property
    def found_kind(self) -> CrisisKind | None:
        return self.found[0] if self.found else None


def signals(text: str) -> tuple[CrisisKind | None, dict[str, float]]:
    """The rules' verdict and the evidence behind it, as named features: the cues found
    (which the classifier uses), which kinds and tiers were hit, and the verdict and its tier."""
    result = _analyse(text)
    feats = {f"cue:{cue}": 1.0 for cue in result.cues}
    for hit in result.hits:
        feats[f"hit:{hit.tier}"] = 1.0
        feats[f"kind:{hit.kind}"] = 1.0
    if result.found:
        feats["rules:fire"] = 1.0
        feats[f"rules:fire:{result.found[1].tier}"] = 1.0
    if text.rstrip().endswith("?"):
        feats["question_mark"] = 1.0
    return result.found_kind, feats


@lru_cache(maxsize=4096)  # the classifier asks for the same message's signals again
def _analyse(text: str) -> _Analysis:
    doc = _parse(text)
    spec = _spec()
    phrases: list[_Hit] = []
    concepts: dict[str, list[Span]] = {}
    cue_spans: dict[str, list[Span]] = {}
    idioms: list[Span] = []
    for match_id, start, end in spec.matcher(doc):
        label = doc.vocab.strings[match_id]  # "phrase/suicide/strong/3", "concept/weapon/0", ...
        group, name, *rest = label.split("/")
        if group == "cue":
            cue_spans.setdefault(name, []).append((start, end))
        elif group == "idiom":
            idioms.append((start, end))
        elif _negated(doc, start, end, spec.literals[label]):
            continue
        elif group == "concept":
            concepts.setdefault(name, []).append((start, end))
        else:
            phrases.append(_Hit(name, STRONG if rest[0] == "strong" else WEAK, ((start, end),)))
    age = spec.child_by_age.search(doc.text)
    if age and (span := doc.char_span(age.start(), age.end(), alignment_mode="expand")) is not None:
        concepts.setdefault("child", []).append((span.start, span.end))
        cue_spans.setdefault("specific", []).append((span.start, span.end))

    # Hits inside a figure of speech or in a stretch of text about the past do not count.
    past = _past_tokens(doc, cue_spans)

    def keep(span: Span) -> bool:
        return not _overlaps(span, idioms) and span[0] not in past

    phrases = [h for h in phrases if keep(h.spans[0])]
    concepts = {name: kept for name, spans in concepts.items() if (kept := [s for s in spans if keep(s)])}

    cues = {name for name in cue_spans if name != "past"}
    if "reported_question" in cues:  # "hij vroeg welke trein ...": the client asks, not the worker
        cues.discard("knowledge")
    if _LABEL.search(text):
        cues.add("specific")
    if _QUESTION.match(text):
        cues.add("knowledge")
    hits = phrases + _concept_hits(concepts, spec)
    all_cues = frozenset(cues | ({"past"} & cue_spans.keys()))
    passing = [h for h in hits if _fires(h, cues, spec)]
    if not passing:
        return _Analysis(None, tuple(hits), all_cues)
    # The kind: the most urgent among strong phrases and frames, else among weak hits.
    tier = FRAME if min(h.tier for h in passing) <= FRAME else WEAK
    hit = min((h for h in passing if h.tier <= tier), key=lambda h: spec.order.index(h.kind))
    words = {t.lower_ for t in doc} | {t.lemma_ for t in doc}
    kind = _refine(CrisisKind(hit.kind), words, "child" in concepts, spec, "worker_victim" in cues)
    return _Analysis((kind, hit, cues), tuple(hits), all_cues)


def _concept_hits(concepts: dict[str, list[Span]], spec: _Spec) -> list[_Hit]:
    """A frame holds when each of its concepts has a hit, all on different words. An `alone`
    concept names the topic by itself, like a weak phrase."""
    hits = []
    for kind, frames in spec.frames.items():
        for frame in frames:
            chosen = _assign(frame, concepts, [])
            if chosen is not None:
                hits.append(_Hit(kind, FRAME, tuple(chosen)))
    for kind, names in spec.alone.items():
        hits += [_Hit(kind, WEAK, (span,)) for name in names for span in concepts.get(name, [])[:1]]
    return hits


def _assign(frame: tuple[str, ...], concepts: dict[str, list[Span]], taken: list[Span]) -> list[Span] | None:
    if not frame:
        return taken
    for span in concepts.get(frame[0], []):
        if not _overlaps(span, taken):
            chosen = _assign(frame[1:], concepts, [*taken, span])
            if chosen is not None:
                return chosen
    return None


def _fires(hit: _Hit, cues: set[str], spec: _Spec) -> bool:
    """The decision rule (see the header of crisis.yml)."""
    acute, now, firsthand = "acute" in cues, "now" in cues, "firsthand" in cues
    specific, generic, knowledge = "specific" in cues, "generic" in cues, "knowledge" in cues
    habitual = "habitual" in cues and not (acute or now)
    if any(hit.kind in spec.explains_away[cue].get(hit.tier, ()) for cue in cues & spec.explains_away.keys()):
        return False
    if hit.tier == STRONG:
        return acute or (not generic and (now or firsthand or specific or not knowledge))
    if hit.tier == FRAME:
        if habitual and hit.kind in spec.habitual_frames:
            return False
        return acute or (not generic and (not knowledge or now or firsthand))
    if habitual and hit.kind in spec.habitual_weak:
        return False
    return not generic and (firsthand or ((specific or acute or now) and not knowledge))


def _refine(kind: CrisisKind, words: set[str], child: bool, spec: _Spec, worker_attacked: bool) -> CrisisKind:
    """Violence against a child is child abuse; among household members, domestic violence."""
    if kind not in (CrisisKind.DOMESTIC_VIOLENCE, CrisisKind.VIOLENCE):
        return kind
    if child or words & spec.child_victims:
        return CrisisKind.CHILD_ABUSE
    if kind is CrisisKind.VIOLENCE and words & spec.household and not worker_attacked:
        return CrisisKind.DOMESTIC_VIOLENCE
    return kind


@cache
def safety_line() -> str:
    """The help numbers in one short message, for a message that may report a crisis."""
    return content.load("crisis")["answer"]["possible"]


def safety_button() -> str:
    """The title of the help line's button that opens the full crisis answer."""
    return content.load("crisis")["answer"]["possible_button"]


def kind_named(name: str) -> CrisisKind | None:
    """The kind of crisis called `name` (a button's data), or None for anything else."""
    try:
        return CrisisKind(name)
    except ValueError:
        return None


@cache
def answer(kind: CrisisKind | None) -> str:
    """The fixed Dutch answer for a crisis of this kind (None: of an unknown kind, with every
    line and the meldcode): short enough for a phone screen."""
    data = content.load("crisis")["answer"]
    key = kind.value if kind is not None else "general"
    lines = [data["openings"][key]]
    lines += [data["lines"][line] for line in data["order"][key]]
    if key in data["meldcode_for"]:
        lines += ["", *data["meldcode"]]
    lines += ["", data["after"], data["closing"]]
    return "\n".join(lines)


# --- matching ---------------------------------------------------------------------------


@dataclass(frozen=True)
class _Spec:
    matcher: Matcher
    literals: dict[str, frozenset[str]]  # pattern label -> its literal words (not negations)
    order: tuple[str, ...]  # kinds, most urgent first
    frames: dict[str, tuple[tuple[str, ...], ...]]  # kind -> combinations of concepts
    alone: dict[str, tuple[str, ...]]  # kind -> concepts that count as a weak phrase
    habitual_frames: frozenset[str]  # kinds whose frames a habitual message does not trigger
    habitual_weak: frozenset[str]  # kinds whose weak phrases a habitual message does not trigger
    explains_away: dict[str, dict[int, frozenset[str]]]  # cue -> tier -> kinds it explains away
    child_victims: frozenset[str]
    household: frozenset[str]
    child_by_age: re.Pattern[str]
    negations: frozenset[str]
    scope_breakers: frozenset[str]
    clause_enders: frozenset[str]  # words that may follow a negation at the end of a clause
    time_shifts: frozenset[str]
    typo_words: tuple[str, ...]


_NOISE = re.compile(r"[ \t]*\x00[\x00 \t]*")


def _plain(text: str) -> str:
    """Lowercase without accents: "Suïcide" -> "suicide". Runs of symbols, emoji and control
    characters become one space: they are no words ("ze 😭😭 wil dood" = "ze wil dood"), and
    a long run would otherwise make a token each for the matcher to try every pattern on."""
    decomposed = unicodedata.normalize("NFKD", text.lower())
    kept = "".join(
        ch if unicodedata.category(ch)[0] in "LNPZ" or ch in "\n\t" else "\x00"
        for ch in decomposed
        if not unicodedata.combining(ch)
    )
    return _NOISE.sub(" ", kept)


def _expand(element: str, words: dict[str, list[str]]) -> list[str]:
    """The alternatives of one pattern element; "@name" stands for a word class."""
    out: list[str] = []
    for word in element.split("|"):
        if word.startswith("@"):
            out += _expand("|".join(words[word[1:]]), words)
        else:
            out.append(_plain(word))
    return out


def _token_pattern(element: str, words: dict[str, list[str]]) -> dict[str, Any]:
    """A Matcher token spec. Most words match on the lemma (any form of the word), words
    written "=w" on the form itself ("=geduwd" is not "duwt"), "w*" and "*w" by a regex on
    NORM, which _parse sets to "<lemma>\\t<form>". Plain word lists stay set lookups (fast)."""
    if element.startswith("~"):
        return {"OP": f"{{0,{int(element[1:])}}}"}
    lemmas, forms, regexes = set(), set(), set()
    for word in _expand(element, words):
        if word.startswith("="):
            forms.add(word[1:])
        elif word.endswith("*"):
            regexes.add(f"^{re.escape(word[:-1])}\\w*\\t")
        elif word.startswith("*"):  # a compound ending in this word: "*poep" = "hondenpoep"
            regexes.add(f"^\\w*{re.escape(word[1:])}\\t")
        else:
            tokens = dutch()(word)
            lemmas.add(word)
            if len(tokens) == 1:
                lemmas.add(_lemma(tokens[0].text, tokens[0].lemma_))
    if not regexes and not (lemmas and forms):
        return {"LEMMA": {"IN": sorted(lemmas)}} if lemmas else {"LOWER": {"IN": sorted(forms)}}
    regexes |= {f"^{re.escape(w)}\\t" for w in lemmas} | {f"\\t{re.escape(w)}$" for w in forms}
    return {"NORM": {"REGEX": "|".join(sorted(regexes))}}


@cache
def _spec() -> _Spec:
    data = content.load("crisis")
    words: dict[str, list[str]] = data["words"]
    matcher = Matcher(dutch().vocab)
    literals: dict[str, frozenset[str]] = {}

    def add(label: str, phrases: Iterable[str]) -> None:
        for n, phrase in enumerate(phrases):
            key = f"{label}/{n}"
            elements = phrase.split()
            matcher.add(key, [[_token_pattern(e, words) for e in elements]])
            literals[key] = frozenset(
                w.lstrip("=") for e in elements if not e.startswith("~") for w in _expand(e, words)
            )

    for kind, spec in data["kinds"].items():
        for strength in ("strong", "weak"):
            add(f"phrase/{kind}/{strength}", spec.get(strength, []))
    frames = {kind: tuple(tuple(f) for f in spec.get("frames", [])) for kind, spec in data["kinds"].items()}
    alone = {kind: tuple(spec.get("alone", [])) for kind, spec in data["kinds"].items()}
    # A frame may name a word class directly: it is then a concept of its own ("child").
    concepts = dict(data["concepts"])
    used = {c for fs in frames.values() for f in fs for c in f} | {c for cs in alone.values() for c in cs}
    for name in used - concepts.keys():
        if name not in words:
            raise ValueError(f"crisis.yml: frames use {name!r}, which is no concept or word class")
        concepts[name] = [f"@{name}"]
    for name, phrases in concepts.items():
        add(f"concept/{name}", phrases)
    for cue, phrases in data["cues"].items():
        add(f"cue/{cue}", phrases)
    add("idiom/all", data["idioms"])
    return _Spec(
        matcher=matcher,
        literals=literals,
        order=tuple(data["kinds"]),
        frames=frames,
        alone=alone,
        habitual_frames=frozenset(data["habitual_blocks"]["frames"]),
        habitual_weak=frozenset(data["habitual_blocks"]["weak"]),
        explains_away={
            cue: {_TIERS[tier]: frozenset(kinds) for tier, kinds in tiers.items()}
            for cue, tiers in data["explains_away"].items()
        },
        child_victims=frozenset(_expand("@child", words)),
        household=frozenset(_expand("@household", words)),
        child_by_age=re.compile(data["child_by_age"]),
        negations=frozenset(data["negations"]),
        scope_breakers=frozenset(data["scope_breakers"]),
        clause_enders=frozenset(data["clause_enders"]),
        time_shifts=frozenset(data["time_shifts"]),
        typo_words=tuple(data["typo_words"]),
    )


def _lemma(text: str, lemma: str) -> str:
    """The lookup lemma, except that a diminutive stays itself ("zoontje" is not "zoon")."""
    return text if text.endswith(("je", "jes")) else lemma


# Phone-typed short forms, read as the word they stand for ("bij mn keel" = "bij mijn keel").
_SHORT_FORMS = {
    "mn": "mijn",
    "m'n": "mijn",
    "zn": "zijn",
    "z'n": "zijn",
    "ie": "hij",
    "t": "het",
    "'t": "het",
    "k": "ik",
    "mw": "mevrouw",
    "mevr": "mevrouw",
    "dhr": "meneer",
    "hr": "meneer",
    "ff": "even",
}


def _parse(text: str) -> Doc:
    doc = dutch()(_plain(text))
    words = _spec().typo_words
    for token in doc:
        token.lemma_ = _SHORT_FORMS.get(token.lower_) or _lemma(token.text, token.lemma_)
        # Only words the lemma table does not know can be typos of a key word.
        if len(token.text) >= 6 and token.lemma_ == token.text and token.text not in words:
            near = next((w for w in words if _one_typo(token.text, w)), None)
            if near:
                token.lemma_ = near
    for token in doc:
        token.norm_ = f"{token.lemma_}\t{token.text}"
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


def _overlaps(span: Span, others: Iterable[Span]) -> bool:
    return any(span[1] > s and span[0] < e for s, e in others)


def _past_tokens(doc: Doc, cue_spans: dict[str, list[Span]]) -> set[int]:
    """Tokens in a stretch of text about the past ("vroeger ..."), unless it is also acute.

    A stretch runs from one time shift (a sentence end, "nu", "maar", "inmiddels", ...) to the
    next, so "vroeger sloeg hij haar, nu woont ze veilig" is past only in its first half.
    """
    shifts = _spec().time_shifts
    segment, segments = 0, []
    for token in doc:
        if token.lower_ in shifts:
            segment += 1
        segments.append(segment)

    def stretches(cue: str) -> set[int]:
        return {segments[start] for start, _ in cue_spans.get(cue, [])}

    past = stretches("past") - stretches("acute")
    return {i for i, seg in enumerate(segments) if seg in past}


def _negated(doc: Doc, start: int, end: int, literals: frozenset[str]) -> bool:
    """A negation inside the hit (not part of the pattern), shortly before it, or right after
    it ("hij slaat haar niet"), in the same clause."""
    spec = _spec()
    if any(t.lower_ in spec.negations and t.lower_ not in literals for t in doc[start:end]):
        return True
    for token in reversed(doc[max(0, start - NEGATION_WINDOW) : start]):
        if token.lower_ in spec.scope_breakers:
            break
        if token.lower_ in spec.negations and token.lower_ not in literals:
            return True
    # After the hit, a negation counts only where it closes the clause ("slaat haar niet,",
    # "slaat haar niet meer"), not where it belongs to a later verb ("pillen niet ingenomen").
    for token in doc[end : end + NEGATION_AFTER]:
        if token.lower_ in spec.scope_breakers:
            break
        if token.lower_ in spec.negations and token.lower_ not in literals:
            after = doc[token.i + 1] if token.i + 1 < len(doc) else None
            return after is None or after.lower_ in spec.scope_breakers or after.lower_ in spec.clause_enders
    return False
