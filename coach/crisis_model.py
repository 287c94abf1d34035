"""The trained half of the crisis detector: a linear classifier over the wording and the cues
of the rules, which generalises better than the rules to wording nobody tuned on.

The rules in coach/crisis.py reach their target on every set they were tuned on and fall far
short on each fresh batch (results/crisis-report.md). This model learns from the same labelled
messages (tests/data/crisis_messages.yml and the blind batches except the held-out one, whose
status starts with "untouched"): character n-grams (robust to typos, compounds and phone
spelling) and word n-grams of the message, plus the cues the rules find (a question, the past,
"now", a labelled client, a figure of speech, ...). The rules' verdict and hits are left out:
they were tuned on the training sets, so the model learns to copy them, and then does no
better than the rules on fresh wording (batch 8: recall 0.60 to 0.63). It is trained at first
use, deterministically, and kept in a cache file; nothing is downloaded.
"""

from __future__ import annotations

import hashlib
import os
import pickle
import re
import tempfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import numpy as np
import sklearn
import yaml
from scipy import sparse
from sklearn.feature_extraction import DictVectorizer
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.multiclass import OneVsRestClassifier

from coach import content, crisis
from coach.crisis import CrisisKind

DATA_DIR = Path(__file__).resolve().parent.parent / "tests" / "data"
CACHE_DIR = Path(os.environ.get("DEUROPENER_CACHE", Path.home() / ".cache" / "deuropener"))
HELD_OUT = "untouched"  # the status of a batch no model or rule may learn from
SEED = 0
C = 16.0  # inverse regularisation strength of both models (16 beat 4 and 64 on cross-validation)
RULE_WEIGHT = 1.0  # the scale of the rules' signals next to the n-gram features
# The help numbers from this probability on: the lowest threshold at which the trained model
# keeps false alarms ≤ 5% on the ordinary messages it learned from (scripts/crisis_report.py).
THRESHOLD = 0.15
# The full crisis answer, which interrupts whatever the worker was doing, from this probability
# on (or from THRESHOLD when the rules fire too): the lowest threshold at which grouped
# cross-validation keeps false alarms ≤ 5% on the crisis sets' ordinary messages (the hard
# ones: the same topics; the NLU data left out). See results/crisis-report.md.
CERTAIN = 0.95
# A message of this many words or fewer is too short to call a crisis by its wording alone: the
# crisis answer only when the rules fire, the help line only when they see a crisis word. Every
# short crisis message in the labelled sets has one; a flow's answers ("haar vriend", "zijn
# vrouw", "het kind") have none and drew the classifier's guesses (tests/test_crisis.py).
SHORT = 3


@dataclass(frozen=True)
class Example:
    text: str
    kind: str | None  # a CrisisKind value, or None for an ordinary message
    group: str  # the batch it was written in, for grouped cross-validation


NLU_DIR = Path(__file__).resolve().parent.parent / "nlu"
_ANNOTATION = re.compile(r"\[([^\]]*)\](?:\([^)]*\)|\{[^}]*\})")  # Rasa's [text](entity) markup


def nlu_examples() -> list[Example]:
    """Everything workers say to the assistant in Rasa's training data (nlu/*.yml), as ordinary
    messages: "help me een berichtje sturen" is how the app is used, not a cry for help."""
    out: list[Example] = []
    for path in sorted(NLU_DIR.glob("*.yml")):
        for block in yaml.safe_load(path.read_text(encoding="utf-8")).get("nlu") or []:
            examples = block.get("examples") if isinstance(block, dict) and "intent" in block else None
            for line in (examples or "").splitlines():
                text = _ANNOTATION.sub(r"\1", line.strip().removeprefix("- ").strip())
                if text:
                    out.append(Example(text, None, f"nlu:{path.stem}"))
    return out


def load_examples(*, held_out: bool = False) -> list[Example]:
    """The labelled messages: the tuning set by its sections (each written as one batch), the
    blind batches and the assistant's NLU data (ordinary), without the held-out batches unless
    `held_out` (then only those)."""
    out: list[Example] = [] if held_out else nlu_examples()
    for path in sorted(DATA_DIR.glob("crisis*.yml")):
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        blind = "status" in data
        if blind and data["status"].startswith(HELD_OUT) != held_out:
            continue
        if not blind and held_out:
            continue
        for key, value in data.items():
            if not key.endswith("crisis"):
                continue
            section = key.removesuffix("no_crisis").removesuffix("crisis").rstrip("_") or "first"
            group = path.stem if blind else f"{path.stem}:{section}"
            if isinstance(value, dict):
                out += [Example(t, kind, group) for kind, texts in value.items() for t in texts]
            else:
                out += [Example(t, None, group) for t in value]
    return out


def _plain(text: str) -> str:
    """The text as the rules read it: lowercase, no accents or emoji, short forms spelt out."""
    words = crisis._plain(text).split()
    return " ".join(crisis._SHORT_FORMS.get(w, w) for w in words)


_RULE_FEATURES = {
    "none": (),
    "cues": ("cue:", "question_mark"),
    "evidence": ("cue:", "question_mark", "hit:", "kind:"),
    "all": ("cue:", "question_mark", "hit:", "kind:", "rules:"),
}


