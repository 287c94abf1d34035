"""Benchmark the nudge dispatcher: 10,000 due nudges against the fake Bot API (`make bench-nudges`).

A scratch database (SQLite by default, or --database-url) gets N workers, each with an open
case and a nudge schedule that fell due a minute ago. The real `NudgeDispatcher` (default
configuration: paced at 28 messages/s with at most 27 started in any second, one a second
per chat, 429s waited out) sends them to the fake Telegram Bot API (tests/fake_bot_api.py),
which runs in a process of its own so its timestamps don't depend on the dispatcher's loop.
The fake answers two sendMessage calls with a 429 (retry_after 1 s) along the way.

Measured at the fake Bot API's side, from its record of every call:
- sustained rate: delivered messages / (last delivery - first delivery);
- peak: the most sendMessage calls (429s included) in any sliding 1-second window;
- lost: due nudges no chat received; duplicated: chats that received more than one.

    python scripts/bench_nudges.py [--nudges 10000] [--out results/nudge-dispatch.md]
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import os
import platform
import statistics
import sys
import tempfile
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from multiprocessing.connection import Connection
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy import func, select  # noqa: E402

from bot.db import Database  # noqa: E402
from bot.models import NudgeDispatch  # noqa: E402
from bot.nudge_dispatch import DispatchConfig, NudgeDispatcher, make_bot  # noqa: E402
from tests.fake_bot_api import BotApiError, FakeBotApi, peak_per_second  # noqa: E402
from tests.test_nudge_dispatch import seed_workers  # noqa: E402

FIRST_CHAT = 10_000_000
LIMIT = 30  # Telegram: about 30 messages a second per bot
TARGET = 25  # sustained messages a second the dispatcher must reach


def serve_fake_api(pipe: Connection, fail_at: list[int]) -> None:
    """Child process: run the fake Bot API until told to stop; send back (time, chat, ok) per call."""
    with FakeBotApi() as api:
        for nth in fail_at:
            api.fail_at(
                "sendMessage", nth, BotApiError(429, "Too Many Requests: retry after 1", retry_after=1)
            )
        pipe.send(api.url)
        pipe.recv()  # "stop"
        pipe.send(
            [(c.at, int(c.params.get("chat_id", 0)), c.error is None) for c in api.calls_of("sendMessage")]
        )


async def dispatch(
    db: Database, url: str, token: str, config: DispatchConfig
) -> tuple[NudgeDispatcher, float]:
    async with make_bot(token, url, config) as bot:
        dispatcher = NudgeDispatcher(db, bot, config)
        started = time.monotonic()
        while True:
            stats = await dispatcher.run_once()
            with db.session() as session:
                open_ = session.scalar(
                    select(func.count(NudgeDispatch.id)).where(
                        NudgeDispatch.status.in_(("due", "claimed", "sending"))
                    )
                )
            if not open_ and not stats.sent:
                break
        return dispatcher, time.monotonic() - started


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--nudges", type=int, default=10_000)
    parser.add_argument("--database-url", default=None, help="default: SQLite in a scratch folder")
    parser.add_argument("--out", type=Path, default=ROOT / "results" / "nudge-dispatch.md")
    args = parser.parse_args()

    config = DispatchConfig()
    fail_at = [args.nudges // 5, args.nudges * 3 // 5]
    with tempfile.TemporaryDirectory(prefix="bench-nudges-") as scratch:
        url = args.database_url or f"sqlite:///{Path(scratch) / 'nudges.db'}"
        db = Database(url)
        db.migrate()
        seeded = time.monotonic()
        seed_workers(db, args.nudges, datetime.now(UTC) - timedelta(minutes=1), first_chat=FIRST_CHAT)
        seed_seconds = time.monotonic() - seeded
        print(f"seeded {args.nudges} workers with a due nudge in {seed_seconds:.1f} s", flush=True)

        load_before = os.getloadavg()[0]
        context = multiprocessing.get_context("spawn")
        ours, theirs = context.Pipe()
        server = context.Process(target=serve_fake_api, args=(theirs, fail_at), daemon=True)
        server.start()
        api_url = ours.recv()
        try:
            dispatcher, wall = asyncio.run(dispatch(db, api_url, FakeBotApi().token, config))
        finally:
            ours.send("stop")
            calls = ours.recv()
            server.join(10)
        with db.session() as session:
            statuses = dict(
                session.execute(
                    select(NudgeDispatch.status, func.count()).group_by(NudgeDispatch.status)
                ).all()
            )
        db.dispose()

    load = (load_before, os.getloadavg()[0])
    delivered = sorted(at for at, _, ok in calls if ok)
    refused = sum(1 for _, _, ok in calls if not ok)
    per_chat = Counter(chat for _, chat, ok in calls if ok)
    lost = args.nudges - len(per_chat)
    duplicated = sum(1 for count in per_chat.values() if count > 1)
    span = delivered[-1] - delivered[0] if len(delivered) > 1 else float("nan")
    sustained = (len(delivered) - 1) / span
    peak = peak_per_second([at for at, _, _ in calls])
    seconds = Counter(int(at - delivered[0]) for at in delivered)
    full_seconds = [seconds[s] for s in range(1, int(span))]  # whole seconds, first and last left out
    ok = sustained >= TARGET and lost == 0 and duplicated == 0 and peak <= LIMIT
    counts = f"{len(delivered):,} / {refused} / {dispatcher.total.retry_after}"
    spread = f"{min(full_seconds)} / {statistics.median(full_seconds):g} / {max(full_seconds)}"
    records = ", ".join(f"{status}: {count:,}" for status, count in sorted(statuses.items()))

    report = f"""# Nudge dispatch: {args.nudges:,} due nudges against the fake Bot API

