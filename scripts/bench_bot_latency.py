"""Measure the latency the Telegram bot adds on top of Rasa (`make bench-bot`).

Starts the assistant as `make run` does (Rasa + action server, on free ports, in a scratch
data folder), a fake Telegram Bot API on loopback (tests/fake_bot_api.py), and the bot as
its own process (`python -m bot telegram`) pointed at it. Then a registered worker sends the
same scripted conversation twice, message by message and interleaved:

- direct: straight to Rasa's REST channel (what the bot itself does), time to the answer;
- through the bot: as a Telegram update, from queuing it at the fake Bot API to the bot's
  last sendMessage of the answer (same number of messages as the direct answer).

The bot reaches Rasa through a small recording HTTP proxy, so for each message the time
Rasa itself took for the bot's request is known exactly: "added by the bot" = through the
bot - that Rasa time. (Rasa's own time varies a lot from call to call; subtracting the
direct call's time instead would mostly measure that variance.) Writes median and p95 to
results/bot-latency.md.

    python scripts/bench_bot_latency.py [--messages 200] [--out results/bot-latency.md]
"""

from __future__ import annotations

import argparse
import os
import platform
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot import access  # noqa: E402
from bot.db import Database  # noqa: E402
from bot.models import Role  # noqa: E402
from tests.conftest import free_port  # noqa: E402
from tests.fake_bot_api import FakeBotApi  # noqa: E402

# One round of a worker's conversation: typed text and button taps (their payloads).
SCRIPT: list[tuple[str, str]] = [
    ("text", "hoi"),
    ("tap", "/ask_capabilities"),
    ("tap", "/ask_strategy"),
    ("text", "mevrouw is erg wantrouwig en doet de deur niet open"),
    ("text", "wat houdt quid pro quo in?"),
    ("tap", "/ask_help"),
    ("text", "meneer wil alleen praten als hij er iets voor terugkrijgt"),
    ("text", "bedankt"),
]
WARM_UP = 8


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(share * (len(ordered) - 1))))
    return ordered[index]


