"""Shared fixtures. The real Rasa server and action server start once per test session."""

from __future__ import annotations

import base64
import contextlib
import os
import secrets
import shutil
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import create_engine, text

from bot import rasa_endpoints
from tests.fake_bot_api import FakeBotApi
from tests.rasa_stack import RasaStack
from tests.tcp_proxy import TcpProxy

ROOT = Path(__file__).resolve().parent.parent
MODEL = ROOT / "models" / "deuropener.tar.gz"
STARTUP_TIMEOUT = 240  # seconds; loading a model takes about a minute here
RASA_TOKEN = secrets.token_hex(16)  # for Rasa's HTTP API (the bot reads the tracker)
POSTGRES = "postgresql://postgres@127.0.0.1:5432/test"  # trust auth on developers' and CI machines
# One data key (encryption at rest, bot.crypto) for the session: this process reads the
# databases that the bots, chats and action servers it starts write, each with its own data dir.
os.environ.setdefault("DEUROPENER_DATA_KEYS", base64.urlsafe_b64encode(secrets.token_bytes(32)).decode())


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _wait_until_up(url: str, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + STARTUP_TIMEOUT
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{url} exited early:\n{log.read_text()[-3000:]}")
        try:
            if httpx.get(url, timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(1)
    raise RuntimeError(f"{url} did not come up in {STARTUP_TIMEOUT} s:\n{log.read_text()[-3000:]}")


def _start(args: list[str], log: Path, env: dict[str, str]) -> subprocess.Popen[bytes]:
    with log.open("wb") as out:
        return subprocess.Popen(
            args, cwd=ROOT, env=env, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT
        )


@pytest.fixture(scope="session")
def rasa_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RasaStack]:
    """A real Rasa server (with the real action server) serving the trained model."""
    if not MODEL.exists():
        pytest.fail(f"no trained model at {MODEL}: run the tests with `make test`")
    work = tmp_path_factory.mktemp("rasa")
    action_port, rasa_port = free_port(), free_port()
    action_proxy = TcpProxy(action_port)
    tracker_db = work / "tracker.db"
    # The action server's application database: this session's own, like its data key (the
    # developer's data/ would collect rows encrypted with the keys of earlier sessions).
    app_db = f"sqlite:///{work / 'app.db'}"
    # The endpoints `make run` writes: our tracker store in SQLite, Rasa's in-memory lock store.
    endpoints = rasa_endpoints.write_to(
        work / "endpoints.yml", f"{action_proxy.url}/webhook", f"sqlite:///{tracker_db}", None
    )
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "RASA_TELEMETRY_ENABLED": "false",
        "TF_CPP_MIN_LOG_LEVEL": "2",
        "DATABASE_URL": app_db,
    }
    rasa_bin = os.environ.get("RASA_BIN", "rasa")
    actions = _start(
        [sys.executable, "-m", "rasa_sdk", "--actions", "actions", "--port", str(action_port)],
        work / "actions.log",
        env,
    )
    rasa = _start(
        [
            rasa_bin,
            "run",
            "--model",
            str(MODEL),
            "--port",
            str(rasa_port),
            "--interface",
            "127.0.0.1",
            "--endpoints",
            str(endpoints),
            "--credentials",
            str(ROOT / "credentials.yml"),
            "--enable-api",
            "--auth-token",
            RASA_TOKEN,
        ],
        work / "rasa.log",
        env,
    )
    try:
        _wait_until_up(f"http://127.0.0.1:{action_port}/health", actions, work / "actions.log")
        _wait_until_up(f"http://127.0.0.1:{rasa_port}/", rasa, work / "rasa.log")
        yield RasaStack(f"http://127.0.0.1:{rasa_port}", RASA_TOKEN, action_proxy, tracker_db, app_db)
    finally:
        action_proxy.close()
        for process in (rasa, actions):
            process.terminate()
        for process in (rasa, actions):
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()


@pytest.fixture(scope="session")
def rasa_url(rasa_stack: RasaStack) -> str:
    """URL of the real Rasa server (REST channel and HTTP API)."""
    return rasa_stack.url


def redis_up() -> bool:
    """Redis answers on 127.0.0.1:6379 (.ci/run starts it)."""
    redis_cli = shutil.which("redis-cli")
    if redis_cli is None:
        return False
    ping = subprocess.run([redis_cli, "-h", "127.0.0.1", "ping"], capture_output=True)
    return ping.stdout.strip() == b"PONG"


@contextlib.contextmanager
def postgres_database() -> Iterator[str]:
    """A fresh PostgreSQL database, dropped afterwards (skips the test if PostgreSQL is down)."""
    admin = create_engine(
        POSTGRES.replace("postgresql://", "postgresql+psycopg://"), isolation_level="AUTOCOMMIT"
    )
    name = f"deuropener_test_{secrets.token_hex(4)}"
    try:
        with admin.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{name}"'))
    except Exception as exc:
        admin.dispose()
        pytest.skip(f"PostgreSQL is not running on 127.0.0.1:5432 (see ENGINEERING.md to start it): {exc}")
    try:
        yield POSTGRES.rsplit("/", 1)[0] + f"/{name}"
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """A fresh PostgreSQL database for one test, dropped afterwards."""
    with postgres_database() as url:
        yield url


@pytest.fixture
def sender() -> str:
    """A fresh conversation id, so each test starts a new session."""
    return f"test-{uuid.uuid4().hex[:12]}"


@pytest.fixture
def api() -> Iterator[FakeBotApi]:
    """A fake Telegram Bot API server on 127.0.0.1 for one test."""
    with FakeBotApi() as fake:
        yield fake