Measured {datetime.now(UTC):%Y-%m-%d %H:%M} UTC by `make bench-nudges` (scripts/bench_nudges.py) on
{multiprocessing.cpu_count()} CPUs (load average {load[0]:.1f} before, {load[1]:.1f} after: a shared machine),
Python {platform.python_version()}, {db.engine.dialect.name}.
{args.nudges:,} workers, each with an open case and a nudge that fell due a minute before; one
dispatcher with its default configuration (paced at {config.max_rate:g} messages/s and never more than
{config.max_per_second} started in any second, at most one a second per chat, up to {config.batch} claimed
at a time, {config.concurrency} requests in flight). The fake Bot
API runs in its own process and answered sendMessage calls number {fail_at[0]:,} and {fail_at[1]:,} with a
429 (retry_after 1 s), which the dispatcher waited out for all its sends.

| measure | value | target |
|---|---|---|
| sustained rate (delivered / time from first to last delivery) | **{sustained:.1f} msg/s** | ≥ {TARGET} |
| peak in any sliding 1-second window (429s included) | **{peak}** | ≤ {LIMIT} |
| lost (due, never delivered) | **{lost}** | 0 |
| duplicated (chats that got the nudge more than once) | **{duplicated}** | 0 |
| delivered / 429s answered / waited out by the dispatcher | {counts} | |
| messages per whole second (min / median / max) | {spread} | |
| wall time of the dispatch (recording the due nudges included) | {wall:.1f} s | |
| dispatch records afterwards | {records} | |

Result: **{"all targets met" if ok else "TARGET MISSED"}**.

Each nudge is claimed in the database (an atomic `UPDATE ... WHERE claimed_by IS NULL`), marked
`sending` just before the Bot API call and `sent` right after, with the message stored in the
worker's transcript; the rate is what the dispatcher sustains with all of that. Telegram's
own network time is not in these numbers. That two dispatchers on one database send each
nudge exactly once, and that a restart mid-run loses and doubles nothing, is tested (not
timed) in tests/test_nudge_dispatch.py.
"""
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(report, encoding="utf-8")
    print(report)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
