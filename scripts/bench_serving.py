"""Stock Rasa serving against Deuropener's full path, side by side on one trained model.

    python scripts/bench_serving.py serve [--workers 20] [--rounds 3]   (make bench-serving)
    python scripts/bench_serving.py soak [--workers 50] [--minutes 10]  (make soak)
    python scripts/bench_serving.py train                               (make bench-train)

serve: first stock serving — `rasa run` with the REST channel and its defaults (in-memory
tracker and lock store, INFO logging) plus one action server — then the full path: the fake
Telegram Bot API -> nginx -> 2 bot processes (webhook) -> nginx -> 2 Rasa servers -> nginx ->
2 action servers, on PostgreSQL and Redis (tests/cluster.py). Each gets the same workload
(tests/workload.py): 1 worker sending 100 messages one after another, then `--workers`
simulated workers in multi-turn conversations at once, each typing the next line as soon as
the answer is there (the most the stack can do), then the same workers at a phone pace (1-3 s
to read and type, 2 s on average, starts spread over the first pause: people on phones don't
type in lockstep; seeded, so stock and the full path get the same pauses). Cold start
(starting the processes to the first answer) and the stack's resident memory are measured too.
soak: the full path with 50 workers at a phone pace for 10 minutes; errors, lost messages,
memory at the start and the end.
train: a full `rasa train` into a scratch folder, timed.

Each writes its figures to results/bench/*.json and rewrites BENCHMARKS.md from all of them.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.db import Database  # noqa: E402
from bot.models import Direction, Message, Status  # noqa: E402
from tests.cluster import MODEL, STARTUP_TIMEOUT, Cluster, Replica, cpu_seconds, free_port  # noqa: E402
from tests.conftest import postgres_database  # noqa: E402
from tests.fake_bot_api import FakeBotApi  # noqa: E402
from tests.workload import SCRIPTS, Pauses, Tally, TelegramWorkers, converse_rest  # noqa: E402

RESULTS = ROOT / "results" / "bench"
REDIS = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/0")
PACE = 2.0  # seconds a worker takes to read an answer and type the next line, on average
SEQUENTIAL = 100
PROFILE_SECONDS = 20  # py-spy samples a Rasa server this long while the workers talk at once


def servers_cpu() -> dict[str, float]:
    """CPU seconds used so far by the PostgreSQL and Redis servers on this machine."""
    used = {"postgres": 0.0, "redis": 0.0}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            name, fields = stat.read_text().split(" (", 1)[1].split(")", 1)
        except (OSError, IndexError):
            continue
        kind = "postgres" if name.startswith("postgres") else "redis" if name.startswith("redis") else None
        if kind:
            values = fields.split()
            used[kind] += (int(values[11]) + int(values[12])) / os.sysconf("SC_CLK_TCK")
    return used


def cpu_per_message(before: dict[str, float], after: dict[str, float], messages: int) -> dict[str, float]:
    """Milliseconds of CPU per answered message, per kind of process."""
    return {k: round(1000 * (after[k] - before.get(k, 0.0)) / max(messages, 1), 1) for k in after}


def figures(tally: Tally) -> dict[str, Any]:
    return {
        "messages": len(tally.latencies),
        "errors": len(tally.errors),
        "first_errors": tally.errors[:5],
        "seconds": round(tally.seconds, 1),
        "msg_per_s": round(tally.throughput, 2),
        "p50_ms": round(tally.percentile(0.5) * 1000),
        "p95_ms": round(tally.percentile(0.95) * 1000),
    }


def machine() -> dict[str, Any]:
    cpu = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if "model name" in line
        ),
        platform.processor(),
    )
    memory = int(Path("/proc/meminfo").read_text().split()[1]) // 1024 // 1024
    return {"cpus": os.cpu_count(), "cpu": cpu, "memory_gib": memory, "python": platform.python_version()}


# --- stock ------------------------------------------------------------------------------------


def stock_processes(work: Path) -> tuple[list[Replica], str]:
    action_port, rasa_port = free_port(), free_port()
    endpoints = work / "stock-endpoints.yml"
    endpoints.write_text(f'action_endpoint:\n  url: "http://127.0.0.1:{action_port}/webhook"\n')
    env = {**os.environ, "PYTHONPATH": str(ROOT), "RASA_TELEMETRY_ENABLED": "false"}
    env["DATABASE_URL"] = f"sqlite:///{work / 'stock-app.db'}"
    actions = Replica(
        "actions",
        0,
        action_port,
        [sys.executable, "-m", "rasa_sdk", "--actions", "actions", "--port", str(action_port)],
        env,
        work / "stock-actions.log",
        f"http://127.0.0.1:{action_port}/health",
    )
    rasa_bin = os.environ.get("RASA_BIN", "rasa")
    rasa = Replica(
        "rasa",
        0,
        rasa_port,
        [rasa_bin, "run", "--model", str(MODEL), "--port", str(rasa_port), "--endpoints", str(endpoints)],
        env,
        work / "stock-rasa.log",
        f"http://127.0.0.1:{rasa_port}/",
    )
    return [actions, rasa], f"http://127.0.0.1:{rasa_port}"


async def rest_load(rasa_url: str, workers: int, rounds: int, pace: float, tag: str) -> Tally:
    """`workers` REST clients, each through its conversation `rounds` times."""
    tally = Tally()
    async with httpx.AsyncClient(limits=httpx.Limits(max_connections=workers + 5)) as client:

        async def one(i: int) -> None:
            pauses = Pauses(pace, seed=i)
            await pauses.start()
            for _ in range(rounds):
                for turn in SCRIPTS[i % len(SCRIPTS)]:
                    await converse_rest(client, rasa_url, f"{tag}-{i}", [turn], tally)
                    await pauses.between()

        await asyncio.gather(*(one(i) for i in range(workers)))
    tally.ended = time.monotonic()
    return tally


async def bench_stock(work: Path, workers: int, rounds: int) -> dict[str, Any]:
    processes, url = stock_processes(work)
    started = time.monotonic()
    for process in processes:
        process.start()
    try:
        deadline = started + STARTUP_TIMEOUT
        while not all(p.up() for p in processes):
            if time.monotonic() > deadline or not all(p.alive() for p in processes):
                raise RuntimeError(f"stock Rasa did not start:\n{processes[1].log.read_text()[-2000:]}")
            await asyncio.sleep(0.2)
        warm = await rest_load(url, 1, 1, 0.0, "warm")
        cold = time.monotonic() - started
        sequential = await rest_load(url, 1, SEQUENTIAL // 4 + 1, 0.0, "seq")
        sampler = profile(processes[1].process.pid, PROFILE_SECONDS, work / "stock.prof")
        cpu_before = {p.kind: cpu_seconds(p.process.pid) for p in processes if p.process}
        concurrent = await rest_load(url, workers, rounds, 0.0, "load")
        cpu_after = {p.kind: cpu_seconds(p.process.pid) for p in processes if p.process}
        if sampler is not None:
            sampler.wait()
        paced = await rest_load(url, workers, rounds, PACE, "paced")
        memory = sum(_rss(p) for p in processes)
        return {
            "cold_start_s": round(cold, 1),
            "warm_up_errors": warm.errors,
            "sequential": figures(sequential),
            "concurrent": figures(concurrent),
            "cpu_ms_per_msg": cpu_per_message(cpu_before, cpu_after, len(concurrent.latencies)),
            "paced": figures(paced),
            "rss_mib": memory // 2**20,
            "profile": profile_summary(work / "stock.prof"),
        }
    finally:
        for process in processes:
            process.stop()


def _rss(process: Replica) -> int:
    from tests.cluster import rss_bytes

    return rss_bytes(process.process.pid) if process.process and process.alive() else 0


# --- the full path ----------------------------------------------------------------------------


async def telegram_load(workers_api: TelegramWorkers, users: list[int], rounds: int, pace: float) -> Tally:
    tally = Tally()

    async def one(i: int, user_id: int) -> None:
        await workers_api.converse(
            user_id, SCRIPTS[i % len(SCRIPTS)], tally, rounds=rounds, think=pace, seed=i
        )

    await asyncio.gather(*(one(i, u) for i, u in enumerate(users)))
    tally.ended = time.monotonic()
    return tally


def unanswered(database_url: str) -> int:
    from sqlalchemy import func, select

    db = Database(database_url)
    try:
        with db.session() as session:
            return session.scalar(
                select(func.count())
                .select_from(Message)
                .where(Message.direction == Direction.IN.value, Message.status != Status.ANSWERED.value)
            )
    finally:
        db.dispose()


async def registered(
    cluster: Cluster, api: FakeBotApi, count: int, first_id: int
) -> tuple[TelegramWorkers, list[int]]:
    workers = TelegramWorkers(api, cluster.webhook_url, cluster.database_url)
    users = [first_id + i for i in range(count)]
    codes = workers.invites(count)
    for batch in range(0, count, 10):
        await asyncio.gather(
            *(
                workers.register(u, c)
                for u, c in zip(users[batch : batch + 10], codes[batch : batch + 10], strict=True)
            )
        )
    return workers, users


async def bench_full(
    work: Path, workers: int, rounds: int, replicas: int, rate_limited: bool = True
) -> dict[str, Any]:
    """The full path. `rate_limited`: the bots keep to Telegram's ~30 requests a second (shared
    by the bot processes), as they must with the real Telegram; without it the figures are the
    stack's own capacity."""
    with FakeBotApi() as api, postgres_database() as app_db, postgres_database() as tracker_db:
        folder = work / f"full-{replicas}-{'limited' if rate_limited else 'unlimited'}"
        extra = {} if rate_limited else {"TELEGRAM_RATE_LIMIT": "0"}
        cluster = Cluster(
            folder, api.url, api.token, app_db, tracker_db, REDIS, replicas=replicas, extra_env=extra
        )
        folder.mkdir()
        started = time.monotonic()
        with cluster:
            first, _ = await registered(cluster, api, 1, 900_000)
            cold = time.monotonic() - started
            await first.aclose()
            sequential_workers, seq_users = await registered(cluster, api, 1, 910_000)
            sequential = await telegram_load(sequential_workers, seq_users, SEQUENTIAL // 4 + 1, 0.0)
            await sequential_workers.aclose()
            load_workers, load_users = await registered(cluster, api, workers, 920_000)
            await telegram_load(load_workers, load_users, 1, 0.0)  # warm every replica and connection
            rasa = cluster.of("rasa")[0].process
            sampler = profile(rasa.pid, PROFILE_SECONDS, folder / "full.prof") if rasa else None
            cpu_before = {**cluster.cpu_by_kind(), **servers_cpu()}
            concurrent = await telegram_load(load_workers, load_users, rounds, 0.0)
            cpu_after = {**cluster.cpu_by_kind(), **servers_cpu()}
            if sampler is not None:
                sampler.wait()
            memory = cluster.rss()
            paced = await telegram_load(load_workers, load_users, rounds, PACE)
            await load_workers.aclose()
            await api.async_wait_idle(1.0)
            return {
                "cold_start_s": round(cold, 1),
                "sequential": figures(sequential),
                "concurrent": figures(concurrent),
                "cpu_ms_per_msg": cpu_per_message(cpu_before, cpu_after, len(concurrent.latencies)),
                "paced": figures(paced),
                "rss_mib": max(memory, cluster.rss()) // 2**20,
                "unanswered": unanswered(app_db),
                "errors_in_logs": cluster.errors_in_logs()[:3],
                "profile": profile_summary(folder / "full.prof"),
            }


async def soak(work: Path, workers: int, minutes: float) -> dict[str, Any]:
    with FakeBotApi() as api, postgres_database() as app_db, postgres_database() as tracker_db:
        (work / "soak").mkdir()
        with Cluster(work / "soak", api.url, api.token, app_db, tracker_db, REDIS) as cluster:
            load_workers, users = await registered(cluster, api, workers, 950_000)
            await telegram_load(load_workers, users, 1, PACE)  # warm up
            baseline = cluster.rss()
            samples: list[tuple[float, int]] = []
            tally = Tally()
            end = time.monotonic() + minutes * 60

            async def one(i: int, user_id: int) -> None:
                while time.monotonic() < end:
                    await load_workers.converse(user_id, SCRIPTS[i % len(SCRIPTS)], tally, think=PACE)

            async def sampler() -> None:
                while time.monotonic() < end:
                    samples.append((round(time.monotonic() - tally.started), cluster.rss()))
                    await asyncio.sleep(15)

            await asyncio.gather(sampler(), *(one(i, u) for i, u in enumerate(users)))
            tally.ended = time.monotonic()
            await api.async_wait_idle(2.0, timeout=120)
            final = cluster.rss()
            await load_workers.aclose()
            return {
                "workers": workers,
                "minutes": minutes,
                "load": figures(tally),
                "rss_start_mib": baseline // 2**20,
                "rss_end_mib": final // 2**20,
                "rss_peak_mib": max(s[1] for s in samples) // 2**20 if samples else 0,
                "growth_pct": round(100 * (final - baseline) / baseline, 1),
                "unanswered": unanswered(app_db),
                "errors_in_logs": cluster.errors_in_logs()[:3],
            }


def train() -> dict[str, Any]:
    rasa_bin = os.environ.get("RASA_BIN", "rasa")
    with tempfile.TemporaryDirectory() as out:
        started = time.monotonic()
        subprocess.run(
            [
                rasa_bin,
                "train",
                "--data",
                "nlu",
                "stories",
                "--domain",
                "domain",
                "--config",
                "config.yml",
                "--out",
                out,
                "--force",
            ],
            cwd=ROOT,
            check=True,
            env={**os.environ, "RASA_CACHE_DIRECTORY": str(Path(out) / "cache")},
            stdout=subprocess.DEVNULL,
        )
        return {"seconds": round(time.monotonic() - started)}


# --- where the time goes ----------------------------------------------------------------------

# Inclusive share of a Rasa server's samples in frames whose "function (file)" contains these.
BUCKETS = {
    "NLU (featurizers, DIET, response selectors)": ["parse_message"],
    "dialogue policies": ["_predict_next_action", "predict_next_with_tracker"],
    "custom action calls (HTTP to the action server)": [
        "RemoteAction.run",
        "run (rasa/core/actions/action.py",
    ],
    "tracker store (read, write)": ["rasa/core/tracker_store.py"],
    "lock store": ["rasa/core/lock_store.py"],
    "logging": ["logging/__init__.py", "structlog"],
}


def profile(pid: int, seconds: float, out: Path) -> subprocess.Popen[bytes] | None:
    """Sample a process with py-spy (PY_SPY or on PATH) while the load runs; None without it."""
    py_spy = os.environ.get("PY_SPY") or shutil.which("py-spy")
    if not py_spy:
        return None
    args = [
        py_spy,
        "record",
        "-p",
        str(pid),
        "-d",
        str(int(seconds)),
        "-r",
        "50",
        "-f",
        "raw",
        "-o",
        str(out),
    ]
    return subprocess.Popen([*args, "--nonblocking"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def profile_summary(path: Path) -> dict[str, float]:
    """Share of samples per bucket (collapsed stacks: "frame;frame;... count")."""
    if not path.exists():
        return {}
    total, shares = 0, dict.fromkeys(BUCKETS, 0)
    for line in path.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if not count.isdigit():
            continue
        total += int(count)
        for name, markers in BUCKETS.items():
            if any(marker in stack for marker in markers):
                shares[name] += int(count)
    return {name: round(100 * n / total, 1) for name, n in shares.items()} if total else {}


# --- the report -------------------------------------------------------------------------------


def save(name: str, data: dict[str, Any]) -> None:
    RESULTS.mkdir(parents=True, exist_ok=True)
    stamp = {"measured": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"), "machine": machine()}
    (RESULTS / f"{name}.json").write_text(json.dumps({**stamp, **data}, indent=2) + "\n")


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("what", choices=["serve", "soak", "train", "report"])
    parser.add_argument("--workers", type=int)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--minutes", type=float, default=10.0)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="deuropener-bench-") as scratch:
        work = Path(scratch)
        if args.what == "serve":
            workers = args.workers or 20
            stock = asyncio.run(bench_stock(work, workers, args.rounds))
            full = asyncio.run(bench_full(work, workers, args.rounds, replicas=2))
            # The same path on one replica of each kind: how this 2-core machine would run it.
            single = asyncio.run(bench_full(work, workers, args.rounds, replicas=1))
            # The same without Telegram's rate limit: what the stack itself can do.
            unlimited = asyncio.run(bench_full(work, workers, args.rounds, replicas=1, rate_limited=False))
            runs = {"stock": stock, "full": full, "single": single, "unlimited": unlimited}
            setup = {"workers": workers, "rounds": args.rounds, "pace_s": PACE, "pace": "random"}
            save("serve", {**setup, **runs})
        elif args.what == "soak":
            save("soak", asyncio.run(soak(work, args.workers or 50, args.minutes)))
        elif args.what == "train":
            save("train", train())
    from scripts.benchmarks_md import write

    print(write(RESULTS, ROOT / "BENCHMARKS.md"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
