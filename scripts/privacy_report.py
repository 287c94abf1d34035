"""Measure the scrubber and the crisis detector on their labelled test sets.

usage: python scripts/privacy_report.py [OUTPUT_MD]   (default results/privacy-report.md)

The sets are tests/data/scrub_messages.yml and tests/data/crisis_messages.yml; their headers
explain the labels. tests/test_scrubber.py and tests/test_crisis.py assert the same figures.
The crisis detector is also measured, separately, on the blind batches
tests/data/crisis_blind*.yml (written after a round of rule changes, first measured before
any tuning on them), which show how it does on wording it was not shaped on.
"""

from __future__ import annotations

import re
import sys
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import yaml

from coach import crisis, scrubber

ROOT = Path(__file__).resolve().parent.parent
SCRUB_SET = ROOT / "tests" / "data" / "scrub_messages.yml"
CRISIS_SET = ROOT / "tests" / "data" / "crisis_messages.yml"
BLIND_PREFIX = "crisis_blind"
OUTPUT = ROOT / "results" / "privacy-report.md"

NUMBER_LIKE = (
    scrubber.BSN,
    scrubber.PHONE,
    scrubber.EMAIL,
    scrubber.IBAN,
    scrubber.ADDRESS,
    scrubber.BIRTH_DATE,
)
TARGETS = {
    "number_recall": 0.95,
    "name_recall": 0.85,
    "false_removal": 0.05,
    "crisis_recall": 0.98,
    "false_alarm": 0.05,
    "blind_recall": 0.85,  # an aim for wording the rules were not shaped on
    "blind_false_alarm": 0.10,
}
_MARK = re.compile(r"\[\[([a-z-]+):(.+?)\]\]")
_WORD = re.compile(r"\w+")


@dataclass(frozen=True)
class Labelled:
    text: str
    spans: tuple[tuple[int, int, str], ...]  # (start, end, category) of each detail
    known: tuple[str, ...] = ()

    @property
    def expected(self) -> str:
        """The text with each detail replaced by its placeholder."""
        out, last = [], 0
        for start, end, category in self.spans:
            out += [self.text[last:start], f"[{category}]"]
            last = end
        return "".join(out) + self.text[last:]


def parse(entry: str | dict) -> Labelled:
    """Read one marked-up message: "bel [[naam:Kevin]]" -> text and the span of "Kevin"."""
    raw, known = (entry, ()) if isinstance(entry, str) else (entry["text"], tuple(entry.get("known", ())))
    text, spans, last = "", [], 0
    for m in _MARK.finditer(raw):
        text += raw[last : m.start()]
        spans.append((len(text), len(text) + len(m.group(2)), m.group(1)))
        text += m.group(2)
        last = m.end()
    return Labelled(text + raw[last:], tuple(spans), known)


def _sections(path: Path) -> dict:
    return {k: v for k, v in yaml.safe_load(path.read_text(encoding="utf-8")).items() if k != "first_runs"}


def first_runs(path: Path) -> list[str]:
    """Figures of the blind batches at first sight, kept in the data file."""
    return yaml.safe_load(path.read_text(encoding="utf-8")).get("first_runs", [])


def load_scrub_sections() -> dict[str, list[Labelled]]:
    return {name: [parse(entry) for entry in entries] for name, entries in _sections(SCRUB_SET).items()}


def load_scrub_set() -> list[Labelled]:
    return [item for items in load_scrub_sections().values() for item in items]


def load_crisis_sections() -> dict[str, list[tuple[str, crisis.CrisisKind | None]]]:
    """Batches of messages: crisis sections map kinds to texts, `*no_crisis` ones list texts."""
    batches: dict[str, list[tuple[str, crisis.CrisisKind | None]]] = {}
    for name, section in _sections(CRISIS_SET).items():
        batch = name.removesuffix("no_crisis").removesuffix("crisis").rstrip("_") or "first"
        items = batches.setdefault(batch, [])
        if isinstance(section, dict):
            items += [(t, crisis.CrisisKind[kind.upper()]) for kind, texts in section.items() for t in texts]
        else:
            items += [(t, None) for t in section]
    return batches


def load_crisis_set() -> list[tuple[str, crisis.CrisisKind | None]]:
    return [item for items in load_crisis_sections().values() for item in items]


@dataclass(frozen=True)
class BlindBatch:
    name: str
    status: str  # whether the rules were tuned on it after its first measurement
    first_run: tuple[str, ...]  # its figures at first sight, as recorded in the file
    items: tuple[tuple[str, crisis.CrisisKind | None], ...]


