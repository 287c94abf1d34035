"""Recall and false alarms of the crisis detector, measured honestly (`make crisis-report`).

The detector is a classifier (coach/crisis_model.py) over the wording and the cues of the
rules in coach/crisis.py. Three kinds of figures, from most to least trustworthy:

- the held-out batch (status "untouched"): written before the classifier was measured,
  measured once, its first measurement recorded in the file;
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
THRESHOLDS = (0.1, 0.15, 0.2, 0.25, 0.3, 0.35, 0.4, 0.45, 0.5, 0.55, 0.6)


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

    def threshold(self, recall: float) -> float:
        """The highest threshold (fewest false alarms) that keeps cross-validated recall."""
        return max((t for t in THRESHOLDS if self.figures(t).recall >= recall), default=min(THRESHOLDS))


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


def _mark(ok: bool) -> str:
    return "✅" if ok else "❌"


def report() -> tuple[str, CrisisFigures | None]:
    recall_aim, alarm_aim = TARGETS["crisis_recall"], TARGETS["false_alarm"]
    batches = load_blind_batches()
    held_out = [b for b in batches if b.status.startswith(crisis_model.HELD_OUT)]
    held_items = [item for b in held_out for item in b.items]
    held = measure_crisis(held_items) if held_out else None
    held_rules = count(held_items, [crisis.rules_detect(t) for t, _ in held_items])
    cv = cross_validate()
    cv_fig = cv.figures(crisis_model.THRESHOLD)
    chosen = cv.threshold(recall_aim)
    by_training = training_threshold(alarm_aim)
    rework = {e.group for e in cv.examples if e.group.endswith(":rework")}
    others = {e.group for e in cv.examples} - rework
    when = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    lines = [
        "# Crisis detector report",
        "",
        f"Written by `make crisis-report` on {when}. The detector (`coach.crisis.detect`) is a "
        "logistic regression over character and word n-grams of the message and the cues of the "
        "rules in `coach/content/crisis.yml` (question form, past, now, a labelled client, ...), "
        "trained on every labelled set except the held-out batch (`coach/crisis_model.py`). A "
        f"message is a crisis at probability ≥ {crisis_model.THRESHOLD} ({by_training} by the rule: the "
        f"lowest threshold, so the most recall, at which the trained model keeps false alarms ≤ "
        f"{alarm_aim:.0%} on the sets it learned from). The kind comes from the rules when "
        "they fire, else from a second classifier. The rules no longer decide on their own: on "
        "batch 8, which they were never tuned on, letting their strong phrases fire as well "
        "gained no recall and added false alarms. Target (issue 5): recall ≥ "
        f"{recall_aim:.2f} on real crisis messages, false alarms ≤ {alarm_aim:.0%} on ordinary "
        "messages about the same topics. All messages are invented.",
        "",
    ]
    if held is not None:
        lines += [
            "## Held-out figure",
            "",
            f"{', '.join(b.name for b in held_out)}: written and committed before the classifier "
            "was measured on anything, nothing tuned on it. Measured when the classifier was done "
            "(recall 1.000, false alarms 19.0%) and once more after 30 answers typed in a flow "
            "(“cliënt A”, which the flow test showed it took for a crisis) joined its training "
            "data, at the threshold below (the earlier rule, the highest threshold that keeps "
            "cross-validated recall ≥ 0.98, then fell to 0.15, where the model fails the "
            "false-alarm target on its own training sets):",
            "",
            f"- recall **{held.detected}/{held.crisis_messages} = {held.recall:.3f}** "
            f"(target ≥ {recall_aim:.2f} {_mark(held.recall >= recall_aim)})",
            f"- false alarms **{held.false_alarms}/{held.questions} = {held.false_alarm_rate:.1%}** "
            f"(target ≤ {alarm_aim:.0%} {_mark(held.false_alarm_rate <= alarm_aim)})",
            f"- right kind among detected: {held.right_kind}/{held.detected}",
            "",
            "As recorded in the file at the last measurement: "
            + "; ".join(row for b in held_out for row in b.first_run[-1:]),
            "",
            f"The rules alone on the same batch: {_line(held_rules)}. The classifier buys recall "
            "with false alarms: on wording nobody tuned on it misses little, but it also answers "
            "ordinary messages about the same topics with the crisis answer, mostly events that "
            "are over (“het vuurtje van gisteren is gedoofd”) and everyday remarks with a topic "
            "word. Neither meets both targets on fresh wording; the false alarms are what is "
            "left to do (more labelled everyday remarks and resolved events, a cue for “it is "
            "over”).",
            "",
        ]
    lines += [
        "## Cross-validated figure (leave one batch out)",
        "",
        f"{len(cv.examples)} messages in {len({e.group for e in cv.examples})} batches (the "
        "sections of crisis_messages.yml and crisis_blind.yml to crisis_blind8.yml); each batch "
        "is predicted by a classifier trained on the other batches only. The second honest "
        "estimate; somewhat optimistic, since the rules' cues were tuned on these batches.",
        "",
        f"- at the threshold {crisis_model.THRESHOLD}: **{_line(cv_fig)}** "
        f"(targets {_mark(cv_fig.recall >= recall_aim)} / {_mark(cv_fig.false_alarm_rate <= alarm_aim)})",
        f"- without the rework probes ({', '.join(sorted(rework))}: 170 everyday remarks such as "
        "“ze heeft vannacht slecht geslapen”, a kind of message no other batch has): "
        f"{_line(cv.figures(crisis_model.THRESHOLD, others))}",
        f"- the highest threshold that keeps cross-validated recall ≥ {recall_aim:.2f}: {chosen}; "
        "below the threshold used, since at it the model fails the false-alarm target even on "
        "the sets it learned from",
        "",
        "| threshold | recall | false alarms |",
        "|---|---|---|",
    ]
    for t in THRESHOLDS:
        fig = cv.figures(t)
        lines.append(
            f"| {t} | {fig.detected}/{fig.crisis_messages} = {fig.recall:.3f} "
            f"| {fig.false_alarms}/{fig.questions} = {fig.false_alarm_rate:.1%} |"
        )
    lines += ["", "Per batch, at the threshold:", "", "| batch | recall | false alarms |", "|---|---|---|"]
    for group in sorted({e.group for e in cv.examples}):
        lines.append(f"| {group} | {_figures(cv.figures(crisis_model.THRESHOLD, {group}))} |")
    tuning = measure_crisis(load_crisis_set())
    rules_tuning = count(load_crisis_set(), [crisis.rules_detect(t) for t, _ in load_crisis_set()])
    lines += [
        "",
        "## Per set (the classifier is trained on all but the held-out batch: optimistic)",
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
    lines += ["", "First measurements of each blind batch, as recorded in the files:", ""]
    for batch in batches:
        lines += [f"- {batch.name}: {row}" for row in batch.first_run]
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
        lines += ["", "## Held-out batch: crisis messages missed", ""]
        lines += [f"- {row}" for row in held.misses] or ["- none"]
        lines += ["", "## Held-out batch: false alarms", ""]
        lines += [f"- {row}" for row in held.alarms] or ["- none"]
        lines += ["", "## Held-out batch: detected as another kind", ""]
        lines += [f"- {row}" for row in held.kind_errors] or ["- none"]
    return "\n".join(lines) + "\n", held


def main(output: Path) -> None:
    text, held = report()
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(text, encoding="utf-8")
    summary = f"held-out recall {held.recall:.3f}, false alarms {held.false_alarm_rate:.1%}" if held else ""
    print(f"crisis report: {summary} -> {output}")


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else OUTPUT)
