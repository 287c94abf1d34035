"""Read facts about a client's situation from a worker's own words.

Phrases from coach/content/situations.yml are matched on lemmas, so "uit huis gezet" and
"uit huis zetten" both count. A negation shortly before a phrase ("niet wantrouwig")
records the fact as false, which rules that strategy out instead of suggesting it.
"""

from __future__ import annotations

from functools import cache

from spacy.matcher import PhraseMatcher
from spacy.tokens import Doc

from coach import content
from coach.nlp import dutch

NEGATION_WINDOW = 3
# Words that end the reach of a negation: "geen hulp, maar wel een woning".
SCOPE_BREAKERS = {"maar", "en", "of", "want", "omdat", "terwijl"}


@cache
def _matcher() -> PhraseMatcher:
    nlp = dutch()
    matcher = PhraseMatcher(nlp.vocab, attr="LEMMA")
    for fact, spec in content.load("situations")["facts"].items():
        matcher.add(fact, [nlp(phrase.lower()) for phrase in spec["phrases"]])
    return matcher


@cache
def _negations() -> frozenset[str]:
    return frozenset(content.load("situations")["negation_words"])


def _negated(doc: Doc, start: int) -> bool:
    for token in reversed(doc[max(0, start - NEGATION_WINDOW) : start]):
        if token.is_punct or token.lower_ in SCOPE_BREAKERS:
            return False
        if token.lower_ in _negations():
            return True
    return False


def extract_facts(text: str) -> dict[str, bool]:
    """Map each situation fact mentioned in `text` to True, or False when it is negated.

    A fact that is both affirmed and negated in one message counts as affirmed.
    """
    doc = dutch()(text.lower())
    facts: dict[str, bool] = {}
    for match_id, start, _end in _matcher()(doc):
        fact = doc.vocab.strings[match_id]
        facts[fact] = facts.get(fact, False) or not _negated(doc, start)
    return facts