@dataclass
class Classifier:
    c: float = C
    rule_weight: float = RULE_WEIGHT
    # Which of the rules' signals to use: "none", "cues" (question, past, now, a labelled
    # client, ...), "evidence" (cues and the kinds and tiers hit) or "all" (and the verdict).
    # Compared on batch 8 (never used to tune the rules): "cues" does best; see the header.
    rules: str = "cues"

    def fit(self, examples: Sequence[Example]) -> Classifier:
        texts = [e.text for e in examples]
        self._chars = TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 5), sublinear_tf=True, min_df=2)
        self._words = TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True)  # words of two letters or more
        self._rules = DictVectorizer()
        plain = [_plain(t) for t in texts]
        self._chars.fit(plain)
        self._words.fit(plain)
        self._rules.fit([self._signals(t) for t in texts] or [{}])
        x, _ = self._matrix(texts)
        y = np.array([e.kind is not None for e in examples])
        self._binary = LogisticRegression(
            C=self.c, class_weight="balanced", solver="liblinear", random_state=SEED
        )
        self._binary.fit(x, y)
        crisis_rows = np.flatnonzero(y)
        self._kinds = OneVsRestClassifier(LogisticRegression(C=self.c, solver="liblinear", random_state=SEED))
        self._kinds.fit(x[crisis_rows], [examples[i].kind for i in crisis_rows])
        return self

    def _matrix(self, texts: Iterable[str]) -> tuple[sparse.csr_matrix, np.ndarray]:
        """The features of each message, and whether it has a word the model knows."""
        texts = list(texts)
        plain = [_plain(t) for t in texts]
        words = self._words.transform(plain)
        parts = [self._chars.transform(plain), words]
        if self.rules != "none":
            parts.append(self._rules.transform([self._signals(t) for t in texts]) * self.rule_weight)
        return sparse.hstack(parts, format="csr"), np.diff(words.indptr) > 0

    def _signals(self, text: str) -> dict[str, float]:
        prefixes = _RULE_FEATURES[self.rules]
        return {k: v for k, v in crisis.signals(text)[1].items() if k.startswith(prefixes)}

    def probabilities(self, texts: Sequence[str]) -> np.ndarray:
        """The probability that each message is a crisis; 0 for a message without a single
        word the model knows ("<b></b>", another script), where it would only give its prior."""
        x, known = self._matrix(texts)
        return np.where(known, self._binary.predict_proba(x)[:, 1], 0.0)

    def kind(self, text: str) -> CrisisKind:
        """The most likely kind, assuming `text` is a crisis."""
        return CrisisKind(self._kinds.predict(self._matrix([text])[0])[0])


@cache
def classifier() -> Classifier:
    """The classifier trained on every labelled message except the held-out batch. Training
    reads every message with the rules (about half a minute), so the trained model is kept in
    a cache file keyed by the data, the rules and this code, and loaded from there next time."""
    path = CACHE_DIR / f"crisis-model-{_fingerprint()}.pickle"
    if path.exists():
        try:
            with path.open("rb") as f:
                model = pickle.load(f)  # our own file, written below
            if isinstance(model, Classifier):
                return model
        except Exception:  # a truncated or incompatible file: train again
            pass
    model = Classifier().fit(load_examples())
    CACHE_DIR.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile(dir=CACHE_DIR, delete=False) as f:
        pickle.dump(model, f)
    os.replace(f.name, path)
    return model


def _fingerprint() -> str:
    """A hash of what the trained model depends on: the labelled data, the rules and the code."""
    sources = [
        Path(__file__),
        Path(crisis.__file__),
        content.CONTENT_DIR / "crisis.yml",
        *sorted(DATA_DIR.glob("crisis*.yml")),
        *sorted(NLU_DIR.glob("*.yml")),
    ]
    digest = hashlib.sha256(sklearn.__version__.encode())
    for source in sources:
        digest.update(source.read_bytes())
    return digest.hexdigest()[:16]


def assess(text: str) -> crisis.Assessment:
    """Two tiers. The fixed crisis answer when the classifier is sure (`CERTAIN`; a message
    longer than `SHORT`) or when the rules fire and the classifier finds it plausible
    (`THRESHOLD`); the kind from the rules when they fire, else from the second classifier.
    Otherwise, from `THRESHOLD`: possibly a crisis, and the help numbers go with the normal
    answer in one line (with the kind it would likely be, for the full answer on request)."""
    model = classifier()
    probability = model.probabilities([text])[0]
    if probability < THRESHOLD:
        return crisis.Assessment()
    kind, signals = crisis.signals(text)
    if kind is not None:
        return crisis.Assessment(kind=kind)
    if len(text.split()) <= SHORT:  # "haar vriend", "zijn vrouw": the answer to a flow's question
        if not any(name.startswith("hit:") for name in signals):
            return crisis.Assessment()
    elif probability >= CERTAIN:
        return crisis.Assessment(kind=model.kind(text))
    return crisis.Assessment(possible=True, likely=model.kind(text))
