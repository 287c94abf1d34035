"""Check a worker's app/SMS message to a client against the first-contact guidelines.

The shared blank Dutch spaCy pipeline (coach/nlp.py) tokenises the draft; Matcher and
PhraseMatcher rules built from coach/content/berichtcoach.yml find accusing or moralising
phrasing, absolute words, a vague reason or long run-up, jargon, a missing next step or
positive element; the length is measured against a phone screen; personal details are found
by coach/scrubber.py (and its placeholders, such as "[telefoon]", in an already scrubbed text).
Every finding points at the words that triggered it, says in friendly Dutch what to change,
and the whole draft gets a suggested rewrite.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from functools import cache
from typing import Any

from spacy.matcher import Matcher, PhraseMatcher
from spacy.tokens import Doc, Span

from coach import content, scrubber
from coach.nlp import dutch

ACCUSING, ABSOLUTE, RUN_UP, NO_NEXT_STEP, NO_POSITIVE, TOO_LONG, JARGON, PERSONAL = (
    "beschuldigend",
    "absoluut",
    "aanloop",
    "geen_vervolg",
    "geen_positief",
    "te_lang",
    "moeilijke_woorden",
    "persoonsgegevens",
)
KINDS = (PERSONAL, ACCUSING, ABSOLUTE, RUN_UP, NO_NEXT_STEP, NO_POSITIVE, JARGON, TOO_LONG)
PLACEHOLDER = re.compile(r"\[(" + "|".join(re.escape(c) for c in scrubber.CATEGORIES) + r")\]")
_NEGATIONS = {"niet", "geen", "nergens"}
_CLAUSE_BREAKS = {"en", "maar", "want", "als", "wanneer", "omdat", "zodat", "dat", "of", "voordat", "anders"}
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+|\n+")


@dataclass(frozen=True)
class Finding:
    kind: str  # one of KINDS
    words: str  # the words that triggered it, as written ("" when something is missing)
    start: int  # character offsets of `words` in the draft (-1 when something is missing)
    end: int
    title: str  # the finding type, in Dutch
    feedback: str  # what to change, friendly and concrete
    suggestion: str  # an example of how
    guideline: str  # the guideline it comes from


@dataclass(frozen=True)
class Check:
    text: str
    findings: tuple[Finding, ...]
    rewrite: str | None  # a suggested rewrite, when the rules could improve the draft
    source: str  # the full title of the guidelines' source document

    @property
    def kinds(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(f.kind for f in self.findings))


# --- rules from the data file -------------------------------------------------------------


def data() -> dict[str, Any]:
    return content.load("berichtcoach")


def _token_spec(spec: Any) -> dict[str, Any]:
    if spec == "*":
        return {"OP": "?"}
    if isinstance(spec, list):
        return {"LOWER": {"IN": [str(s).lower() for s in spec]}}
    if isinstance(spec, str) and spec.startswith("LEMMA:"):
        return {"LEMMA": spec[len("LEMMA:") :]}
    return {"LOWER": str(spec).lower()}


def _phrase_patterns(phrases: Iterable[Any]) -> list[list[dict[str, Any]]]:
    """Phrases written as lists of words (or one string) -> Matcher patterns on lowercase text."""
    patterns = []
    for phrase in phrases:
        words = phrase if isinstance(phrase, list) else str(phrase).split()
        patterns.append([_token_spec(word) for word in words])
    return patterns


@dataclass(frozen=True)
class _Rules:
    matcher: Matcher
    jargon_matcher: PhraseMatcher
    jargon: dict[str, str]
    absolute_words: frozenset[str]
    offer_before: frozenset[str]
    offer_after: frozenset[str]
    moment_words: frozenset[str]
    time_regex: re.Pattern[str]
    positive_words: frozenset[str]
    positive_needs_company: frozenset[str]
    positive_company: frozenset[str]
    positive_cancelled_after: dict[str, frozenset[str]]
    known_words: frozenset[str]  # ordinary message words that are never a person's name
    max_words_before_reason: int
    max_chars: int


@cache
def _rules() -> _Rules:
    d = data()
    nlp = dutch()
    matcher = Matcher(nlp.vocab)
    matcher.add(ACCUSING, [[_token_spec(t) for t in p] for p in d["accusing_patterns"]])
    matcher.add(ACCUSING, _phrase_patterns(d["accusing_words"]))
    matcher.add(ABSOLUTE, _phrase_patterns([[w] for w in d["absolute_words"]]))
    matcher.add(ABSOLUTE, _phrase_patterns(d["absolute_phrases"]))
    matcher.add("reason", _phrase_patterns([[w] for w in d["reason_words"]]))
    matcher.add("reason", _phrase_patterns(d["reason_phrases"]))
    matcher.add("reason", [[{"LEMMA": {"IN": list(d["reason_lemmas"])}}]])
    matcher.add("vague", _phrase_patterns(d["vague_phrases"]))
    matcher.add("moment", _phrase_patterns(d["moment_phrases"]))
    matcher.add("positive", _phrase_patterns(d["positive_phrases"]))
    jargon = {str(k).lower(): v for k, v in d["jargon"].items()}
    jargon_matcher = PhraseMatcher(nlp.vocab, attr="LOWER")
    jargon_matcher.add(JARGON, [nlp.make_doc(term) for term in jargon])
    return _Rules(
        matcher=matcher,
        jargon_matcher=jargon_matcher,
        jargon=jargon,
        absolute_words=frozenset(d["absolute_words"]),
        offer_before=frozenset(d["absolute_offer_before"]),
        offer_after=frozenset(d["absolute_offer_after"]),
        moment_words=frozenset(d["moment_words"]),
        time_regex=re.compile(d["time_regex"], re.IGNORECASE),
        positive_words=frozenset(d["positive_words"]),
        positive_needs_company=frozenset(d["positive_needs_company"]),
        positive_company=frozenset(d["positive_company"]),
        positive_cancelled_after={
            word: frozenset(before) for word, before in d["positive_cancelled_after"].items()
        },
        known_words=frozenset(
            [*d["positive_words"], *d["greetings"], *d["moment_words"], *d["absolute_words"]]
        ),
        max_words_before_reason=int(d["max_words_before_reason"]),
        max_chars=int(d["max_chars"]),
    )


def max_chars() -> int:
    """The SMS/WhatsApp length a draft should stay within."""
    return _rules().max_chars


# --- findings -----------------------------------------------------------------------------


def _finding(
    kind: str, words: str = "", start: int = -1, end: int = -1, shown: str | None = None, **extra: str
) -> Finding:
    """A finding of `kind`; the feedback names `shown` (default: the words themselves)."""
    spec = data()["findings"][kind]
    fields = {"limit": str(max_chars()), **extra, "words": words if shown is None else shown}
    return Finding(
        kind=kind,
        words=words,
        start=start,
        end=end,
        title=spec["title"],
        feedback=spec["feedback"].format(**fields),
        suggestion=extra.get("suggestion") or spec["suggestion"],
        guideline=spec["guideline"],
    )


def _span_finding(kind: str, span: Span, **extra: str) -> Finding:
    return _finding(kind, span.text, span.start_char, span.end_char, **extra)


def _spans(doc: Doc, label: str) -> list[Span]:
    """Matches of one rule, longest first where they overlap, in text order."""
    matcher = _rules().matcher
    found = [doc[s:e] for m, s, e in matcher(doc) if doc.vocab.strings[m] == label]
    chosen: list[Span] = []
    for span in sorted(found, key=lambda sp: (sp.start - sp.end, sp.start)):
        if all(span.end <= c.start or span.start >= c.end for c in chosen):
            chosen.append(span)
    return sorted(chosen, key=lambda sp: sp.start)


def _accusing(doc: Doc) -> list[Finding]:
    return [_span_finding(ACCUSING, span) for span in _spans(doc, ACCUSING)]


def _is_offer(doc: Doc, span: Span) -> bool:
    """ "u kunt mij altijd bellen", "altijd welkom": an absolute word in an offer is fine."""
    rules = _rules()
    before = {t.lower_ for t in doc[max(0, span.start - 3) : span.start]}
    after = {t.lower_ for t in doc[span.end : span.end + 2]}
    return bool(before & rules.offer_before or after & rules.offer_after)


def _sentence_of(doc: Doc, span: Span) -> str:
    """The sentence around `span` (sentences end at . ! ? followed by a space, or a line break)."""
    start, end = 0, len(doc.text)
    for boundary in _SENTENCE_END.finditer(doc.text):
        if boundary.end() <= span.start_char:
            start = boundary.end()
        elif boundary.start() >= span.end_char:
            end = boundary.start()
            break
    return doc.text[start:end]


def _absolute(doc: Doc, taken: Sequence[Finding]) -> list[Finding]:
    """Absolute words, except in an offer ("u kunt altijd bellen") or in praise."""
    found = []
    for span in _spans(doc, ABSOLUTE):
        inside = any(f.start <= span.start_char and span.end_char <= f.end for f in taken)
        praise = _has_positive(dutch()(_sentence_of(doc, span)), taken=())
        if not inside and not praise and not _is_offer(doc, span):
            found.append(_span_finding(ABSOLUTE, span))
    return found


def _word_index(doc: Doc, token_index: int) -> int:
    return sum(1 for t in doc[:token_index] if not t.is_punct and not t.is_space)


def _run_up(doc: Doc) -> list[Finding]:
    vague = _spans(doc, "vague")
    # A reason cue inside or right before a vague phrase ("over een en ander") doesn't count.
    reasons = [s for s in _spans(doc, "reason") if all(s.end < v.start or s.start >= v.end for v in vague)]
    if vague and not reasons:
        span = vague[0]
        shown = f' ("{span.text}" zegt niet waar het over gaat)'
        return [_finding(RUN_UP, span.text, span.start_char, span.end_char, shown=shown)]
    if not reasons:
        first = _sentences(doc.text)[0]
        return [_finding(RUN_UP, first, 0, len(first), shown=" (ik lees geen aanleiding)")]
    first_reason = reasons[0]
    words_before = _word_index(doc, first_reason.start)
    if words_before > _rules().max_words_before_reason:
        opening = doc[: first_reason.start]
        shown = f" (de aanleiding komt pas na {words_before} woorden)"
        return [_finding(RUN_UP, opening.text, opening.start_char, opening.end_char, shown=shown)]
    return []


def _has_moment(doc: Doc) -> bool:
    rules = _rules()
    return (
        any(t.lower_ in rules.moment_words for t in doc)
        or bool(_spans(doc, "moment"))
        or bool(rules.time_regex.search(doc.text))
    )


def _negated(doc: Doc, index: int) -> bool:
    return any(t.lower_ in _NEGATIONS for t in doc[max(0, index - 2) : index])


def _has_positive(doc: Doc, taken: Sequence[Finding]) -> bool:
    rules = _rules()
    if _spans(doc, "positive"):
        return True
    lemmas = {t.lemma_.lower() for t in doc} | {t.lower_ for t in doc}
    for token in doc:
        word = token.lower_
        if word not in rules.positive_words and token.lemma_.lower() not in rules.positive_words:
            continue
        if _negated(doc, token.i):
            continue
        cancelling = rules.positive_cancelled_after.get(word, frozenset())
        if any(t.lower_ in cancelling for t in doc[max(0, token.i - 2) : token.i]):
            continue
        if any(f.start <= token.idx < f.end for f in taken):  # "u zorgt niet goed": not positive
            continue
        if word in rules.positive_needs_company and not lemmas & rules.positive_company:
            continue
        return True
    return False


def _jargon(doc: Doc) -> list[Finding]:
    rules = _rules()
    found: dict[str, Finding] = {}
    spans = [doc[s:e] for _, s, e in rules.jargon_matcher(doc)]
    for token in doc:  # parts of hyphenated compounds: "wmo-indicatie"
        if "-" in token.text and token.lower_ not in rules.jargon:
            spans += [doc[token.i : token.i + 1] for part in token.lower_.split("-") if part in rules.jargon]
    for span in sorted(spans, key=lambda sp: sp.start):
        term = span.text.lower()
        plain = rules.jargon.get(term) or next(
            (rules.jargon[p] for p in term.split("-") if p in rules.jargon), ""
        )
        if term not in found:
            suggestion = f'Schrijf bijvoorbeeld "{plain}" in plaats van "{span.text}".'
            found[term] = _span_finding(JARGON, span, suggestion=suggestion)
    return list(found.values())


def _personal(text: str) -> list[Finding]:
    details = data()["personal_details"]
    known = _rules().known_words
    hits = [
        (f.category, f.start, f.end)
        for f in scrubber.find(text)
        if not (f.category == scrubber.NAME and text[f.start : f.end].lower() in known)
    ]
    hits += [(m.group(1), m.start(), m.end()) for m in PLACEHOLDER.finditer(text)]
    found: dict[str, Finding] = {}
    removed_by_bot = ""  # the last category the bot already took out before the check
    for category, start, end in sorted(hits, key=lambda h: h[1]):
        if category in found:
            continue
        detail = details[category]
        if PLACEHOLDER.fullmatch(text[start:end]):
            removed_by_bot = category
        found[category] = _finding(
            PERSONAL, text[start:end], start, end, shown=detail["what"], suggestion=detail["advice"]
        )
    if removed_by_bot:  # said once, after the last of them (the findings are shown together)
        last = found[removed_by_bot]
        found[removed_by_bot] = replace(last, suggestion=f"{last.suggestion} {data()['placeholder_note']}")
    return list(found.values())


def _too_long(text: str) -> list[Finding]:
    limit = max_chars()
    if len(text) <= limit:
        return []
    return [_finding(TOO_LONG, text[limit:], limit, len(text), shown=str(len(text)))]


def find(text: str) -> list[Finding]:
    """All findings for a draft message, most important first."""
    text = text.strip()
    if not text:
        return []
    doc = dutch()(text)
    findings = _personal(text)
    accusing = _accusing(doc)
    findings += accusing
    findings += _absolute(doc, accusing)
    findings += _run_up(doc)
    if not _has_moment(doc):
        findings.append(_finding(NO_NEXT_STEP))
    if not _has_positive(doc, accusing):
        findings.append(_finding(NO_POSITIVE))
    findings += _jargon(doc)
    findings += _too_long(text)
    return sorted(findings, key=lambda f: (KINDS.index(f.kind), f.start))


def check(text: str) -> Check:
    """Check a draft and suggest a rewrite."""
    text = text.strip()
    findings = tuple(find(text))
    rewritten = rewrite(text, findings) if findings else None
    return Check(
        text=text,
        findings=findings,
        rewrite=rewritten if rewritten and rewritten != text else None,
        source=content.source_title(data()["source"]),
    )


# --- the suggested rewrite ----------------------------------------------------------------


def uses_je(text: str) -> bool:
    """Whether the draft speaks to the client as "je" rather than "u"."""
    words = re.findall(r"\w+", text.lower())
    return sum(w in {"je", "jij", "jou", "jouw"} for w in words) > sum(w in {"u", "uw"} for w in words)


def _match_case(replacement: str, original: str) -> str:
    if replacement and original[:1].isupper():
        return replacement[0].upper() + replacement[1:]
    return replacement


def replace_phrases(text: str, pairs: Sequence[Sequence[Any]]) -> str:
    """Replace lowercase word sequences by text, longest first, keeping a capital at the start."""
    doc = dutch().make_doc(text)
    matcher = Matcher(doc.vocab)
    for i, (words, _) in enumerate(pairs):
        matcher.add(str(i), [[{"LOWER": str(w).lower()} for w in words]])
    edits: list[tuple[int, int, str]] = []
    for match_id, start, end in sorted(matcher(doc), key=lambda m: (m[1] - m[2], m[1])):
        if all(end <= s or start >= e for s, e, _ in edits):
            edits.append((start, end, str(pairs[int(doc.vocab.strings[match_id])][1])))
    return _apply(doc, edits)


def _apply(doc: Doc, edits: list[tuple[int, int, str]]) -> str:
    """The text of `doc` with token ranges replaced (an empty replacement removes them)."""
    parts: list[str] = []
    index = 0
    for start, end, replacement in sorted(edits):
        parts.append(doc[index:start].text_with_ws)
        if replacement:
            ws = doc[end - 1].whitespace_
            starts_sentence = start == 0 or doc[start - 1].text[-1:] in {".", "!", "?", "\n"}
            parts.append((_match_case(replacement, doc[start].text) if starts_sentence else replacement) + ws)
        index = end
    parts.append(doc[index:].text_with_ws)
    return _tidy("".join(parts), sentence_case=False)


def _tidy(text: str, sentence_case: bool = True) -> str:
    text = re.sub(r"[ \t]+", " ", text)
    text = re.sub(r" +([,.!?:;])", r"\1", text)
    text = re.sub(r",\s*([.!?])", r"\1", text)
    if sentence_case:
        text = re.sub(r"(^|[.!?]\s+)([a-z])", lambda m: m.group(1) + m.group(2).upper(), text)
    return text.strip()


def _must_to_request(text: str) -> str:
    """ "u moet de deur opendoen." -> "ik vraag u om de deur open te doen." """
    doc = dutch().make_doc(text)
    prefixes = sorted(data()["separable_prefixes"], key=len, reverse=True)
    edits: list[tuple[int, int, str]] = []
    i = 0
    while i < len(doc) - 1:
        a, b = doc[i].lower_, doc[i + 1].lower_
        subject_first = a in {"u", "je", "jij"} and b in {"moet", "moeten"}
        verb_first = a in {"moet", "moeten"} and b in {"u", "je", "jij"}
        if not (subject_first or verb_first):
            i += 1
            continue
        pronoun = doc[i].text if subject_first else doc[i + 1].text
        end = i + 2
        while end < len(doc) and not doc[end].is_punct and doc[end].lower_ not in _CLAUSE_BREAKS:
            end += 1
        verb = doc[end - 1] if end - 1 > i + 1 else None
        if verb is None or not verb.lower_.endswith("n") or not verb.is_alpha:
            i += 1
            continue
        prefix = next((p for p in prefixes if verb.lower_.startswith(p) and len(verb) > len(p) + 2), "")
        infinitive = f"{prefix} te {verb.lower_[len(prefix) :]}" if prefix else f"te {verb.lower_}"
        lead = f"ik vraag {pronoun.lower()} om" if subject_first else f"vraag ik {pronoun.lower()} om"
        middle = doc[i + 2 : end - 1].text
        new = " ".join(part for part in (lead, middle, infinitive) if part)
        edits.append((i, end, _match_case(new, doc[i].text)))
        i = end
    return _apply(doc, edits) if edits else text


def _without_blame(text: str) -> str:
    """Leave out sentences that still blame, unless they carry the reason, moment or praise."""
    sentences = _sentences(text)
    kept = []
    for sentence in sentences:
        doc = dutch()(sentence)
        blames = bool(_spans(doc, ACCUSING))
        carries = not _run_up(doc) or _has_moment(doc) or _has_positive(doc, _accusing(doc))
        if not blames or carries or _is_greeting(sentence):
            kept.append(sentence)
    return _join(kept) if len(kept) < len(sentences) else text


def _sentences(text: str) -> list[str]:
    return [s.strip() for s in _SENTENCE_END.split(text) if s.strip()]


def _is_greeting(sentence: str) -> bool:
    words = sentence.lower().split()
    short = 0 < len(words) <= 5
    return short and (sentence.endswith(",") or words[0].strip(",.!") in data()["greetings"])


def _move_reason_forward(text: str) -> str:
    """Put the first sentence that names a reason right after the greeting."""
    sentences = _sentences(text)
    first = sentences[0].split(",", 1) if sentences else []
    if len(first) == 2 and not _is_greeting(sentences[0]) and _is_greeting(first[0] + ","):
        sentences[:1] = [first[0] + ",", first[1].strip()[:1].upper() + first[1].strip()[1:]]
    head = 1 if sentences and _is_greeting(sentences[0]) else 0
    for index, sentence in enumerate(sentences):
        if index > head and not _run_up(dutch()(sentence)):
            words = sentence.split(" ")
            if len(words) > 3 and words[0].lower() in data()["connectives"]:
                if words[2].lower() in {"ik", "we", "wij"}:  # "Daarom stuur ik" -> "Ik stuur"
                    words = [words[2].capitalize(), words[1], *words[3:]]
                else:
                    words = [words[1].capitalize(), *words[2:]]
                sentence = " ".join(words)
            sentences.pop(index)
            sentences.insert(head, sentence)
            break
    return _join(sentences)


def _join(sentences: list[str]) -> str:
    lines: list[str] = []
    for sentence in sentences:
        if lines and not _is_greeting(lines[-1].split("\n")[-1]):
            lines[-1] += " " + sentence
        else:
            lines.append(sentence)
    return "\n".join(lines)


def _without_details(text: str) -> str:
    words = data()["personal_placeholder_words"]
    spans = [(f.start, f.end, f.category) for f in scrubber.find(text)]
    spans += [(m.start(), m.end(), m.group(1)) for m in PLACEHOLDER.finditer(text)]
    for start, end, category in sorted(spans, reverse=True):
        text = text[:start] + words[category] + text[end:]
    return _tidy(text)


def _plain_words(text: str) -> str:
    """Jargon replaced by plain words; a hyphenated compound by the plain word of its last part."""
    jargon = _rules().jargon
    pairs: list[tuple[list[str], str]] = [
        ([t.text for t in dutch().make_doc(term)], plain) for term, plain in jargon.items()
    ]
    for token in dutch().make_doc(text):
        parts = [p for p in token.lower_.split("-") if p in jargon]
        if "-" in token.text and parts and token.lower_ not in jargon:
            pairs.append(([token.lower_], jargon[parts[-1]]))
    return replace_phrases(text, pairs)


def _shorten(text: str) -> str:
    """Leave out sentences that carry no reason, moment or positive element until it fits."""
    sentences = _sentences(text)
    limit = max_chars()
    for index in range(len(sentences) - 1, 0, -1):
        if len(_join(sentences)) <= limit:
            break
        doc = dutch()(sentences[index])
        others = [dutch()(other) for i, other in enumerate(sentences) if i != index]
        only_praise = _has_positive(doc, ()) and not any(_has_positive(o, ()) for o in others)
        reason_before = any(not _run_up(o) for o in others[:index])
        essential = (
            (not _run_up(doc) and not reason_before)
            or _has_moment(doc)
            or only_praise
            or _is_greeting(sentences[index])
        )
        if not essential:
            sentences.pop(index)
    return _join(sentences)


def rewrite(text: str, findings: Sequence[Finding] | None = None) -> str:
    """A suggested version of the draft that avoids what the rules can fix by themselves."""
    findings = list(find(text) if findings is None else findings)
    kinds = {f.kind for f in findings}
    d = data()
    je = uses_je(text)  # before sentences go: the client is "je" or "u" as the worker wrote
    new = _without_details(text) if PERSONAL in kinds else text
    new = _must_to_request(new)
    new = replace_phrases(new, d["rewrite_replacements"])
    new = _without_blame(new)
    if JARGON in kinds:
        new = _plain_words(new)
    if RUN_UP in kinds:
        new = _move_reason_forward(new)
    if NO_POSITIVE in kinds:
        new = _add_before_closing(new, d["add_positive_je" if je else "add_positive"])
    if NO_NEXT_STEP in kinds:
        new = _add_before_closing(new, d["add_moment_je" if je else "add_moment"])
    if len(new) > max_chars():
        new = _shorten(new)
    return _tidy(new)


_CLOSINGS = re.compile(
    r"\n?\s*(?:met vriendelijke groet|vriendelijke groet|groetjes|groet|gr|mvg|hartelijke groet)\b.*$",
    re.IGNORECASE | re.DOTALL,
)


def _add_before_closing(text: str, sentence: str) -> str:
    closing = _CLOSINGS.search(text)
    if closing:
        return f"{text[: closing.start()].rstrip()} {sentence}{text[closing.start() :]}"
    return f"{text.rstrip()} {sentence}"


# --- rendering ------------------------------------------------------------------------------


def texts() -> dict[str, str]:
    return dict(data()["check_texts"])


def feedback_lines(findings: Sequence[Finding]) -> list[str]:
    """One short paragraph per kind of finding: what, why, and how (for a phone screen)."""
    lines = []
    for kind in KINDS:
        group = [f for f in findings if f.kind == kind]
        if not group:
            continue
        spec = data()["findings"][kind]
        shown = list(dict.fromkeys(f.words for f in group))
        if len(shown) > 1 and "feedback_many" in spec:
            words = '", "'.join(shown[:-1]) + '" en "' + shown[-1]
            feedback = spec["feedback_many"].format(words=words, limit=max_chars())
        else:
            feedback = " ".join(dict.fromkeys(f.feedback for f in group))
        suggestion = " ".join(dict.fromkeys(f.suggestion for f in group))
        lines.append(f"• {spec['title']}: {feedback} {suggestion}")
    return lines


def render(result: Check) -> list[str]:
    """The checker's answer as chat messages: the feedback, then the rewrite to copy."""
    t = texts()
    length = len(result.text)
    if not result.findings:
        return [f"{t['intro_none'].format(length=length)}\n\n{_footer()}"]
    body = "\n".join(feedback_lines(result.findings))
    messages = [f"{t['intro_some'].format(length=length)}\n\n{body}\n\n{_footer()}"]
    if result.rewrite:
        messages.append(f"{t['rewrite']}\n\n{result.rewrite}")
    return messages


