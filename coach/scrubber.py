"""Remove personal details from a worker's message before it is stored or sent on.

Number-like details (BSN, phone, e-mail, IBAN, postcode, dates) are found with regular
expressions and validated (11-check, mod-97, digit counts); street addresses and person names
with the shared blank Dutch spaCy pipeline (tokens, lookup lemmas, a Matcher). The rules and
word lists are in coach/content/scrubbing.yml, which also documents them.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from functools import cache

from spacy.lang.nl.stop_words import STOP_WORDS
from spacy.matcher import Matcher
from spacy.tokens import Doc, Token

from coach import content
from coach.nlp import dutch

NAME, BSN, PHONE, EMAIL, IBAN, ADDRESS, BIRTH_DATE = (
    "naam",
    "bsn",
    "telefoon",
    "e-mail",
    "iban",
    "adres",
    "geboortedatum",
)
CATEGORIES = (BSN, PHONE, EMAIL, IBAN, ADDRESS, BIRTH_DATE, NAME)
# When two findings overlap, the more specific one wins (an e-mail address holds a name).
_PRIORITY = {EMAIL: 0, IBAN: 1, PHONE: 2, BSN: 3, BIRTH_DATE: 4, ADDRESS: 5, NAME: 6}
_MERGE_GAP = re.compile(r"[\s,]*")

NOTICE: str = content.load("scrubbing")["notice"]


@dataclass(frozen=True)
class Finding:
    start: int
    end: int
    category: str


@dataclass(frozen=True)
class Scrubbed:
    text: str  # with labelled placeholders
    found: tuple[str, ...]  # categories replaced, e.g. ("naam", "telefoon")
    names: tuple[str, ...]  # person names detected (so the caller can remember them)


def scrub(text: str, known_names: Iterable[str] = ()) -> Scrubbed:
    """Replace personal details in `text` by placeholders such as "[naam]" and "[telefoon]"."""
    findings = find(text, known_names)
    parts, last = [], 0
    for f in findings:
        parts += [text[last : f.start], f"[{f.category}]"]
        last = f.end
    parts.append(text[last:])
    found = tuple(dict.fromkeys(f.category for f in findings))
    names = {text[f.start : f.end].lower(): text[f.start : f.end] for f in findings if f.category == NAME}
    return Scrubbed("".join(parts), found, tuple(names.values()))


def find(text: str, known_names: Iterable[str] = ()) -> list[Finding]:
    """The personal details in `text`, in order, without overlaps."""
    doc = dutch()(text)
    candidates = [
        *_emails(text),
        *_ibans(text),
        *_phones(text),
        *_bsns(text),
        *_dates(text),
        *_postcodes(text),
        *_streets(doc),
        *_names(doc),
        *_known(text, known_names),
    ]
    chosen: list[Finding] = []
    for f in sorted(candidates, key=lambda f: (_PRIORITY[f.category], f.start - f.end, f.start)):
        if all(f.end <= c.start or f.start >= c.end for c in chosen):
            chosen.append(f)
    return _merge_adjacent(sorted(chosen, key=lambda f: f.start), text)


def _merge_adjacent(findings: list[Finding], text: str) -> list[Finding]:
    merged: list[Finding] = []
    for f in findings:
        prev = merged[-1] if merged else None
        if prev and prev.category == f.category and _MERGE_GAP.fullmatch(text[prev.end : f.start]):
            merged[-1] = Finding(prev.start, f.end, f.category)
        else:
            merged.append(f)
    return merged


# --- rules from the data file ---------------------------------------------------------------


@dataclass(frozen=True)
class _Rules:
    months: dict[str, int]
    birth_cue: re.Pattern[str]
    birth_min_age: int
    help_numbers: frozenset[str]
    street_suffixes: tuple[str, ...]
    not_streets: frozenset[str]
    address_cues: frozenset[str]
    units: frozenset[str]
    strong_cues: frozenset[str]
    weak_cues: frozenset[str]
    particles: frozenset[tuple[str, ...]]
    determiners: frozenset[str]
    first_names: frozenset[str]
    surnames: frozenset[str]  # single words of the listed surnames, without particles
    not_names: frozenset[str]  # single words
    not_name_phrases: tuple[tuple[str, ...], ...]  # multi-word, lowercase tokens
    common_words: frozenset[str]
    vocabulary: frozenset[str]  # ordinary Dutch words: lemma table and stop words


@cache
def _rules() -> _Rules:
    data = content.load("scrubbing")
    particles = frozenset(tuple(p.split()) for p in data["particles"])
    particle_words = {w for chain in particles for w in chain}
    not_names = [n.lower() for n in data["not_names"]]
    table = dutch().get_pipe("lemmatizer").lookups.get_table("lemma_lookup")
    return _Rules(
        months={k: int(v) for k, v in data["months"].items()},
        birth_cue=re.compile(
            r"(?:^|[^\w])(?:" + "|".join(data["birth_cues"]) + r")[\s:.,(]*(?:op|in|is|was)?[\s:]*$",
            re.IGNORECASE,
        ),
        birth_min_age=int(data["birth_min_age"]),
        help_numbers=frozenset(data["help_numbers"]),
        street_suffixes=tuple(sorted(data["street_suffixes"], key=len, reverse=True)),
        not_streets=frozenset(data["not_streets"]),
        address_cues=frozenset(data["address_cues"]),
        units=frozenset(data["not_house_number_units"]),
        strong_cues=frozenset(data["strong_name_cues"]),
        weak_cues=frozenset(data["weak_name_cues"]),
        particles=particles,
        determiners=frozenset(data["determiners"]),
        first_names=frozenset(n.lower() for n in data["first_names"]),
        surnames=frozenset(w.lower() for n in data["surnames"] for w in n.split()) - particle_words,
        not_names=frozenset(n for n in not_names if " " not in n),
        not_name_phrases=tuple(tuple(n.split()) for n in not_names if " " in n),
        common_words=frozenset(data["common_words"]),
        vocabulary=frozenset(table.keys()) | frozenset(table.values()) | STOP_WORDS,
    )


# --- number-like details --------------------------------------------------------------------

_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
_IBAN = re.compile(r"(?<![A-Za-z0-9])[A-Za-z]{2}\d{2}(?: ?[A-Za-z0-9]){11,32}")
_PHONE = re.compile(r"(?<![\w@/+.,-])(?:\+|\(\+?)?\d(?:[\d()]|[ \t./-]{1,3}(?=[\d(]))*\d\)?")
_PHONE_PIECE = re.compile(r"[+(]*\d[\d()]*")
_MAX_PHONE_CHARS = 26
_BSN = re.compile(r"(?<![\w.,/-])(?<!\d[ .])\d(?:[ .]?\d){8}(?![ .]?\d)(?!\w)(?![.,/-]\d)")
_POSTCODE_AFTER_CUE = re.compile(r"postcode\W{0,2}([1-9]\d{3} ?[a-zA-Z]{2})(?!\w)", re.IGNORECASE)
_POSTCODE = re.compile(
    r"(?<!\w)(?:[1-9]\d{3} ?[A-Z]{2}|[1-9]\d{3}[a-z]{2})(?!\w)"
    r"(?:,? ?(?:nr\.? ?)?\d{1,5}(?:[a-zA-Z](?!\w)|-\d{1,3})?(?![\w:.,]\d))?",
)


def _emails(text: str) -> Iterable[Finding]:
    for m in _EMAIL.finditer(text):
        yield Finding(m.start(), m.end(), EMAIL)


def _iban_valid(compact: str) -> bool:
    if not 15 <= len(compact) <= 34 or sum(ch.isdigit() for ch in compact[4:]) < 6:
        return False
    moved = compact[4:] + compact[:4]
    return int("".join(str(int(ch, 36)) for ch in moved)) % 97 == 1


def _ibans(text: str) -> Iterable[Finding]:
    pos = 0
    while m := _IBAN.search(text, pos):
        candidate, pos = m.group(), m.start() + 1
        ends = [len(candidate)] + [i for i in range(len(candidate) - 1, 14, -1) if candidate[i] == " "]
        for end in ends:
            if _iban_valid(candidate[:end].replace(" ", "").upper()):
                yield Finding(m.start(), m.start() + end, IBAN)
                pos = m.start() + end  # a second IBAN may follow ("NL.. en NL..")
                break


def _phone_valid(number: str, help_numbers: frozenset[str]) -> bool:
    compact = re.sub(r"[ \t./-]", "", number).replace("(0)", "")
    if "+" in compact[1:] or compact.count("(") != compact.count(")"):
        return False
    digits = re.sub(r"\D", "", compact)
    if digits in help_numbers:
        return False
    if compact.lstrip("(").startswith(("+", "00")):
        rest = digits[2:] if compact.lstrip("(").startswith("00") else digits
        if rest.startswith("31"):
            return len(rest) == 11 and rest[2] != "0"
        return 8 <= len(rest) <= 15 and rest[0] != "0"
    return len(digits) == 10 and digits[0] == "0" and digits[1] != "0"


def _phones(text: str) -> Iterable[Finding]:
    help_numbers = _rules().help_numbers
    for m in _PHONE.finditer(text):
        pieces = [(p.start(), p.end()) for p in _PHONE_PIECE.finditer(m.group())]
        # Every run of up to 8 digit groups, longest first: "kamer 12 0612345678" -> the number.
        spans = sorted(
            (
                (pieces[i][0], pieces[j][1])
                for i in range(len(pieces))
                for j in range(i, min(i + 8, len(pieces)))
                if pieces[j][1] - pieces[i][0] <= _MAX_PHONE_CHARS
            ),
            key=lambda s: s[0] - s[1],
        )
        taken: list[tuple[int, int]] = []
        for s, e in spans:
            if all(e <= ts or s >= te for ts, te in taken) and _phone_valid(m.group()[s:e], help_numbers):
                taken.append((s, e))
                yield Finding(m.start() + s, m.start() + e, PHONE)


def bsn_valid(number: str) -> bool:
    """The 11-check: 9 digits d1..d9 with 9*d1 + 8*d2 + ... + 2*d8 - d9 divisible by 11."""
    digits = [int(ch) for ch in number if ch.isdigit()]
    if len(digits) != 9 or not any(digits):
        return False
    return (sum(d * w for d, w in zip(digits, range(9, 1, -1), strict=False)) - digits[8]) % 11 == 0


def _bsns(text: str) -> Iterable[Finding]:
    for m in _BSN.finditer(text):
        if bsn_valid(m.group()):
            yield Finding(m.start(), m.end(), BSN)


def _postcodes(text: str) -> Iterable[Finding]:
    for m in _POSTCODE.finditer(text):
        if m.group()[4:6].upper() not in {"SA", "SD", "SS"}:
            yield Finding(m.start(), m.end(), ADDRESS)
    for m in _POSTCODE_AFTER_CUE.finditer(text):
        yield Finding(m.start(1), m.end(1), ADDRESS)


# --- dates ------------------------------------------------------------------------------


@cache
def _date_patterns() -> tuple[re.Pattern[str], ...]:
    months = "|".join(sorted(_rules().months, key=len, reverse=True))
    year = r"(?P<y>'?\d{2}(?![\d/.:,-]?\d)|\d{4}(?!\d))"
    return (
        re.compile(rf"(?<![\d/.-])(?P<d>\d{{1,2}})(?P<s>[-/.])(?P<m>\d{{1,2}})(?P=s){year}(?![\d/-]|\.\d)"),
        re.compile(r"(?<![\d-])(?P<y>\d{4})-(?P<m>\d{1,2})-(?P<d>\d{1,2})(?![\d-])"),
        re.compile(
            rf"(?<!\w)(?P<d>\d{{1,2}})(?:e|ste|de)?\s+(?P<mn>{months})\.?(?:\s+{year})?(?!\w)",
            re.IGNORECASE,
        ),
        re.compile(rf"(?<![\w\d])(?P<mn>{months})\.?\s+(?P<y>\d{{4}})(?!\d)", re.IGNORECASE),
        re.compile(r"(?<![\d/.-])(?P<d>\d{1,2})[-/](?P<m>\d{1,2})(?![\d/-])"),
    )


def _full_year(raw: str, today: date) -> int:
    value = int(raw.lstrip("'"))
    if len(raw.lstrip("'")) == 4:
        return value
    return 2000 + value if 2000 + value <= today.year else 1900 + value


def _dates(text: str) -> Iterable[Finding]:
    rules, today = _rules(), date.today()
    for pattern in _date_patterns():
        for m in pattern.finditer(text):
            groups = m.groupdict()
            month = rules.months[groups["mn"].lower()] if groups.get("mn") else int(groups["m"])
            day = int(groups["d"]) if groups.get("d") else 1
            if not (1 <= month <= 12 and 1 <= day <= 31):
                continue
            cue = rules.birth_cue.search(text[max(0, m.start() - 40) : m.start()]) or re.match(
                r"\s*(?:jarig|geboren)", text[m.end() :], re.IGNORECASE
            )
            year = _full_year(groups["y"], today) if groups.get("y") else None
            long_ago = year is not None and "d" in groups and year <= today.year - rules.birth_min_age
            if cue or long_ago:
                yield Finding(m.start(), m.end(), BIRTH_DATE)


# --- street addresses (spaCy) ------------------------------------------------------------

_HOUSE_NUMBER = r"^\d{1,5}(?:[a-zA-Z]{1,2}|-\d{1,3}[a-zA-Z]?|-[a-zA-Z]{1,3}|-?(?:hs|bis|I{1,3}))?$"
_HOUSE_SUFFIXES = {"bis", "hs", "huis", "boven", "beneden", "II", "III", "zw", "hg", "rd"}
_ADDRESS_FILLERS = {"op", "aan", "in", "is", ":", "de", "het", "nu", "naar"}
_TITLES = {"burg.", "burgemeester", "prof.", "professor", "dr.", "dokter", "st.", "sint", "mr.", "ds."}


@cache
def _street_matcher() -> Matcher:
    rules = _rules()
    matcher = Matcher(dutch().vocab)
    ends = "|".join(rules.street_suffixes)
    number = {"TEXT": {"REGEX": _HOUSE_NUMBER}}
    matcher.add("street", [[{"LOWER": {"REGEX": rf"^[\w'’.-]*(?:{ends})$"}}, number]])
    particles = sorted({w for chain in rules.particles for w in chain})
    matcher.add(
        "street_first",  # "Laan van Meerdervoort 120"
        [
            [
                {"LOWER": {"IN": list(rules.street_suffixes)}, "IS_TITLE": True},
                {"LOWER": {"IN": particles}, "OP": "+"},
                {"IS_TITLE": True, "OP": "+"},
                number,
            ]
        ],
    )
    matcher.add(
        "address_cue",  # "woont op Zonnedauw 14", "adres: Het Want 3"
        [
            [
                {"LOWER": {"IN": sorted(rules.address_cues)}},
                {"LOWER": {"IN": sorted(_ADDRESS_FILLERS)}, "OP": "*"},
                {"IS_TITLE": True, "OP": "+"},
                number,
            ]
        ],
    )
    return matcher


def _street_word_ok(token: Token, rules: _Rules) -> bool:
    lower = token.lower_
    if lower in rules.not_streets or lower in rules.not_names:
        return False
    suffix = next(s for s in rules.street_suffixes if lower.endswith(s))
    return token.is_title if lower == suffix else len(lower) >= len(suffix) + 3


def _streets(doc: Doc) -> Iterable[Finding]:
    rules = _rules()
    for match_id, start, end in _street_matcher()(doc):
        kind = doc.vocab.strings[match_id]
        if end < len(doc) and doc[end].lower_ in rules.units:
            continue
        if kind == "street" and not _street_word_ok(doc[start], rules):
            continue
        if kind == "address_cue":
            start += 1
            while doc[start].lower_ in _ADDRESS_FILLERS:
                start += 1
        while start > 0 and (
            doc[start - 1].lower_ in _TITLES
            or (
                doc[start - 1].is_title
                and doc[start - 1].lower_ not in STOP_WORDS
                and doc[start - 1].lower_ not in rules.not_names
            )
            or doc[start - 1].text in {"Van", "De", "Den", "Ter", "Ten", "Het", "'t"}
            or (
                doc[start - 1].lower_ in {"de", "van", "der", "den"}
                and start > 1
                and (doc[start - 2].is_title or doc[start - 2].lower_ in _TITLES)
            )
        ):
            start -= 1
        if end < len(doc) and doc[end].text in _HOUSE_SUFFIXES:
            end += 1
        yield Finding(doc[start].idx, doc[end - 1].idx + len(doc[end - 1]), ADDRESS)


# --- person names (spaCy) ----------------------------------------------------------------

_NAME_SHAPE = re.compile(r"[^\W\d_]+(?:['’-][^\W\d_]+)*")
_INITIALS = re.compile(r"(?:[A-Z]\.)+")
_ABBREVIATED_CUES = {"mw", "mevr", "mvr", "mnr", "dhr", "hr", "mr", "fam"}
_OPENERS = {"(", '"', "'", "“", "‘", "-", "–", "*", "•"}


def _shaped(token: Token) -> bool:
    """A word that could be a name: letters (hyphen, apostrophe), at least two, no acronym
    ("AOW-brief") and not all capitals."""
    text = token.text
    if len(text) < 2 or not _NAME_SHAPE.fullmatch(text):
        return False
    return not any(part.isupper() and len(part) > 1 for part in text.split("-"))


def _sentence_start(doc: Doc, i: int) -> bool:
    while i > 0 and doc[i - 1].text in _OPENERS:
        i -= 1
    if i == 0:
        return True
    prev = doc[i - 1]
    return "\n" in prev.text or (not any(ch.isalnum() for ch in prev.text) and prev.text not in {",", "&"})


def _is_cue(doc: Doc, i: int, rules: _Rules) -> str | None:
    word = doc[i].lower_.rstrip(".")
    if word in rules.strong_cues:
        return "strong"
    if word in rules.weak_cues and (word != "heer" or (i > 0 and doc[i - 1].lower_ == "de")):
        return "weak"
    return None


def _not_a_name(lower: str, rules: _Rules) -> bool:
    """A listed place, organisation or other non-name, also as part of "Wmo-brief"."""
    return lower in rules.not_names or any(part in rules.not_names for part in lower.split("-"))


def _plain_name(doc: Doc, i: int, rules: _Rules) -> bool:
    """Is token i a name by its own look and place (no cue word needed)?"""
    token = doc[i]
    lower = token.lower_
    if not _shaped(token) or _not_a_name(lower, rules) or lower in STOP_WORDS:
        return False
    if lower in rules.strong_cues or lower in rules.weak_cues:
        return False
    if not token.text[0].isupper():  # lowercase: a listed first name only
        return (
            lower in rules.first_names and lower not in rules.common_words and lower not in rules.vocabulary
        )
    if _sentence_start(doc, i):
        return lower in rules.first_names and lower not in rules.common_words
    if lower in rules.first_names or lower in rules.surnames:
        return True
    # An ordinary word written with a capital after an article ("de Huisarts") is not a name.
    return doc[i - 1].lower_ not in rules.determiners | {"de"} or lower not in rules.vocabulary


def _particle_end(doc: Doc, i: int, rules: _Rules) -> int:
    """The index after the longest particle chain starting at token i (i itself if none)."""
    for size in (3, 2, 1):
        words = tuple(t.lower_ for t in doc[i : i + size])
        if len(words) == size and words in rules.particles:
            return i + size
    return i


def _protected(doc: Doc, rules: _Rules) -> set[int]:
    """Token indices inside a multi-word non-name ("Veilig Thuis", "Leger des Heils")."""
    lowers = [t.lower_ for t in doc]
    protected: set[int] = set()
    for phrase in rules.not_name_phrases:
        for i in range(len(lowers) - len(phrase) + 1):
            if tuple(lowers[i : i + len(phrase)]) == phrase:
                protected.update(range(i, i + len(phrase)))
    return protected


def _cued_name(doc: Doc, i: int, strength: str, rules: _Rules) -> tuple[int, int] | None:
    """The name right after the cue word at token i: "mw. A. van Dijk" -> "A. van Dijk"."""
    j = i + 1
    if j < len(doc) and doc[j].text == "." and doc[i].lower_ in _ABBREVIATED_CUES:
        j += 1
    while j < len(doc) and doc[j].text == ":":
        j += 1
    start = j
    while j < len(doc) and _INITIALS.fullmatch(doc[j].text):
        j += 1
    k = _particle_end(doc, j, rules)
    if k >= len(doc):
        return None
    token, lower = doc[k], doc[k].lower_
    if not _shaped(token) or _not_a_name(lower, rules) or lower in STOP_WORDS or _is_cue(doc, k, rules):
        return None
    if not token.text[0].isupper():
        listed = lower in rules.first_names or lower in rules.surnames
        if strength != "strong" or not (listed or (k > j and lower not in rules.vocabulary)):
            return None
    return start, k + 1


def _names(doc: Doc) -> Iterable[Finding]:
    rules = _rules()
    protected = _protected(doc, rules)
    spans: list[tuple[int, int]] = []
    for i in range(len(doc)):
        if i in protected:
            continue
        strength = _is_cue(doc, i, rules)
        cued = _cued_name(doc, i, strength, rules) if strength else None
        if cued:
            spans.append(cued)
        elif _plain_name(doc, i, rules):
            spans.append((i, i + 1))
    for start, end in spans:
        start, end = _extend(doc, start, end, rules, protected)
        yield Finding(doc[start].idx, doc[end - 1].idx + len(doc[end - 1]), NAME)


def _extend(doc: Doc, start: int, end: int, rules: _Rules, protected: set[int]) -> tuple[int, int]:
    """Grow a name over first names, initials, particles and further capitalised names."""

    def capital_name(k: int) -> bool:
        token = doc[k]
        return (
            k not in protected
            and _shaped(token)
            and token.text[0].isupper()
            and not _not_a_name(token.lower_, rules)
            and token.lower_ not in STOP_WORDS
            and not _is_cue(doc, k, rules)
        )

    while end < len(doc):
        after = _particle_end(doc, end, rules)
        if after < len(doc) and capital_name(after):
            end = after + 1
        else:
            break
    while start > 0:
        prev = doc[start - 1]
        if _INITIALS.fullmatch(prev.text):
            start -= 1
        elif (
            prev.lower_ in {"van", "de", "der", "den", "ter", "ten", "'t"}
            and doc[start].text[0].isupper()
            and (doc[start].lower_ not in rules.first_names or doc[start].lower_ in rules.surnames)
        ):
            chain_start = start - 1
            while chain_start > 0 and _particle_end(doc, chain_start - 1, rules) == start:
                chain_start -= 1
            if _particle_end(doc, chain_start, rules) != start:
                break
            start = chain_start
        elif capital_name(start - 1) and (
            prev.lower_ in rules.first_names
            or prev.lower_ in rules.surnames
            or (prev.lower_ not in rules.vocabulary and not _sentence_start(doc, start - 1))
        ):
            start -= 1
        else:
            break
    return start, end


def _known(text: str, known_names: Iterable[str]) -> Iterable[Finding]:
    """Names the worker used before, also in other case, and parts of them: for "Pietje de Wit"
    also "de Wit", "Pietje" and "Wit"."""
    rules, seen = _rules(), set()
    for name in known_names:
        words = name.split()
        variants = [words, words[1:]] + [[w] for w in words if len(w) >= 3 and w.lower() not in STOP_WORDS]
        for variant in variants:
            key = " ".join(variant).lower()
            if len(key) < 2 or key in seen or key in rules.not_names or key in STOP_WORDS:
                continue
            seen.add(key)
            pattern = r"(?<!\w)" + r"\s+".join(map(re.escape, variant)) + r"(?!\w)"
            for m in re.finditer(pattern, text, re.IGNORECASE):
                yield Finding(m.start(), m.end(), NAME)
