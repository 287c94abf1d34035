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


def _row(label: str, *runs: dict[str, Any]) -> str:
    def cell(f: dict[str, Any]) -> str:
        errors = f" ({f['errors']} errors)" if f["errors"] else ""
        figures = f"{f['msg_per_s']} msg/s · p50 {f['p50_ms']} ms · p95 {f['p95_ms']} ms"
        return f"{figures} · {f['messages']} msgs{errors}"

    return f"| {label} | {' | '.join(cell(f) for f in runs)} |"


def _verdict(name: str, full: dict[str, Any], stock: dict[str, Any], workers: int) -> list[str]:
    """The issue's targets for one full-path run."""
    ratio = full["concurrent"]["msg_per_s"] / stock["concurrent"]["msg_per_s"]
    return [
        f"**{name}:** throughput ratio at {workers} workers (full / stock) **{ratio:.2f}×** "
        f"(target ≥ {TARGETS['ratio']:.0f}×: {_mark(ratio >= TARGETS['ratio'])}); "
        f"p95 {full['concurrent']['p95_ms']} ms flat out, {full['paced']['p95_ms']} ms at a phone pace "
        f"(target ≤ {TARGETS['p95_ms']} ms: {_mark(full['paced']['p95_ms'] <= TARGETS['p95_ms'])} at a "
        f"phone pace, {_mark(full['concurrent']['p95_ms'] <= TARGETS['p95_ms'])} flat out); "
        f"cold start {full['cold_start_s']} s (target ≤ {TARGETS['cold_start_s']} s: "
        f"{_mark(full['cold_start_s'] <= TARGETS['cold_start_s'])}); "
        f"memory {full['rss_mib']} MiB (target ≤ {TARGETS['rss_mib']} MiB: "
        f"{_mark(full['rss_mib'] <= TARGETS['rss_mib'])}); unanswered after the run: {full['unanswered']}.",
        "",
    ]


def _serve(data: dict[str, Any]) -> list[str]:
    stock, full = data["stock"], data["full"]
    runs = [("stock", stock), ("full path, 2 replicas of each kind", full)]
    if data.get("single"):
        runs.append(("full path, 1 replica of each kind", data["single"]))
    if data.get("unlimited"):
        runs.append(("full path, 1 of each, no Telegram rate limit", data["unlimited"]))
    m, workers = data["machine"], data["workers"]
    figures = [f for _, f in runs]
    lines = [
        "## Stock Rasa serving and the full path, side by side",
        "",
        f"Measured {data['measured']} by `make bench-serving` on {m['cpus']} CPUs ({m['cpu']}), "
        f"{m['memory_gib']} GiB, Python {m['python']}; one run, same trained model, stock first.",
        "",
        "- **Stock**: `rasa run` with the REST channel and its defaults (in-memory tracker and lock store, "
        "INFO logging) and one action server; the workers are REST clients.",
        "- **Full path**: fake Telegram Bot API → nginx → bot processes (webhook) → nginx → Rasa "
        "servers → nginx → action servers; PostgreSQL (application database, tracker store) and Redis "
        "(lock store). Two replicas of each kind is the scale-out deployment (the multi-replica test); "
        "one of each is how a single machine would run it, where replicas share the same cores. "
        "Latency is from the update's POST to the bot's last message of the answer at the fake Bot API.",
        "- **Telegram's rate limit**: the bots keep to the ~30 Bot API requests a second Telegram allows "
        "one bot (python-telegram-bot's `AIORateLimiter`; with two bot processes 15 each), as they must "
        "in production. Every answer is at least one request, so this caps the full path's throughput "
        "whatever the stack can do; the last column has the limiter off (`TELEGRAM_RATE_LIMIT=0`) to "
        "show the stack's own capacity.",
        "",
        f"| load | {' | '.join(name for name, _ in runs)} |",
        "|---|" + "---|" * len(runs),
        _row("1 worker, one message after another", *(f["sequential"] for f in figures)),
        _row(f"{workers} workers at once, no pause", *(f["concurrent"] for f in figures)),
        _row(
            f"{workers} workers at a phone pace ({_pace(data)})",
            *(f["paced"] for f in figures),
        ),
        "| cold start to first answer | " + " | ".join(f"{f['cold_start_s']} s" for f in figures) + " |",
        "| resident memory, whole stack | " + " | ".join(f"{f['rss_mib']} MiB" for f in figures) + " |",
        "",
    ]
    for name, run in runs[1:]:
        lines += _verdict(name[0].upper() + name[1:], run, stock, workers)
    lines += _cpu_table(runs)
    profiled = [(name, f["profile"]) for name, f in runs if f.get("profile")]
    if len(profiled) > 1:
        lines += [
            "Where a Rasa server's time goes while the workers talk at once (py-spy, share of samples; "
            "the buckets overlap, e.g. an action call inside a policy loop):",
            "",
            f"| | {' | '.join(name for name, _ in profiled)} |",
            "|---|" + "---|" * len(profiled),
            *(f"| {b} | {' | '.join(f'{p.get(b, 0)} %' for _, p in profiled)} |" for b in profiled[0][1]),
            "",
        ]
    return lines


def _cpu_table(runs: list[tuple[str, dict[str, Any]]]) -> list[str]:
    """CPU per answered message by kind of process, while the workers talk at once."""
    measured = [(name, f["cpu_ms_per_msg"]) for name, f in runs if f.get("cpu_ms_per_msg")]
    if not measured:
        return []
    kinds = [
        k
        for k in ("rasa", "actions", "bot", "nginx", "postgres", "redis")
        if any(k in c for _, c in measured)
    ]
    return [
        "CPU time per answered message while the workers talk at once (all processes of a kind together; "
        "PostgreSQL and Redis are the machine's servers):",
        "",
        f"| | {' | '.join(name for name, _ in measured)} |",
        "|---|" + "---|" * len(measured),
        *(f"| {kind} | {' | '.join(f'{c.get(kind, 0)} ms' for _, c in measured)} |" for kind in kinds),
        f"| **total** | {' | '.join(f'**{sum(c.values()):.1f} ms**' for _, c in measured)} |",
        "",
    ]


def _soak(data: dict[str, Any]) -> list[str]:
    load = data["load"]
    ok = load["errors"] == 0 and data["unanswered"] == 0 and data["growth_pct"] <= TARGETS["soak_growth_pct"]
    return [
        "## Soak",
        "",
        f"Measured {data['measured']} by `make soak`: the full path with 2 replicas of each kind, "
        f"{data['workers']} workers at a phone pace for {data['minutes']:.0f} minutes (loopback only).",
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


def _pace(data: dict[str, Any]) -> str:
    """Runs before the evening of 2026-11-30 paced every worker exactly `pace_s`, in lockstep."""
    if data.get("pace") == "random":
        return f"{data['pace_s'] / 2:.0f}–{data['pace_s'] * 1.5:.0f} s per turn, at random"
    return f"{data['pace_s']:.0f} s per turn, all in lockstep"