def blind_paths() -> list[Path]:
    """tests/data/crisis_blind.yml, crisis_blind2.yml, ... in the order they were written."""
    paths = (ROOT / "tests" / "data").glob(f"{BLIND_PREFIX}*.yml")
    return sorted(paths, key=lambda p: int(p.stem.removeprefix(BLIND_PREFIX) or 1))


def load_blind_batches() -> list[BlindBatch]:
    batches = []
    for path in blind_paths():
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        items = [
            (t, crisis.CrisisKind[kind.upper()]) for kind, texts in data["crisis"].items() for t in texts
        ]
        items += [(t, None) for t in data["no_crisis"]]
        batches.append(BlindBatch(path.stem, data["status"], tuple(data["first_run"]), tuple(items)))
    return batches


@dataclass
class ScrubFigures:
    messages: int = 0
    details: Counter[str] = field(default_factory=Counter)
    recalled: Counter[str] = field(default_factory=Counter)
    ordinary_words: int = 0
    removed_words: int = 0
    extra_findings: Counter[str] = field(default_factory=Counter)  # findings outside every detail
    exact: int = 0
    misses: list[str] = field(default_factory=list)
    wrong_removals: list[str] = field(default_factory=list)

    def recall(self, categories: tuple[str, ...]) -> float:
        total = sum(self.details[c] for c in categories)
        return sum(self.recalled[c] for c in categories) / total if total else 1.0

    @property
    def false_removal(self) -> float:
        return self.removed_words / self.ordinary_words if self.ordinary_words else 0.0


def measure_scrubber(items: list[Labelled]) -> ScrubFigures:
    """Recall per category (every letter and digit of a detail replaced, with the right label)
    and the share of ordinary words (outside every detail) that were removed."""
    fig = ScrubFigures(messages=len(items))
    for item in items:
        found = scrubber.find(item.text, item.known)
        for start, end, category in item.spans:
            fig.details[category] += 1
            covered = {i for f in found if f.category == category for i in range(f.start, f.end)}
            if all(i in covered for i in range(start, end) if item.text[i].isalnum()):
                fig.recalled[category] += 1
            else:
                fig.misses.append(f"{category}: {item.text}")
        removed = {i for f in found for i in range(f.start, f.end)}
        for word in _WORD.finditer(item.text):
            if any(word.start() < end and start < word.end() for start, end, _ in item.spans):
                continue
            fig.ordinary_words += 1
            if any(i in removed for i in range(word.start(), word.end())):
                fig.removed_words += 1
                fig.wrong_removals.append(f"{word.group()!r} in: {item.text}")
        for f in found:
            if not any(f.start < end and start < f.end for start, end, _ in item.spans):
                fig.extra_findings[f.category] += 1
        fig.exact += scrubber.scrub(item.text, item.known).text == item.expected
    return fig


@dataclass
class CrisisFigures:
    crisis_messages: int = 0
    detected: int = 0
    right_kind: int = 0
    questions: int = 0
    false_alarms: int = 0
    misses: list[str] = field(default_factory=list)
    alarms: list[str] = field(default_factory=list)
    kind_errors: list[str] = field(default_factory=list)

    @property
    def recall(self) -> float:
        return self.detected / self.crisis_messages if self.crisis_messages else 1.0

    @property
    def false_alarm_rate(self) -> float:
        return self.false_alarms / self.questions if self.questions else 0.0


def measure_crisis(items: list[tuple[str, crisis.CrisisKind | None]]) -> CrisisFigures:
    fig = CrisisFigures()
    for text, expected in items:
        got = crisis.detect(text)
        if expected is None:
            fig.questions += 1
            if got is not None:
                fig.false_alarms += 1
                fig.alarms.append(f"{got.name}: {text}")
            continue
        fig.crisis_messages += 1
        if got is None:
            fig.misses.append(f"{expected.name}: {text}")
            continue
        fig.detected += 1
        if got is expected:
            fig.right_kind += 1
        else:
            fig.kind_errors.append(f"{expected.name} as {got.name}: {text}")
    return fig


def _mark(ok: bool) -> str:
    return "✅" if ok else "❌"


