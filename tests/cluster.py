"""Deuropener scaled out on 127.0.0.1: N action servers, N Rasa servers, N bot processes in
webhook mode, and nginx in front of each kind (deploy/nginx.conf), all state in PostgreSQL
and Redis. Used by the multi-replica test and the serving benchmark.

Telegram is the fake Bot API (tests/fake_bot_api.py): the bots call it, and `Cluster.deliver`
plays Telegram's webhook delivery — POST the update to the load balancer with the secret
token, and retry until a bot answers 200, as Telegram does.
"""

from __future__ import annotations

import asyncio
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from string import Template

import httpx

from bot import rasa_endpoints
from bot.db import Database

ROOT = Path(__file__).resolve().parent.parent
MODEL = ROOT / "models" / "deuropener.tar.gz"
NGINX_TEMPLATE = ROOT / "deploy" / "nginx.conf"
TELEGRAM_LIMIT = 30.0  # Bot API requests a second Telegram allows one bot, over all its processes
STARTUP_TIMEOUT = 600.0  # a busy 2-core machine loads two models slowly
WEBHOOK_SECRET = "deuropener-cluster-test"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def nginx_binary() -> str | None:
    return shutil.which("nginx") or next((p for p in ("/usr/sbin/nginx",) if Path(p).exists()), None)


@dataclass
class Replica:
    kind: str  # "actions", "rasa", "bot"
    index: int
    port: int
    args: list[str]
    env: dict[str, str]
    log: Path
    health: str | None = None  # URL answering 200 when up
    process: subprocess.Popen[bytes] | None = None

    @property
    def name(self) -> str:
        return f"{self.kind}-{self.index}"

    def start(self) -> None:
        with self.log.open("ab") as out:
            self.process = subprocess.Popen(
                self.args,
                cwd=ROOT,
                env=self.env,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
            )

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def kill(self) -> None:
        """SIGKILL: no goodbye, as a crash or an out-of-memory kill."""
        if self.alive():
            assert self.process is not None
            self.process.kill()
            self.process.wait()

    def stop(self) -> None:
        if self.alive():
            assert self.process is not None
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def up(self) -> bool:
        if self.health is None:
            return self.alive()
        try:
            return httpx.get(self.health, timeout=2).status_code == 200
        except httpx.HTTPError:
            return False


def _descendants(pid: int) -> list[int]:
    """The process and all its descendants that are still running."""
    found, todo = [], [pid]
    while todo:
        current = todo.pop()
        try:
            children = Path(f"/proc/{current}/task/{current}/children").read_text().split()
        except (FileNotFoundError, ProcessLookupError):
            continue
        found.append(current)
        todo.extend(int(c) for c in children)
    return found


def cpu_seconds(pid: int) -> float:
    """User + system CPU time used so far by a process and its running descendants."""
    total = 0.0
    for current in _descendants(pid):
        try:
            fields = Path(f"/proc/{current}/stat").read_text().rsplit(")", 1)[1].split()
        except (FileNotFoundError, ProcessLookupError):
            continue
        total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return total


