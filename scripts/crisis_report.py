"""Recall and false alarms of the crisis detector, measured honestly (`make crisis-report`).

The detector is a classifier (coach/crisis_model.py) over the wording and the cues of the
rules in coach/crisis.py, in two tiers (the crisis answer; the help numbers in one line with
the normal answer). Three kinds of figures, from most to least trustworthy:

- the held-out batches (status "untouched"): written before they were measured, each
  measurement recorded in the file;
- leave-one-batch-out cross-validation over the training sets: each batch is predicted by a
  model trained on the other batches only (the cues it uses were tuned on all of them, so
  this is still somewhat optimistic);
- the figures on the sets it was trained on (optimistic by construction).

It also measures the latency per message and writes results/crisis-report.md.

    python scripts/crisis_report.py [results/crisis-report.md]
"""

from __future__ import annotations

import statistics
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from coach import crisis, crisis_model  # noqa: E402
from coach.crisis import CrisisKind  # noqa: E402
from coach.crisis_model import Classifier, Example  # noqa: E402
from scripts.privacy_report import (  # noqa: E402
    TARGETS,
    CrisisFigures,
    load_blind_batches,
    load_crisis_set,
    measure_crisis,
)

OUTPUT = ROOT / "results" / "crisis-report.md"
THRESHOLDS = (0.1, 0.15, 0.2, 0.25, 0.3, 0.35, 0.4, 0.45, 0.5, 0.55, 0.6, 0.7, 0.8, 0.9, 0.95)


def count(items: Sequence[tuple[str, CrisisKind | None]], got: Sequence[CrisisKind | None]) -> CrisisFigures:
    """The figures of predictions `got` against the labels of `items`."""
    fig = CrisisFigures()
    for (text, expected), kind in zip(items, got, strict=True):
        if expected is None:
            fig.questions += 1
            if kind is not None:
                fig.false_alarms += 1
                fig.alarms.append(f"{kind.name}: {text}")
        elif kind is None:
            fig.crisis_messages += 1
            fig.misses.append(f"{expected.name}: {text}")
        else:
            fig.crisis_messages += 1
            fig.detected += 1
            fig.right_kind += kind is expected
            if kind is not expected:
                fig.kind_errors.append(f"{expected.name} as {kind.name}: {text}")
    return fig


@dataclass(frozen=True)
class Tiers:
    """What the worker gets, per kind of message: the crisis answer, the help line, or neither."""

    crisis_messages: int
    crisis_answers: int  # crisis messages answered with the crisis answer
    crisis_lines: int  # crisis messages answered with the help line (and the normal answer)
    ordinary_messages: int
    ordinary_answers: int  # ordinary messages answered with the crisis answer: false alarms
    ordinary_lines: int  # ordinary messages that got the help line with their answer

    @property
    def numbers_shown(self) -> float:
        return (self.crisis_answers + self.crisis_lines) / self.crisis_messages

    def line(self) -> str:
        c, o = self.crisis_messages, self.ordinary_messages
        return (
            f"help numbers at once for {self.crisis_answers + self.crisis_lines}/{c} crisis messages "
            f"= {self.numbers_shown:.3f} ({self.crisis_answers} crisis answers, {self.crisis_lines} "
            f"help line(s)); ordinary messages: crisis answer {self.ordinary_answers}/{o} = "
            f"{self.ordinary_answers / o:.1%}, help line {self.ordinary_lines}/{o} = "
            f"{self.ordinary_lines / o:.1%}"
        )


def tiers(items: Sequence[tuple[str, CrisisKind | None]]) -> Tiers:
    found = [(kind is not None, crisis.assess(text)) for text, kind in items]
    real = [a for is_crisis, a in found if is_crisis]
    ordinary = [a for is_crisis, a in found if not is_crisis]
    return Tiers(
        len(real),
        sum(a.kind is not None for a in real),
        sum(a.possible for a in real),
        len(ordinary),
        sum(a.kind is not None for a in ordinary),
        sum(a.possible for a in ordinary),
    )


def _items(examples: Sequence[Example]) -> list[tuple[str, CrisisKind | None]]:
    return [(e.text, CrisisKind(e.kind) if e.kind else None) for e in examples]


