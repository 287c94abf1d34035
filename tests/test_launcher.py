"""`make run`: starts everything without a terminal, serves, and stops cleanly on SIGTERM."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from tests.conftest import ROOT, free_port
from tests.fake_bot_api import FakeBotApi

pytestmark = pytest.mark.integration


def _wait_for_rest(url: str, process: subprocess.Popen[bytes], log: Path, timeout: float = 240) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert process.poll() is None, log.read_text()[-3000:]
        try:
            answer = httpx.post(url, json={"sender": "launcher-test", "message": "hoi"}, timeout=30)
            if answer.status_code == 200 and answer.json():
                return
        except httpx.HTTPError:
            pass
        time.sleep(1)
    raise AssertionError(f"no answer from {url}:\n{log.read_text()[-3000:]}")


def _port_open(port: int) -> bool:
    try:
        httpx.get(f"http://127.0.0.1:{port}/", timeout=1)
        return True
    except httpx.HTTPError:
        return False


def _launch(tmp_path: Path, **extra_env: str) -> tuple[subprocess.Popen[bytes], Path, int, int]:
    """`python -m bot run` (what `make run` calls) with no stdin, on free ports."""
    rasa_port, action_port = free_port(), free_port()
    env = {k: v for k, v in os.environ.items() if k not in {"TELEGRAM_BOT_TOKEN", "DATABASE_URL"}} | {
        "RASA_URL": f"http://127.0.0.1:{rasa_port}",
        "ACTION_SERVER_PORT": str(action_port),
        "DEUROPENER_DATA_DIR": str(tmp_path),
        "DASHBOARD_PORT": str(free_port()),  # the supervisors' dashboard, also started by `make run`
        **extra_env,
    }
    log = tmp_path / "run.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "bot", "run"],
            cwd=ROOT,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    return process, log, rasa_port, action_port


def _invite(tmp_path: Path) -> str:
    """`python -m bot admin invite`, as an admin types it; returns the code it printed."""
    done = subprocess.run(
        [sys.executable, "-m", "bot", "admin", "invite", "--role", "worker", "--team", "Wijkteam Zuid"],
        cwd=ROOT,
        env=os.environ | {"DEUROPENER_DATA_DIR": str(tmp_path)},
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return done.stdout.split("Invite code: ", 1)[1].split()[0]


def test_run_without_token_serves_rest_and_stops_everything_on_sigterm(tmp_path: Path) -> None:
    process, log, rasa_port, action_port = _launch(tmp_path)
    try:
        _wait_for_rest(f"http://127.0.0.1:{rasa_port}/webhooks/rest/webhook", process, log)
        deadline = time.monotonic() + 10
        while "make chat" not in log.read_text() and time.monotonic() < deadline:
            time.sleep(0.2)
        output = log.read_text()
        assert "No TELEGRAM_BOT_TOKEN" in output and "make chat" in output
        assert "dashboard is up" in output
        assert (tmp_path / "rasa_tracker.db").exists()

        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=60) == 0
        assert not _port_open(rasa_port) and not _port_open(action_port)
    finally:
        if process.poll() is None:
            process.kill()


def test_run_with_a_token_starts_the_telegram_bot_too(tmp_path: Path) -> None:
    with FakeBotApi() as api:
        process, log, rasa_port, _ = _launch(
            tmp_path, TELEGRAM_BOT_TOKEN=api.token, TELEGRAM_API_BASE_URL=api.url
        )
        try:
            _wait_for_rest(f"http://127.0.0.1:{rasa_port}/webhooks/rest/webhook", process, log)
            api.push_text(4242, "hoi")  # not invited yet
            api.wait_for_text("werkt alleen op uitnodiging", timeout=60)

            code = _invite(tmp_path)
            api.push_text(4242, f"/start {code}")
            api.wait_for_text("Welkom bij Deuropener", timeout=60)
            greeting = api.wait_for_text("ik ben een coach", timeout=60)
            assert greeting.params["chat_id"] == 4242
            process.send_signal(signal.SIGINT)  # Ctrl-C
            assert process.wait(timeout=60) == 0
            assert "Telegram bot" in log.read_text()
        finally:
            if process.poll() is None:
                process.kill()
