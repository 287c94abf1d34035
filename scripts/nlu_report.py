"""Summarise Rasa's cross-validation output as a Markdown results file.

usage: python scripts/nlu_report.py RESULTS_DIR OUTPUT_MD
"""

from __future__ import annotations

import json
import sys
from datetime import UTC, datetime
from pathlib import Path

SUMMARY_ROWS = ("macro avg", "weighted avg", "micro avg")


def main(results_dir: Path, output: Path) -> None:
    report = json.loads((results_dir / "intent_report.json").read_text())
    intents = sorted(k for k, v in report.items() if isinstance(v, dict) and k not in SUMMARY_ROWS)
    lines = [
        "# NLU cross-validation report",
        "",
        f"Written by `make nlu-report` on {datetime.now(UTC):%Y-%m-%d %H:%M} UTC: "
        "`rasa test nlu --cross-validation --folds 3` on the training data in `nlu/`, "
        "with the pipeline in `config.yml`. Figures are for held-out folds.",
        "",
        f"**Intent F1 (weighted): {report['weighted avg']['f1-score']:.3f}** · "
        f"macro F1: {report['macro avg']['f1-score']:.3f} · accuracy: {report.get('accuracy', 0):.3f}",
        "",
        "| intent | precision | recall | F1 | examples |",
        "|---|---|---|---|---|",
    ]
    for name in intents:
        row = report[name]
        scores = " | ".join(f"{row[key]:.3f}" for key in ("precision", "recall", "f1-score"))
        lines.append(f"| {name} | {scores} | {row['support']} |")
    selection = results_dir / "response_selection_report.json"
    if selection.exists():
        keys = json.loads(selection.read_text())
        lines += [
            "",
            f"**Retrieval (ResponseSelector) accuracy: {keys.get('accuracy', 0):.3f}** · "
            f"weighted F1: {keys['weighted avg']['f1-score']:.3f}",
            "",
            "| question key | precision | recall | F1 | examples |",
            "|---|---|---|---|---|",
        ]
        for name in sorted(k for k, v in keys.items() if isinstance(v, dict) and k not in SUMMARY_ROWS):
            row = keys[name]
            scores = " | ".join(f"{row[key]:.3f}" for key in ("precision", "recall", "f1-score"))
            lines.append(f"| {name} | {scores} | {row['support']} |")
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text("\n".join(lines) + "\n")
    print(f"intent F1 (weighted) {report['weighted avg']['f1-score']:.3f} -> {output}")


if __name__ == "__main__":
    main(Path(sys.argv[1]), Path(sys.argv[2]))