@dataclass
class CrossValidation:
    examples: list[Example]
    probabilities: np.ndarray  # out of fold: each from a model that never saw its batch

    def figures(self, threshold: float, groups: set[str] | None = None) -> CrisisFigures:
        """Figures at `threshold`. Only whether a message is a crisis is cross-validated; a
        detected message counts with its right kind."""
        rows = [i for i, e in enumerate(self.examples) if groups is None or e.group in groups]
        items = _items([self.examples[i] for i in rows])
        fired = [self.probabilities[i] >= threshold for i in rows]
        got = [
            (kind or CrisisKind.SUICIDE) if fire else None
            for fire, (_, kind) in zip(fired, items, strict=True)
        ]
        return count(items, got)


def cross_validate(examples: Sequence[Example] | None = None) -> CrossValidation:
    """Leave one batch out: each batch predicted by a classifier trained on the others."""
    examples = list(examples if examples is not None else crisis_model.load_examples())
    probabilities = np.zeros(len(examples))
    for group in sorted({e.group for e in examples}):
        rows = [i for i, e in enumerate(examples) if e.group == group]
        model = Classifier().fit([e for e in examples if e.group != group])
        probabilities[rows] = model.probabilities([examples[i].text for i in rows])
    return CrossValidation(examples, probabilities)


def training_alarm_rates(examples: Sequence[Example] | None = None) -> dict[float, float]:
    """Per threshold, the false-alarm rate of the trained model on the messages it learned from."""
    examples = list(examples if examples is not None else crisis_model.load_examples())
    ordinary = [e.text for e in examples if e.kind is None]
    probabilities = crisis_model.classifier().probabilities(ordinary)
    return {t: float(np.mean(probabilities >= t)) for t in THRESHOLDS}


def training_threshold(alarm_aim: float) -> float:
    """The lowest threshold (most recall) whose false alarms on the training sets meet the aim."""
    rates = training_alarm_rates()
    return min((t for t in THRESHOLDS if rates[t] <= alarm_aim), default=max(THRESHOLDS))


def latency(texts: Sequence[str]) -> dict[str, float]:
    """Milliseconds per message, warm: the whole detector (wall clock), and the classifier's
    own share (CPU time)."""
    model = crisis_model.classifier()
    crisis.detect("warm up")
    whole, own = [], []
    for text in texts:
        crisis._analyse.cache_clear()  # measure the rules too, not a cached answer
        start = time.perf_counter()
        crisis.detect(text)
        whole.append((time.perf_counter() - start) * 1000)
        start = time.process_time()  # CPU time: the machine may be busy with other work
        model.probabilities([text])
        own.append((time.process_time() - start) * 1000)
    whole.sort()
    return {
        "messages": len(texts),
        "mean": statistics.fmean(whole),
        "p95": whole[int(0.95 * (len(whole) - 1))],
        "classifier_mean": statistics.fmean(own),
    }


def _figures(fig: CrisisFigures) -> str:
    return (
        f"{fig.detected}/{fig.crisis_messages} = {fig.recall:.3f} "
        f"| {fig.false_alarms}/{fig.questions} = {fig.false_alarm_rate:.1%}"
    )


def _line(fig: CrisisFigures) -> str:
    return (
        f"recall {fig.detected}/{fig.crisis_messages} = {fig.recall:.3f}, "
        f"false alarms {fig.false_alarms}/{fig.questions} = {fig.false_alarm_rate:.1%}"
    )


def _alarms(fig: CrisisFigures) -> str:
    return f"{fig.false_alarms}/{fig.questions} = {fig.false_alarm_rate:.1%}"


def _nlu(cv: CrossValidation) -> set[str]:
    return {e.group for e in cv.examples if e.group.startswith("nlu:")}


def _crisis_sets(cv: CrossValidation) -> set[str]:
    return {e.group for e in cv.examples} - _nlu(cv)


def _high_by_cv(cv: CrossValidation, alarm_aim: float) -> float:
    """The lowest threshold whose cross-validated false alarms on the crisis sets meet the aim."""
    sets = _crisis_sets(cv)
    return min((t for t in THRESHOLDS if cv.figures(t, sets).false_alarm_rate <= alarm_aim), default=1.0)


def _mark(ok: bool) -> str:
    return "✅" if ok else "❌"


def _tier_lists(items: Sequence[tuple[str, CrisisKind | None]]) -> dict[str, list[str]]:
    """The held-out messages that did not get what they should, by what they got."""
    out: dict[str, list[str]] = {"line_only": [], "missed": [], "alarms": [], "lines": []}
    for text, kind in items:
        got = crisis.assess(text)
        if kind is not None and got.kind is None:
            out["line_only" if got.possible else "missed"].append(f"{kind.name}: {text}")
        elif kind is None and got.kind is not None:
            out["alarms"].append(f"{got.kind.name}: {text}")
        elif kind is None and got.possible:
            out["lines"].append(text)
    return out