def report(scrub: ScrubFigures, crisis_fig: CrisisFigures) -> str:
    number_recall = scrub.recall(NUMBER_LIKE)
    lines = [
        "# Privacy and safety report",
        "",
        f"Written by `make privacy-report` on {datetime.now(UTC):%Y-%m-%d %H:%M} UTC from the labelled "
        "sets in `tests/data/` (invented messages, no real personal data).",
        "",
        "## Scrubber (`coach/scrubber.py`)",
        "",
        f"{scrub.messages} messages, {sum(scrub.details.values())} details. A detail counts as found "
        "when every letter and digit of it is replaced by the right placeholder.",
        "",
        "| category | details | found | recall | target |",
        "|---|---|---|---|---|",
    ]
    for category in (*NUMBER_LIKE, scrubber.NAME):
        target = TARGETS["name_recall"] if category == scrubber.NAME else TARGETS["number_recall"]
        recall = scrub.recall((category,))
        lines.append(
            f"| {category} | {scrub.details[category]} | {scrub.recalled[category]} | {recall:.3f} "
            f"| ≥ {target:.2f} {_mark(recall >= target)} |"
        )
    lines += [
        f"| **number-like together** | {sum(scrub.details[c] for c in NUMBER_LIKE)} "
        f"| {sum(scrub.recalled[c] for c in NUMBER_LIKE)} | **{number_recall:.3f}** "
        f"| ≥ {TARGETS['number_recall']:.2f} {_mark(number_recall >= TARGETS['number_recall'])} |",
        "",
        f"- Ordinary words wrongly removed: **{scrub.removed_words} of {scrub.ordinary_words} = "
        f"{scrub.false_removal:.1%}** (target ≤ {TARGETS['false_removal']:.0%} "
        f"{_mark(scrub.false_removal <= TARGETS['false_removal'])}).",
        f"- Replacements where no detail was: {sum(scrub.extra_findings.values())} "
        f"({', '.join(f'{k} {v}' for k, v in sorted(scrub.extra_findings.items())) or 'none'}).",
        f"- Messages scrubbed exactly as expected: {scrub.exact} of {scrub.messages} "
        f"({scrub.exact / scrub.messages:.1%}).",
        "",
        "## Crisis detector (`coach/crisis.py`)",
        "",
        f"{crisis_fig.crisis_messages} real crisis messages and {crisis_fig.questions} ordinary questions "
        "about the same topics.",
        "",
        "| measure | value | target |",
        "|---|---|---|",
        f"| recall on crisis messages | {crisis_fig.detected}/{crisis_fig.crisis_messages} = "
        f"**{crisis_fig.recall:.3f}** | ≥ {TARGETS['crisis_recall']:.2f} "
        f"{_mark(crisis_fig.recall >= TARGETS['crisis_recall'])} |",
        f"| false alarms on questions | {crisis_fig.false_alarms}/{crisis_fig.questions} = "
        f"**{crisis_fig.false_alarm_rate:.1%}** | ≤ {TARGETS['false_alarm']:.0%} "
        f"{_mark(crisis_fig.false_alarm_rate <= TARGETS['false_alarm'])} |",
        f"| right kind among detected | {crisis_fig.right_kind}/{crisis_fig.detected} | (no target) |",
        "",
        "**Read with care:** this set also shaped the rules, so these figures are optimistic. "
        "The blind batches below show what to expect on wording the rules have not seen: the "
        "scrubber held up, the crisis detector misses many new phrasings.",
    ]
    blind_lines, blind_misses, blind_alarms = _blind()
    lines += blind_lines
    lines += _batches()
    for title, rows in (
        ("Details missed", scrub.misses),
        ("Ordinary words removed", scrub.wrong_removals),
        ("Crisis messages missed", crisis_fig.misses),
        ("False alarms", crisis_fig.alarms),
        ("Crisis detected as another kind", crisis_fig.kind_errors),
        ("Blind batches: crisis messages missed now", blind_misses),
        ("Blind batches: false alarms now", blind_alarms),
    ):
        lines += ["", f"### {title} ({len(rows)})", ""]
        lines += [f"- {row}" for row in rows] or ["- none"]
    return "\n".join(lines) + "\n"


