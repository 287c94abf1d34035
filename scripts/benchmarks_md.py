"""Render BENCHMARKS.md from the figures in results/bench/*.json (written by bench_serving.py)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

TARGETS = {
    "ratio": 2.0,  # full-path throughput / stock throughput, 20 workers
    "p95_ms": 300,  # full path, 20 workers
    "cold_start_s": 25,
    "train_s": 300,
    "rss_mib": 2048,
    "soak_growth_pct": 10,
}


def _load(folder: Path, name: str) -> dict[str, Any] | None:
    path = folder / f"{name}.json"
    return json.loads(path.read_text()) if path.exists() else None


def _mark(ok: bool) -> str:
    return "met" if ok else "**not met**"


def _row(label: str, stock: dict[str, Any], full: dict[str, Any]) -> str:
    def cell(f: dict[str, Any]) -> str:
        errors = f" ({f['errors']} errors)" if f["errors"] else ""
        figures = f"{f['msg_per_s']} msg/s · p50 {f['p50_ms']} ms · p95 {f['p95_ms']} ms"
        return f"{figures} · {f['messages']} msgs{errors}"

    return f"| {label} | {cell(stock)} | {cell(full)} |"


def _serve(data: dict[str, Any]) -> list[str]:
    stock, full = data["stock"], data["full"]
    ratio = full["concurrent"]["msg_per_s"] / stock["concurrent"]["msg_per_s"]
    m = data["machine"]
    lines = [
        "## Stock Rasa serving and the full path, side by side",
        "",
        f"Measured {data['measured']} by `make bench-serving` on {m['cpus']} CPUs ({m['cpu']}), "
        f"{m['memory_gib']} GiB, Python {m['python']}; one run, same trained model, stock first.",
        "",
        "- **Stock**: `rasa run` with the REST channel and its defaults (in-memory tracker and lock store, "
        "INFO logging) and one action server; the workers are REST clients.",
        "- **Full path**: fake Telegram Bot API → nginx → 2 bot processes (webhook) → nginx → 2 Rasa "
        "servers → nginx → 2 action servers; PostgreSQL (application database, tracker store) and Redis "
        "(lock store). "
        "Latency is from the update's POST to the bot's last message of the answer at the fake Bot API.",
        "",
        "| load | stock | full path |",
        "|---|---|---|",
        _row("1 worker, one message after another", stock["sequential"], full["sequential"]),
        _row(f"{data['workers']} workers at once, no pause", stock["concurrent"], full["concurrent"]),
        _row(
            f"{data['workers']} workers at a phone pace ({data['pace_s']:.0f} s per turn)",
            stock["paced"],
            full["paced"],
        ),
        f"| cold start to first answer | {stock['cold_start_s']} s | {full['cold_start_s']} s |",
        f"| resident memory, whole stack | {stock['rss_mib']} MiB | {full['rss_mib']} MiB |",
        "",
        f"Throughput ratio at {data['workers']} workers (full / stock): **{ratio:.2f}×** "
        f"(target ≥ {TARGETS['ratio']:.0f}×: {_mark(ratio >= TARGETS['ratio'])}).",
        f"Full-path p95 at {data['workers']} workers: {full['concurrent']['p95_ms']} ms flat out, "
        f"{full['paced']['p95_ms']} ms at a phone pace (target ≤ {TARGETS['p95_ms']} ms: "
        f"{_mark(full['paced']['p95_ms'] <= TARGETS['p95_ms'])} at a phone pace, "
        f"{_mark(full['concurrent']['p95_ms'] <= TARGETS['p95_ms'])} flat out).",
        f"Cold start: {full['cold_start_s']} s (target ≤ {TARGETS['cold_start_s']} s: "
        f"{_mark(full['cold_start_s'] <= TARGETS['cold_start_s'])}). "
        f"Memory: {full['rss_mib']} MiB "
        f"(target ≤ {TARGETS['rss_mib']} MiB: {_mark(full['rss_mib'] <= TARGETS['rss_mib'])}).",
        f"Unanswered messages after the run: {full['unanswered']}.",
        "",
    ]
    if stock.get("profile") and full.get("profile"):
        lines += [
            "Where a Rasa server's time goes while the workers talk at once (py-spy, share of samples; "
            "the buckets overlap, e.g. an action call inside a policy loop):",
            "",
            "| | stock Rasa | a Rasa server of the full path |",
            "|---|---|---|",
            *(
                f"| {name} | {stock['profile'].get(name, 0)} % | {full['profile'].get(name, 0)} % |"
                for name in full["profile"]
            ),
            "",
        ]
    return lines


def _soak(data: dict[str, Any]) -> list[str]:
    load = data["load"]
    ok = load["errors"] == 0 and data["unanswered"] == 0 and data["growth_pct"] <= TARGETS["soak_growth_pct"]
    return [
        "## Soak",
        "",
        f"Measured {data['measured']} by `make soak`: the full path as above, {data['workers']} workers "
        f"at a phone pace for {data['minutes']:.0f} minutes (loopback only).",
        "",
        f"- {load['messages']} messages answered ({load['msg_per_s']} msg/s), p50 {load['p50_ms']} ms, "
        f"p95 {load['p95_ms']} ms; {load['errors']} errors; {data['unanswered']} messages left unanswered.",
        f"- Resident memory of the stack: {data['rss_start_mib']} MiB after warm-up, "
        f"{data['rss_end_mib']} MiB at the end (peak {data['rss_peak_mib']} MiB): "
        f"growth {data['growth_pct']} % (target ≤ {TARGETS['soak_growth_pct']} %).",
        f"- Soak targets (no errors, nothing lost, growth within bounds): {_mark(ok)}.",
        "",
    ]


def _train(data: dict[str, Any]) -> list[str]:
    seconds = data["seconds"]
    return [
        "## Training",
        "",
        f"Measured {data['measured']} by `make bench-train`: a full `rasa train` (no cache) took {seconds} s "
        f"(target ≤ {TARGETS['train_s']} s: {_mark(seconds <= TARGETS['train_s'])}).",
        "",
    ]


def write(folder: Path, out: Path) -> Path:
    lines = [
        "# Benchmarks",
        "",
        "Written by `scripts/benchmarks_md.py` from `results/bench/*.json`; rerun the make target named in "
        "each section to measure again. Targets are those of issue 9. Where the time goes and what was "
        "changed for it: see the last section.",
        "",
    ]
    for name, render in (("serve", _serve), ("soak", _soak), ("train", _train)):
        data = _load(folder, name)
        if data is not None:
            lines += render(data)
    notes = folder / "notes.md"
    if notes.exists():
        lines += [notes.read_text().rstrip(), ""]
    out.write_text("\n".join(lines))
    return out