def _footer() -> str:
    from coach.sections import source_line

    return f"{source_line(content.source_title(data()['source']))}\n{data()['timing']['never_sends']}"


def extract_draft(message: str) -> str | None:
    """The draft in a request such as "check mijn bericht: Beste meneer, ..."; None if absent."""
    spec = data()["check_request"]
    text = message.strip()
    verbs, nouns = set(spec["verbs"]) | set(spec["approvals"]), set(spec["nouns"])

    def is_request(words: list[str]) -> bool:
        return bool(set(words) & verbs) and bool(set(words) & nouns)

    cut = re.search(r"[:\n]", text[: int(spec["max_prefix_chars"])])
    before = re.findall(r"[\w']+", text[: cut.start()].lower()) if cut else []
    if cut and (is_request(before) or set(before) & set(spec["verbs"])):  # "nakijken graag: ..."
        draft = text[cut.end() :].strip()
        return draft if re.search(r"[^\W\d_]", draft) else None
    tokens = list(re.finditer(r"\S+", text))
    head = [m.group().lower().strip(",.!?:;") for m in tokens[: int(spec["max_request_words"])]]
    if not is_request(head):
        return None
    start = min(i for i, w in enumerate(head) if w in nouns) + 1
    fillers = set(spec["fillers"])
    while start < len(head) and head[start] in fillers | {""}:
        start += 1
    if len(tokens) - start < int(spec["min_inline_words"]):
        return None
    return text[tokens[start].start() :].strip()
