"""The shared Dutch spaCy pipeline: blank `nl` with lookup lemmas, no model download."""

from __future__ import annotations

from functools import cache

import spacy
from spacy.language import Language


@cache
def dutch() -> Language:
    """A blank Dutch pipeline with the lookup lemmatizer (tables from spacy-lookups-data)."""
    nlp = spacy.blank("nl")
    nlp.add_pipe("lemmatizer", config={"mode": "lookup"})
    nlp.initialize()
    return nlp
