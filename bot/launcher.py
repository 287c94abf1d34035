"""`make run`: start the Rasa server, the action server and (with a token) the Telegram bot.

Runs until stopped; Ctrl-C or SIGTERM stops every process it started. Needs no terminal:
children get no stdin, and nothing here reads from it.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import signal
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from bot import rasa_endpoints, retention
from bot.db import Database
from bot.settings import ROOT, Settings, dashboard_base_url

log = logging.getLogger("deuropener")

MODEL = ROOT / "models" / "deuropener.tar.gz"


@dataclass
class Service:
    name: str
    args: list[str]
    health_url: str | None = None
    process: subprocess.Popen[bytes] | None = None

    def start(self, env: dict[str, str]) -> None:
        log.info("starting %s", self.name)
        self.process = subprocess.Popen(
            self.args, cwd=ROOT, env=env, stdin=subprocess.DEVNULL, start_new_session=True
        )

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def stop(self) -> None:
        if self.alive():
            assert self.process is not None
            os.killpg(self.process.pid, signal.SIGTERM)

    def wait_stopped(self, timeout: float) -> None:
        if self.process is None:
            return
        try:
            self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()


def _is_up(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return response.status == 200
    except OSError:
        return False


def _action_port() -> str:
    return os.environ.get("ACTION_SERVER_PORT", "5055")


def services(settings: Settings, endpoints: Path) -> list[Service]:
    rasa_bin = os.environ.get("RASA_BIN", "rasa")
    rasa_port = settings.rasa_url.rsplit(":", 1)[-1].rstrip("/")
    action_port = _action_port()
    found = [
        Service(
            "action server",
            [sys.executable, "-m", "rasa_sdk", "--actions", "actions", "--port", action_port],
            f"http://127.0.0.1:{action_port}/health",
        ),
        Service(
            "Rasa server",
            [
                rasa_bin,
                "run",
                "--model",
                str(MODEL),
                "--port",
                rasa_port,
                "--interface",
                os.environ.get("RASA_INTERFACE", "127.0.0.1"),
                "--endpoints",
                str(endpoints),
                "--credentials",
                "credentials.yml",
                # The HTTP API, for the bot to read the tracker (intent, confidence, flow): token-
                # protected, and like the REST channel on 127.0.0.1 unless RASA_INTERFACE says otherwise.
                "--enable-api",
                "--auth-token",
                settings.rasa_auth_token or "",
            ],
            f"{settings.rasa_url}/",
        ),
    ]
    if settings.telegram_token:
        found.append(Service("Telegram bot", [sys.executable, "-m", "bot", "telegram"]))
    found.append(  # the supervisors' web dashboard (bot/dashboard), on DASHBOARD_HOST:DASHBOARD_PORT
        Service(
            "dashboard",
            [sys.executable, "-m", "bot.dashboard"],
            f"http://{settings.dashboard_host}:{settings.dashboard_port}/static/dashboard.css",
        )
    )
    return found


def main() -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s")
    settings = Settings.from_env()
    if not MODEL.exists():
        log.error("no trained model at %s: run `make run` (it trains first)", MODEL)
        return 1
    action_url = os.environ.get("ACTION_SERVER_URL") or f"http://127.0.0.1:{_action_port()}/webhook"
    settings = dataclasses.replace(settings, action_server_url=action_url)
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "RASA_TELEMETRY_ENABLED": "false",
        "TF_CPP_MIN_LOG_LEVEL": "2",
        "ACTION_SERVER_URL": action_url,
        "RASA_AUTH_TOKEN": settings.rasa_auth_token or "",
        # Rasa's conversation lock: the bot already lets one process at a time answer a worker,
        # so a short lifetime only matters when a Rasa server dies holding one (bot/leases.py).
        "TICKET_LOCK_LIFETIME": os.environ.get("TICKET_LOCK_LIFETIME", "10"),
    }
    endpoints = rasa_endpoints.write(settings)  # tracker and lock store from the environment
    stopping = False

    def request_stop(signum: int, _frame: object) -> None:
        nonlocal stopping
        log.info("received %s: stopping", signal.Signals(signum).name)
        stopping = True

    signal.signal(signal.SIGINT, request_stop)
    signal.signal(signal.SIGTERM, request_stop)
    signal.signal(signal.SIGHUP, request_stop)  # the terminal was closed

    _migrate(settings)  # the schema, once, before the processes using it start (they would race)
    # Without Telegram, this is the long-running process: it runs the retention job (the bot does otherwise).
    purges = not settings.telegram_token
    next_purge = _purge(settings) if purges else time.monotonic()

    running = services(settings, endpoints)
    for service in running:
        service.start(env)

    pending = [s for s in running if s.health_url]
    started = time.monotonic()
    exit_code = 0
    while not stopping:
        for service in list(pending):
            if service.health_url and _is_up(service.health_url):
                log.info("%s is up (%.0f s)", service.name, time.monotonic() - started)
                pending.remove(service)
                if not pending:
                    _announce(settings)
        if purges and time.monotonic() >= next_purge:
            next_purge = _purge(settings)
        dead = [s for s in running if not s.alive()]
        if dead:
            log.error("%s stopped unexpectedly: stopping everything", dead[0].name)
            exit_code = 1
            break
        time.sleep(0.5)

    for service in running:
        service.stop()
    for service in running:
        service.wait_stopped(timeout=15)
    log.info("all stopped")
    return exit_code


def _migrate(settings: Settings) -> None:
    db = Database(settings.database_url)
    try:
        db.migrate()
    finally:
        db.dispose()


def _purge(settings: Settings) -> float:
    """Run the retention job once; returns when (time.monotonic) it is due again."""
    try:
        log.info("Retention (%d days): %s", settings.retention_days, retention.purge_with(settings))
    except Exception:
        log.exception("The retention job failed; it runs again in a day")
    return time.monotonic() + retention.DAILY.total_seconds()


def _announce(settings: Settings) -> None:
    log.info("Deuropener is running. Rasa REST channel: %s/webhooks/rest/webhook", settings.rasa_url)
    log.info("Dashboard for supervisors: %s (sign in: /dashboard in Telegram)", dashboard_base_url(settings))
    if settings.telegram_token:
        log.info("The Telegram bot is polling for messages.")
    else:
        log.info(
            "No TELEGRAM_BOT_TOKEN set, so the Telegram bot is not started. "
            "Talk to the assistant locally with `make chat` (in another terminal)."
        )


if __name__ == "__main__":
    sys.exit(main())