def _blind() -> tuple[list[str], list[str], list[str]]:
    """The crisis detector on the blind batches: figures now, at first sight, and the misses."""
    lines = [
        "",
        "## Crisis detector on blind batches (separate from the tuning set)",
        "",
        "Each batch (`tests/data/crisis_blind*.yml`) was written after a round of rule changes "
        "and measured before any tuning on it; those first measurements are recorded in the file "
        "and listed below. Batches that were tuned on afterwards no longer count as blind; the "
        "untouched one is the honest estimate for new wording. Aim: recall ≥ "
        f"{TARGETS['blind_recall']:.2f}, false alarms ≤ {TARGETS['blind_false_alarm']:.0%}.",
        "",
        "| batch | status | recall now | false alarms now |",
        "|---|---|---|---|",
    ]
    firsts, misses, alarms = [], [], []
    batches = load_blind_batches()
    for batch in batches:
        fig = measure_crisis(list(batch.items))
        lines.append(
            f"| {batch.name} | {batch.status} | {fig.detected}/{fig.crisis_messages} = {fig.recall:.3f} "
            f"| {fig.false_alarms}/{fig.questions} = {fig.false_alarm_rate:.1%} |"
        )
        firsts += [f"- {batch.name}, {row}" for row in batch.first_run]
        misses += [f"{batch.name}: {row}" for row in fig.misses]
        alarms += [f"{batch.name}: {row}" for row in fig.alarms]
    untouched = [b for b in batches if b.status.startswith("untouched")]
    if untouched:
        fig = measure_crisis([item for b in untouched for item in b.items])
        recall_aim, alarm_aim = TARGETS["blind_recall"], TARGETS["blind_false_alarm"]
        lines += [
            "",
            f"**Untouched blind batch{'es' if len(untouched) > 1 else ''}:** recall "
            f"{fig.detected}/{fig.crisis_messages} = **{fig.recall:.3f}** "
            f"(aim ≥ {recall_aim:.2f} {_mark(fig.recall >= recall_aim)}), false alarms "
            f"{fig.false_alarms}/{fig.questions} = **{fig.false_alarm_rate:.1%}** "
            f"(aim ≤ {alarm_aim:.0%} {_mark(fig.false_alarm_rate <= alarm_aim)}).",
        ]
    lines += ["", "First measurements, as recorded in the batches:", "", *firsts]
    return lines, misses, alarms


def _batches() -> list[str]:
    """Figures per batch now, and for the blind batches also at first sight."""
    lines = [
        "",
        "## Per batch",
        "",
        "| scrubber batch | messages | number-like recall | name recall | words removed |",
    ]
    lines.append("|---|---|---|---|---|")
    for name, items in load_scrub_sections().items():
        fig = measure_scrubber(items)
        numbers, names = fig.recall(NUMBER_LIKE), fig.recall((scrubber.NAME,))
        has_numbers, has_names = any(fig.details[c] for c in NUMBER_LIKE), fig.details[scrubber.NAME]
        lines.append(
            f"| {name} | {len(items)} | {f'{numbers:.3f}' if has_numbers else '–'} "
            f"| {f'{names:.3f}' if has_names else '–'} | {fig.false_removal:.1%} |"
        )
    lines += [
        "",
        "| crisis batch | crisis messages | recall | questions | false alarms |",
        "|---|---|---|---|---|",
    ]
    for name, items in load_crisis_sections().items():
        fig = measure_crisis(items)
        lines.append(
            f"| {name} | {fig.crisis_messages} | {fig.recall:.3f} | {fig.questions} "
            f"| {fig.false_alarm_rate:.1%} |"
        )
    lines += [
        "",
        "Blind batches, written after a round of tuning and measured before the next one "
        "(how the rules do on phrasings they were not shaped on):",
        "",
    ]
    lines += [f"- scrubber, {row}" for row in first_runs(SCRUB_SET)]
    lines += [f"- crisis, {row}" for row in first_runs(CRISIS_SET)]
    return lines


def main(output: Path) -> None:
    scrub = measure_scrubber(load_scrub_set())
    crisis_fig = measure_crisis(load_crisis_set())
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(report(scrub, crisis_fig), encoding="utf-8")
    blind_figures = {b.name: measure_crisis(list(b.items)) for b in load_blind_batches()}
    blind = "; ".join(f"{n} {f.recall:.3f}/{f.false_alarm_rate:.1%}" for n, f in blind_figures.items())
    print(
        f"scrubber: number-like recall {scrub.recall(NUMBER_LIKE):.3f}, "
        f"name recall {scrub.recall((scrubber.NAME,)):.3f}, false removal {scrub.false_removal:.1%}; "
        f"crisis: recall {crisis_fig.recall:.3f}, false alarms {crisis_fig.false_alarm_rate:.1%}; "
        f"blind (recall/false alarms): {blind} -> {output}"
    )


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else OUTPUT)