def start(args: list[str], env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    with log.open("ab") as out:
        return subprocess.Popen(
            args, cwd=ROOT, env=env, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT
        )


def stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(60)
        except subprocess.TimeoutExpired:
            process.kill()


class RecordingProxy:
    """HTTP proxy to Rasa that records when each REST-channel request started and ended."""

    def __init__(self, target: str) -> None:
        self.calls: list[tuple[float, float]] = []
        proxy = self
        client = httpx.Client(base_url=target, timeout=120)
        lock = threading.Lock()

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True

            def _forward(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                started = time.monotonic()
                with lock:  # one httpx client, used by one thread at a time
                    answer = client.request(
                        self.command, self.path, content=body, headers={"Content-Type": "application/json"}
                    )
                if self.path.startswith("/webhooks/rest/webhook"):
                    proxy.calls.append((started, time.monotonic()))
                self.send_response(answer.status_code)
                self.send_header("Content-Type", answer.headers.get("Content-Type", "application/json"))
                self.send_header("Content-Length", str(len(answer.content)))
                self.end_headers()
                self.wfile.write(answer.content)

            do_GET = do_POST = _forward

            def log_message(self, format: str, *args: object) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"

    def rasa_time_since(self, moment: float) -> float:
        return sum(end - start for start, end in self.calls if start >= moment)

    def close(self) -> None:
        self._server.shutdown()


class Bench:
    def __init__(self, api: FakeBotApi, rasa_url: str) -> None:
        self.api = api
        self.rest = httpx.Client(base_url=rasa_url, timeout=60)
        self.user_id = 424242
        self.keyboard_id = 10**6  # a fresh keyboard message per tap (a keyboard works once)

    def direct(self, kind: str, value: str) -> tuple[float, int]:
        started = time.perf_counter()
        answer = self.rest.post("/webhooks/rest/webhook", json={"sender": "bench-direct", "message": value})
        elapsed = time.perf_counter() - started
        answer.raise_for_status()
        return elapsed, len(answer.json())

    def via_bot(self, kind: str, value: str, replies: int) -> tuple[float, float]:
        """Time to the bot's last message of the answer, and from when it was sent."""
        mark = self.api.mark()
        started = time.monotonic()
        if kind == "tap":
            self.keyboard_id += 1
            self.api.push_callback(self.user_id, self.keyboard_id, value)
        else:
            self.api.push_text(self.user_id, value)
        sent = self.api.wait_for("sendMessage", count=max(replies, 1), timeout=60, after=mark)
        return sent[max(replies, 1) - 1].at - started, started


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--messages", type=int, default=200)
    parser.add_argument("--out", type=Path, default=ROOT / "results" / "bot-latency.md")
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="bench-bot-"))
    rasa_port, action_port = free_port(), free_port()
    rasa_url = f"http://127.0.0.1:{rasa_port}"
    base_env = {
        k: v
        for k, v in os.environ.items()
        if k not in {"TELEGRAM_BOT_TOKEN", "DATABASE_URL", "RASA_AUTH_TOKEN"}
    }
    env = base_env | {
        "RASA_URL": rasa_url,
        "ACTION_SERVER_PORT": str(action_port),
        "ACTION_SERVER_URL": f"http://127.0.0.1:{action_port}/webhook",
        "DEUROPENER_DATA_DIR": str(work),
        "PYTHONPATH": str(ROOT),
    }
    print(f"==> starting Rasa and the action server (about a minute); logs in {work}", flush=True)
    assistant = start([sys.executable, "-m", "bot", "run"], env, work / "assistant.log")
    bot: subprocess.Popen[bytes] | None = None
    try:
        deadline = time.monotonic() + 300
        while True:
            try:
                if httpx.post(
                    f"{rasa_url}/webhooks/rest/webhook", json={"sender": "up", "message": "hoi"}
                ).is_success:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline or assistant.poll() is not None:
                raise SystemExit(f"Rasa did not start; see {work / 'assistant.log'}")
            time.sleep(1)

        proxy = RecordingProxy(rasa_url)
        with FakeBotApi() as api:
            db = Database(f"sqlite:///{work / 'deuropener.db'}")
            db.migrate()
            with db.session() as session:
                code = access.create_invite(session, Role.WORKER, "Bench", timedelta(hours=1))
            db.dispose()
            bot = start(
                [sys.executable, "-m", "bot", "telegram"],
                env
                | {"TELEGRAM_BOT_TOKEN": api.token, "TELEGRAM_API_BASE_URL": api.url, "RASA_URL": proxy.url},
                work / "bot.log",
            )
            bench = Bench(api, rasa_url)
            bench.direct("text", "/greet")  # both conversations start their session (the coach note)
            api.push_text(bench.user_id, f"/start {code}")
            api.wait_for_text("Hiermee kan ik je helpen", timeout=120)
            api.wait_idle(1.0)

            print(f"==> {WARM_UP} warm-up messages, then {args.messages} measured", flush=True)
            direct: list[float] = []
            through: list[float] = []
            added: list[float] = []
            for index in range(WARM_UP + args.messages):
                kind, value = SCRIPT[index % len(SCRIPT)]
                took, replies = bench.direct(kind, value)
                via, sent_at = bench.via_bot(kind, value, replies)
                api.wait_idle(0.2)  # the bot's after-work (tracker read for the transcript) is done
                if index >= WARM_UP:
                    direct.append(took)
                    through.append(via)
                    added.append(via - proxy.rasa_time_since(sent_at))
        proxy.close()
        write_report(args.out, direct, through, added)
        print(args.out.read_text())
    finally:
        if bot is not None:
            stop(bot)
        stop(assistant)
    return 0


def write_report(out: Path, direct: list[float], through: list[float], added: list[float]) -> None:
    def row(name: str, values: list[float]) -> str:
        ms = [v * 1000 for v in values]
        figures = (statistics.median(ms), percentile(ms, 0.95), min(ms), max(ms))
        return f"| {name} | " + " | ".join(f"{f:.0f}" for f in figures) + " |"

    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(
        "\n".join(
            [
                "# Latency the Telegram bot adds on top of Rasa",
                "",
                f"Measured {datetime.now(UTC):%Y-%m-%d %H:%M} UTC by `make bench-bot` "
                f"(scripts/bench_bot_latency.py) on {os.cpu_count()} CPUs, "
                f"Python {platform.python_version()}.",
                f"{len(direct)} messages (a scripted conversation of typed text and button taps, "
                f"{len(SCRIPT)} steps repeated), one worker, sequential.",
                "",
                "| path | median ms | p95 ms | min ms | max ms |",
                "|---|---|---|---|---|",
                row("Rasa's REST channel, called directly", direct),
                row("through the bot (fake Bot API → bot → Rasa → bot → fake Bot API)", through),
                row("**added by the bot** (through the bot − Rasa's time for the bot's own request)", added),
                "",
                "Through the bot runs from queuing the update at the fake Bot API to the bot's last",
                "sendMessage of the answer: getUpdates, intake (access check, scrubbing, storing the",
                "message before the update counts as received), the typing action, answering and",
                "removing a tapped keyboard, storing and sending each reply. Reading Rasa's tracker",
                "for the transcript (intent, confidence, flow) happens after the answer is sent and",
                "is not in these numbers; neither is Telegram's own network time. The recording proxy",
                "between the bot and Rasa (about a millisecond per request) counts as the bot's.",
                "",
            ]
        )
    )


if __name__ == "__main__":
    sys.exit(main())
