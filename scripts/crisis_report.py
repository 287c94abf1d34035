"""Recall and false alarms of the crisis detector per labelled set (`make crisis-report`).

Reads the tuning set (tests/data/crisis_messages.yml) and the blind batches
(tests/data/crisis_blind*.yml, each with its status and its first measurement) and writes
results/crisis-report.md: per set the figures now and at first sight, and the held-out
figure (the batch measured once after the last rule change) apart from the rest.

    python scripts/crisis_report.py [results/crisis-report.md]
"""

from __future__ import annotations

import sys
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from scripts.privacy_report import (  # noqa: E402
    TARGETS,
    CrisisFigures,
    load_blind_batches,
    load_crisis_set,
    measure_crisis,
)

OUTPUT = ROOT / "results" / "crisis-report.md"


def _figures(fig: CrisisFigures) -> str:
    return (
        f"{fig.detected}/{fig.crisis_messages} = {fig.recall:.3f} "
        f"| {fig.false_alarms}/{fig.questions} = {fig.false_alarm_rate:.1%}"
    )


def report() -> tuple[str, CrisisFigures | None]:
    tuning = measure_crisis(load_crisis_set())
    batches = load_blind_batches()
    held_out = [b for b in batches if b.status.startswith("untouched")]
    held = measure_crisis([item for b in held_out for item in b.items]) if held_out else None
    recall_aim, alarm_aim = TARGETS["crisis_recall"], TARGETS["false_alarm"]
    when = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    lines = [
        "# Crisis detector report",
        "",
        f"Written by `make crisis-report` on {when} (`coach/crisis.py`, rules in "
        "`coach/content/crisis.yml`). Target (issue 5): recall ≥ "
        f"{recall_aim:.2f} on real crisis messages, false alarms ≤ {alarm_aim:.0%} on ordinary "
        "messages about the same topics. All messages are invented.",
        "",
    ]
    if held is not None:
        ok = held.recall >= recall_aim and held.false_alarm_rate <= alarm_aim
        lines += [
            "## Held-out figure",
            "",
            f"{', '.join(b.name for b in held_out)}: written after the last round of rule changes "
            "and measured once, nothing tuned on it. This is the honest estimate for new wording:",
            "",
            f"- recall **{held.detected}/{held.crisis_messages} = {held.recall:.3f}** "
            f"(target ≥ {recall_aim:.2f} {'✅' if held.recall >= recall_aim else '❌'})",
            f"- false alarms **{held.false_alarms}/{held.questions} = {held.false_alarm_rate:.1%}** "
            f"(target ≤ {alarm_aim:.0%} {'✅' if held.false_alarm_rate <= alarm_aim else '❌'})",
            "",
            "The target is met on every set the rules were tuned on, "
            + ("and on the held-out batch too." if ok else "but not on the held-out batch: ")
            + (
                ""
                if ok
                else "each round of lexicon and cue work fixes the wording it sees, and the next "
                "fresh batch brings new wording again (see the first measurements below). Treat "
                "the figures on tuned sets as optimistic."
            ),
            "",
        ]
    lines += [
        "## Per set",
        "",
        "| set | status | messages | recall now | false alarms now | at first sight |",
        "|---|---|---|---|---|---|",
        f"| crisis_messages (tuning set) | the rules were shaped on it | "
        f"{tuning.crisis_messages + tuning.questions} | {_figures(tuning)} | – |",
    ]
    for batch in batches:
        fig = measure_crisis(list(batch.items))
        first = batch.first_run[-1] if batch.first_run else "–"
        lines.append(f"| {batch.name} | {batch.status} | {len(batch.items)} | {_figures(fig)} | {first} |")
    lines += ["", "First measurements of each blind batch, as recorded in the files:", ""]
    for batch in batches:
        lines += [f"- {batch.name}: {row}" for row in batch.first_run]
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