def report() -> tuple[str, CrisisFigures | None]:
    recall_aim, alarm_aim = TARGETS["crisis_recall"], TARGETS["false_alarm"]
    batches = load_blind_batches()
    held_out = [b for b in batches if b.status.startswith(crisis_model.HELD_OUT)]
    held_items = [item for b in held_out for item in b.items]
    held = measure_crisis(held_items) if held_out else None
    held_rules = count(held_items, [crisis.rules_detect(t) for t, _ in held_items])
    cv = cross_validate()
    by_training = training_threshold(alarm_aim)
    sets = _crisis_sets(cv)
    low, high = crisis_model.THRESHOLD, crisis_model.CERTAIN
    when = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    lines = [
        "# Crisis detector report",
        "",
        f"Written by `make crisis-report` on {when}. The detector (`coach.crisis.assess`) is a "
        "logistic regression over character and word n-grams of the message and the cues of the "
        "rules in `coach/content/crisis.yml` (question form, past, now, a labelled client, ...), "
        "trained on every labelled set except the held-out batches, and on the assistant's NLU "
        "data (nlu/*.yml) as ordinary messages (`coach/crisis_model.py`). It answers in two tiers:",
        "",
        f"- **crisis answer** (the fixed answer with 112, 113, Veilig Thuis, the crisis service "
        f"and for abuse the meldcode; it interrupts the flow): probability ≥ {high}, or ≥ {low} "
        "when the hand-written rules fire too. The kind comes from the rules when they fire, "
        "else from a second classifier;",
        f"- **help line** (one line with 112, 113, Veilig Thuis and the crisis service, before the "
        f"normal answer; the flow goes on): probability ≥ {low} otherwise.",
        "",
        f"{low} is the lowest threshold at which the trained model keeps false alarms ≤ "
        f"{alarm_aim:.0%} on the ordinary messages it learned from ({by_training} by that rule "
        f"today); {high} the lowest at which leave-one-batch-out cross-validation keeps false "
        f"alarms ≤ {alarm_aim:.0%} on the crisis sets' ordinary messages, the hard ones (table "
        f"below; {_high_by_cv(cv, alarm_aim)} by that rule today). Target (issue 5): recall ≥ "
        f"{recall_aim:.2f} on real crisis messages, false alarms ≤ {alarm_aim:.0%} on ordinary "
        "messages about the same topics. All messages are invented.",
        "",
    ]
    if held is not None:
        both = tiers(held_items)
        line_rate = both.ordinary_lines / both.ordinary_messages
        lines += [
            "## Held-out figures: what a worker gets",
            "",
            "Batches written and committed before the detector they measure, nothing tuned on "
            "them; each one's status says when. The most honest estimate:",
            "",
        ]
        for batch in held_out:
            lines.append(f"- {batch.name} ({batch.status}): {tiers(batch.items).line()}")
        lines += [
            f"- together: {both.line()}",
            "",
            f"- help numbers at once for a real crisis: **{both.numbers_shown:.3f}** (target ≥ "
            f"{recall_aim:.2f} {_mark(both.numbers_shown >= recall_aim)})",
            f"- the full crisis answer for a real crisis: **{held.recall:.3f}** "
            f"({_mark(held.recall >= recall_aim)} if the target means the full answer)",
            f"- the crisis answer for an ordinary message (false alarm): **{held.false_alarm_rate:.1%}** "
            f"(target ≤ {alarm_aim:.0%} {_mark(held.false_alarm_rate <= alarm_aim)})",
            f"- the help line with an ordinary message: **{line_rate:.1%}** "
            "(the price of not missing any; a line, not an interruption)",
            "",
            f"The rules alone on the same batches: {_line(held_rules)}.",
            "",
            "As recorded in the files at each measurement:",
            "",
            *[f"- {b.name}: {row}" for b in held_out for row in b.first_run],
            "",
        ]
    lines += [
        "## Cross-validated figures (leave one batch out)",
        "",
        f"{len(cv.examples)} messages in {len({e.group for e in cv.examples})} batches (the "
        "sections of crisis_messages.yml, crisis_blind.yml to crisis_blind8.yml, "
        "crisis_training12.yml and each NLU "
        "file); each batch is predicted by a classifier trained on the other batches only (the "
        "classifier alone, without the rules' second say). Somewhat optimistic, since the "
        "rules' cues were tuned on these batches.",
        "",
        f"- the help numbers (≥ {low}): crisis sets **{_line(cv.figures(low, sets))}**; NLU data "
        f"(how the assistant is used): help numbers with {_alarms(cv.figures(low, _nlu(cv)))}",
        f"- the crisis answer (≥ {high}): crisis sets **{_line(cv.figures(high, sets))}**; NLU "
        f"data: {_alarms(cv.figures(high, _nlu(cv)))}",
        "",
        "| threshold | recall | false alarms, crisis sets | false alarms, NLU data |",
        "|---|---|---|---|",
    ]
    for t in THRESHOLDS:
        fig, nlu = cv.figures(t, sets), cv.figures(t, _nlu(cv))
        lines.append(
            f"| {t} | {fig.detected}/{fig.crisis_messages} = {fig.recall:.3f} "
            f"| {_alarms(fig)} | {_alarms(nlu)} |"
        )
    lines += [
        "",
        "Tried and not kept (2026-12-01): the same classifier with a multilingual sentence "
        "embedding added (multilingual-e5-small, 4-bit, the only such model a package brings "
        "here; nothing can be fetched from a model hub). Same cross-validation: the crisis "
        "answer at 0.95 recall 0.622 → 0.685 (false alarms 3.6% → 3.9%), at 5% false alarms "
        "0.726 → 0.747; with the rules' second say (0.15 / 0.95) recall 0.919 → 0.925 and help "
        "lines on ordinary messages 23.5% → 19.7%. Too little for a 91 MB native dependency "
        "from one author; the wording alone does not carry much more.",
    ]
    lines += ["", f"Per batch, at {low}:", "", "| batch | recall | false alarms |", "|---|---|---|"]
    for group in sorted({e.group for e in cv.examples}):
        lines.append(f"| {group} | {_figures(cv.figures(low, {group}))} |")
    tuning = measure_crisis(load_crisis_set())
    rules_tuning = count(load_crisis_set(), [crisis.rules_detect(t) for t, _ in load_crisis_set()])
    lines += [
        "",
        "## Per set: the crisis answer (trained on all but the held-out batches: optimistic)",
        "",
        "| set | status | messages | recall now | false alarms now "
        "| rules alone: recall | rules alone: false alarms | at first sight |",
        "|---|---|---|---|---|---|---|---|",
        f"| crisis_messages | trained on; the rules were shaped on it | {len(load_crisis_set())} "
        f"| {_figures(tuning)} | {_figures(rules_tuning)} | – |",
    ]
    for batch in batches:
        fig = measure_crisis(list(batch.items))
        rules = count(batch.items, [crisis.rules_detect(t) for t, _ in batch.items])
        first = batch.first_run[-1] if batch.first_run else "–"
        row = f"{len(batch.items)} | {_figures(fig)} | {_figures(rules)} | {first}"
        lines.append(f"| {batch.name} | {batch.status} | {row} |")
    speed = latency([text for text, _ in load_crisis_set()][:300])
    lines += [
        "",
        "## Latency",
        "",
        f"Over {speed['messages']} messages, warm, on this machine: the whole detector (rules and "
        f"classifier) {speed['mean']:.1f} ms per message on average, {speed['p95']:.1f} ms at the "
        f"95th percentile (wall clock, on a shared machine; most of it is the rules' spaCy pass); "
        f"the classifier's own share {speed['classifier_mean']:.2f} ms of CPU time. Training "
        "at first use reads every labelled message with the rules (about half a minute); the "
        "trained model is then kept in a cache file (`~/.cache/deuropener/crisis-model-*.pickle`, "
        "keyed by the data, the rules and the code) and loaded from there next time.",
    ]
    if held is not None:
        found = _tier_lists(held_items)
        sections = [
            ("crisis messages that got only the help line", found["line_only"]),
            ("crisis messages that got nothing", found["missed"]),
            ("ordinary messages that got the crisis answer", found["alarms"]),
            ("ordinary messages that got the help line", found["lines"]),
        ]
        for title, rows in sections:
            lines += ["", f"## Held-out batches: {title}", ""]
            lines += [f"- {row}" for row in rows] or ["- none"]
    return "\n".join(lines) + "\n", held


def main(output: Path) -> None:
    text, held = report()
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(text, encoding="utf-8")
    summary = f"held-out recall {held.recall:.3f}, false alarms {held.false_alarm_rate:.1%}" if held else ""
    print(f"crisis report: {summary} -> {output}")


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else OUTPUT)