def rss_bytes(pid: int) -> int:
    """Resident memory of a process and all its descendants (from /proc)."""
    total, todo = 0, [pid]
    while todo:
        current = todo.pop()
        try:
            for line in Path(f"/proc/{current}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1]) * 1024
            children = Path(f"/proc/{current}/task/{current}/children").read_text().split()
        except (FileNotFoundError, ProcessLookupError):
            continue
        todo.extend(int(c) for c in children)
    return total


@dataclass
class Cluster:
    work: Path
    api_url: str  # the fake Bot API
    token: str  # the bot token
    database_url: str  # the application database (PostgreSQL)
    tracker_url: str  # Rasa's tracker store (PostgreSQL)
    redis_url: str  # Rasa's lock store
    replicas: int = 2
    rasa_token: str = field(default_factory=lambda: secrets.token_hex(16))
    pseudonym_secret: str = field(default_factory=lambda: secrets.token_hex(32))
    extra_env: dict[str, str] = field(default_factory=dict)
    processes: list[Replica] = field(default_factory=list)
    nginx: subprocess.Popen[bytes] | None = None

    def __post_init__(self) -> None:
        self.bot_door, self.rasa_door, self.action_door = free_port(), free_port(), free_port()

    # --- addresses --------------------------------------------------------------------------

    @property
    def webhook_url(self) -> str:
        return f"http://127.0.0.1:{self.bot_door}/telegram"

    @property
    def rasa_url(self) -> str:
        return f"http://127.0.0.1:{self.rasa_door}"

    @property
    def action_url(self) -> str:
        return f"http://127.0.0.1:{self.action_door}/webhook"

    @property
    def tf_threads(self) -> int:
        return max(1, (os.cpu_count() or 1) // self.replicas)

    def of(self, kind: str) -> list[Replica]:
        return [p for p in self.processes if p.kind == kind]

    # --- starting and stopping ----------------------------------------------------------------

    def _env(self, **extra: str) -> dict[str, str]:
        return {
            **os.environ,
            "PYTHONPATH": str(ROOT),
            "RASA_TELEMETRY_ENABLED": "false",
            "TF_CPP_MIN_LOG_LEVEL": "2",
            "DATABASE_URL": self.database_url,
            "RASA_TRACKER_DB_URL": self.tracker_url,
            "REDIS_URL": self.redis_url,
            "PSEUDONYM_SECRET": self.pseudonym_secret,
            "RASA_AUTH_TOKEN": self.rasa_token,
            **self.extra_env,
            **extra,
        }

    def _define(self) -> None:
        rasa_bin = os.environ.get("RASA_BIN", "rasa")
        endpoints = rasa_endpoints.write_to(
            self.work / "endpoints.yml", self.action_url, self.tracker_url, self.redis_url
        )
        for i in range(self.replicas):
            port = free_port()
            self.processes.append(
                Replica(
                    "actions",
                    i,
                    port,
                    [sys.executable, "-m", "rasa_sdk", "--actions", "actions", "--port", str(port)],
                    self._env(),
                    self.work / f"actions-{i}.log",
                    f"http://127.0.0.1:{port}/health",
                )
            )
        for i in range(self.replicas):
            port = free_port()
            args = [rasa_bin, "run", "--model", str(MODEL), "--port", str(port), "--interface", "127.0.0.1"]
            args += ["--endpoints", str(endpoints), "--credentials", str(ROOT / "credentials.yml")]
            args += ["--enable-api", "--auth-token", self.rasa_token]
            env = self._env(
                TICKET_LOCK_LIFETIME="10",
                SQL_POOL_SIZE="10",
                SQL_MAX_OVERFLOW="20",
                # The replicas share the cores: TensorFlow threads per Rasa server to match.
                TF_INTER_OP_PARALLELISM_THREADS=str(self.tf_threads),
                TF_INTRA_OP_PARALLELISM_THREADS=str(self.tf_threads),
            )
            self.processes.append(
                Replica("rasa", i, port, args, env, self.work / f"rasa-{i}.log", f"http://127.0.0.1:{port}/")
            )
        for i in range(self.replicas):
            port, data = free_port(), self.work / f"bot-{i}"
            data.mkdir(exist_ok=True)
            # Telegram's ~30 requests a second is for the whole bot: each process gets its share.
            limit = self.extra_env.get("TELEGRAM_RATE_LIMIT", str(TELEGRAM_LIMIT / self.replicas))
            env = self._env(
                TELEGRAM_RATE_LIMIT=limit,
                TELEGRAM_BOT_TOKEN=self.token,
                TELEGRAM_API_BASE_URL=self.api_url,
                TELEGRAM_WEBHOOK_URL=self.webhook_url,
                TELEGRAM_WEBHOOK_SECRET=WEBHOOK_SECRET,
                TELEGRAM_WEBHOOK_LISTEN="127.0.0.1",
                TELEGRAM_WEBHOOK_PORT=str(port),
                RASA_URL=self.rasa_url,
                ACTION_SERVER_URL=self.action_url,
                DEUROPENER_DATA_DIR=str(data),
                RETRY_INTERVAL_SECONDS="1",
            )
            args = [sys.executable, "-m", "bot", "telegram"]
            self.processes.append(Replica("bot", i, port, args, env, self.work / f"bot-{i}.log"))

    def _write_nginx(self) -> Path:
        prefix = self.work / "nginx"
        prefix.mkdir(exist_ok=True)

        def servers(kind: str) -> str:
            return "\n".join(
                f"        server 127.0.0.1:{p.port} max_fails=1 fail_timeout=5s;" for p in self.of(kind)
            )

        conf = Template(NGINX_TEMPLATE.read_text()).substitute(
            prefix=prefix,
            listen="127.0.0.1",
            bot_port=self.bot_door,
            rasa_port=self.rasa_door,
            action_port=self.action_door,
            bot_servers=servers("bot"),
            rasa_servers=servers("rasa"),
            action_servers=servers("actions"),
        )
        path = prefix / "nginx.conf"
        path.write_text(conf)
        return path

    def start(self) -> float:
        """Start everything; returns the seconds until the stack answered (cold start)."""
        binary = nginx_binary()
        if binary is None:
            raise RuntimeError("nginx is not installed (make test installs Debian's nginx-light)")
        started = time.monotonic()
        db = Database(self.database_url)
        try:
            db.migrate()  # once, before the bots start (they would race on the schema)
        finally:
            db.dispose()
        self._define()
        conf = self._write_nginx()
        self.nginx = subprocess.Popen(
            [binary, "-p", str(conf.parent), "-c", str(conf), "-g", "daemon off;"],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=(self.work / "nginx" / "stderr.log").open("wb"),
        )
        for process in self.processes:  # all at once: a bot waits for Rasa on its own
            process.start()
        self.wait_up(self.of("actions") + self.of("rasa"), started + STARTUP_TIMEOUT)
        self.wait_up(self.of("bot"), started + STARTUP_TIMEOUT, webhook=True)
        return time.monotonic() - started

    def wait_up(self, processes: list[Replica], deadline: float, webhook: bool = False) -> None:
        waiting = list(processes)
        while waiting:
            for process in list(waiting):
                if not process.alive():
                    raise RuntimeError(f"{process.name} exited:\n{process.log.read_text()[-3000:]}")
                if (webhook and self._listening(process.port)) or (not webhook and process.up()):
                    waiting.remove(process)
            if time.monotonic() > deadline:
                names = ", ".join(p.name for p in waiting)
                raise RuntimeError(f"{names} did not come up:\n{waiting[0].log.read_text()[-3000:]}")
            time.sleep(0.5)

    @staticmethod
    def _listening(port: int) -> bool:
        with socket.socket() as sock:
            sock.settimeout(0.5)
            return sock.connect_ex(("127.0.0.1", port)) == 0

    def restart(self, replica: Replica) -> None:
        replica.start()
        self.wait_up([replica], time.monotonic() + STARTUP_TIMEOUT, webhook=replica.kind == "bot")

    def stop(self) -> None:
        for process in reversed(self.processes):
            process.stop()
        if self.nginx is not None and self.nginx.poll() is None:
            self.nginx.send_signal(signal.SIGQUIT)
            try:
                self.nginx.wait(10)
            except subprocess.TimeoutExpired:
                self.nginx.kill()

    def __enter__(self) -> Cluster:
        try:
            self.start()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # --- using it ---------------------------------------------------------------------------

    def cpu_by_kind(self) -> dict[str, float]:
        """CPU seconds used so far per kind of process (rasa, actions, bot, nginx)."""
        used = {kind: 0.0 for kind in ("rasa", "actions", "bot")}
        for replica in self.processes:
            if replica.alive() and replica.process is not None:
                used[replica.kind] += cpu_seconds(replica.process.pid)
        if self.nginx is not None and self.nginx.poll() is None:
            used["nginx"] = cpu_seconds(self.nginx.pid)
        return used

    def rss(self) -> int:
        """Resident memory of the whole stack (every replica and nginx), in bytes."""
        pids = [p.process.pid for p in self.processes if p.alive() and p.process is not None]
        if self.nginx is not None and self.nginx.poll() is None:
            pids.append(self.nginx.pid)
        return sum(rss_bytes(pid) for pid in pids)

    def warnings_in_logs(self, last: int = 15) -> str:
        """The last warnings and errors of every replica and nginx: what a failed run shows."""
        parts = []
        for log in [p.log for p in self.processes] + [self.work / "nginx" / "error.log"]:
            text = log.read_text(errors="replace") if log.exists() else ""
            lines = [line for line in text.splitlines() if any(w in line for w in ("WARN", "ERROR", "error"))]
            parts.append(f"--- {log.name}: " + "\n".join(lines[-last:]))
        return "\n".join(parts)

    def errors_in_logs(self) -> list[str]:
        """Tracebacks in the replicas' logs (a killed replica's own log is not read)."""
        found = []
        for process in self.processes:
            text = process.log.read_text(errors="replace") if process.log.exists() else ""
            if "Traceback" in text:
                found.append(f"{process.name}: {text[text.index('Traceback') :][:1500]}")
        return found


async def deliver(
    client: httpx.AsyncClient, url: str, update: dict[str, object], timeout: float = 60.0
) -> int:
    """POST one update to the webhook as Telegram does: retried until a bot answers 200.

    Returns the number of attempts it took."""
    deadline = time.monotonic() + timeout
    attempts = 0
    body = json.dumps(update)
    headers = {"X-Telegram-Bot-Api-Secret-Token": WEBHOOK_SECRET, "Content-Type": "application/json"}
    while True:
        attempts += 1
        try:
            response = await client.post(url, content=body, headers=headers, timeout=10)
            if response.status_code == 200:
                return attempts
        except httpx.HTTPError:
            pass
        if time.monotonic() > deadline:
            raise TimeoutError(f"no bot accepted update {update.get('update_id')} in {timeout} s")
        await asyncio.sleep(0.5)
