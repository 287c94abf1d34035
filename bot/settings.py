"""Configuration from environment variables (see .env.example), with embedded defaults."""

from __future__ import annotations

import base64
import os
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class Settings:
    data_dir: Path
    database_url: str
    rasa_url: str
    rasa_timeout: float  # after this long the worker hears that the assistant is briefly away
    telegram_token: str | None
    telegram_api_base_url: str | None
    pseudonym_secret: bytes
    rasa_auth_token: str | None = None  # for Rasa's HTTP API (the tracker: intent, confidence, flow)
    action_server_url: str = "http://127.0.0.1:5055/webhook"
    rasa_tracker_db_url: str | None = None  # Rasa's tracker store (sqlite:/// or postgresql://)
    redis_url: str | None = None  # Rasa's lock store in Redis, for several Rasa servers
    rasa_max_wait: float = 120.0  # a slow answer still arriving within this is delivered late
    pending_max_age: timedelta = timedelta(hours=1)  # then the worker is told it wasn't processed
    retry_interval: float = 5.0  # how often pending messages are retried
    # Bot API requests a second for this bot process: Telegram allows a bot about 30 in all, so
    # with N bot processes on one token give each 30 / N. 0: no limit (a Bot API server without
    # one, such as the fake one in the benchmarks).
    telegram_rate_limit: float = 30.0
    telegram_webhook_url: str | None = None  # public HTTPS URL: webhook mode instead of polling
    telegram_webhook_secret: str | None = None
    telegram_webhook_listen: str = "0.0.0.0"
    telegram_webhook_port: int = 8443
    # Keys for encryption at rest, comma-separated: the first encrypts, all decrypt (bot.crypto).
    # None: DEUROPENER_DATA_KEYS, else the key file in data_dir (see `data_keys`).
    data_keys: str | None = None
    retention_days: int = 180  # transcripts and cases older than this are deleted daily
    dashboard_host: str = "127.0.0.1"  # the supervisors' web dashboard (bot/dashboard)
    dashboard_port: int = 8088
    dashboard_url: str | None = None  # public base URL of the dashboard; default http://host:port
    dashboard_session_hours: float = 8.0  # a dashboard sign-in lasts this long

    @classmethod
    def from_env(cls) -> Settings:
        env = os.environ
        data_dir = Path(env.get("DEUROPENER_DATA_DIR", ROOT / "data"))
        data_dir.mkdir(parents=True, exist_ok=True)
        tracker_db = env.get("RASA_TRACKER_DB") or str(data_dir / "rasa_tracker.db")
        return cls(
            data_dir=data_dir,
            database_url=env.get("DATABASE_URL") or f"sqlite:///{data_dir / 'deuropener.db'}",
            rasa_url=env.get("RASA_URL", "http://127.0.0.1:5005"),
            rasa_timeout=float(env.get("RASA_TIMEOUT_SECONDS", "10")),
            telegram_token=env.get("TELEGRAM_BOT_TOKEN") or None,
            telegram_api_base_url=env.get("TELEGRAM_API_BASE_URL") or None,
            pseudonym_secret=_secret(data_dir, "PSEUDONYM_SECRET", "pseudonym.secret").encode(),
            rasa_auth_token=_secret(data_dir, "RASA_AUTH_TOKEN", "rasa_auth.token"),
            action_server_url=env.get("ACTION_SERVER_URL") or "http://127.0.0.1:5055/webhook",
            rasa_tracker_db_url=env.get("RASA_TRACKER_DB_URL") or f"sqlite:///{tracker_db}",
            redis_url=env.get("REDIS_URL") or None,
            rasa_max_wait=float(env.get("RASA_MAX_WAIT_SECONDS", "120")),
            pending_max_age=timedelta(minutes=float(env.get("PENDING_MAX_MINUTES", "60"))),
            retry_interval=float(env.get("RETRY_INTERVAL_SECONDS", "5")),
            telegram_rate_limit=float(env.get("TELEGRAM_RATE_LIMIT", "30")),
            telegram_webhook_url=env.get("TELEGRAM_WEBHOOK_URL") or None,
            telegram_webhook_secret=env.get("TELEGRAM_WEBHOOK_SECRET") or None,
            telegram_webhook_listen=env.get("TELEGRAM_WEBHOOK_LISTEN", "0.0.0.0"),
            telegram_webhook_port=int(env.get("TELEGRAM_WEBHOOK_PORT", "8443")),
            data_keys=data_keys(data_dir),
            retention_days=retention_days(env.get("RETENTION_DAYS")),
            dashboard_host=env.get("DASHBOARD_HOST", "127.0.0.1"),
            dashboard_port=int(env.get("DASHBOARD_PORT", "8088")),
            dashboard_url=env.get("DASHBOARD_URL") or None,
            dashboard_session_hours=float(env.get("DASHBOARD_SESSION_HOURS", "8")),
        )


DATA_KEYS_FILE = "data.keys"


def new_data_key() -> str:
    """A fresh key for encryption at rest (a Fernet key: 32 random bytes, URL-safe base64)."""
    return base64.urlsafe_b64encode(secrets.token_bytes(32)).decode()


def data_keys(data_dir: Path) -> str:
    """The data keys: DEUROPENER_DATA_KEYS, else `data.keys` in the data dir (made on first use)."""
    return _secret(data_dir, "DEUROPENER_DATA_KEYS", DATA_KEYS_FILE, make=new_data_key)


def retention_days(value: str | None) -> int:
    """RETENTION_DAYS: a whole number of days, at least 1 (default 180)."""
    try:
        days = int(value or "180")
    except ValueError:
        days = 0
    if days < 1:
        raise ValueError(f"RETENTION_DAYS must be a whole number of days, at least 1 (got {value!r})")
    return days


def _secret(
    data_dir: Path, variable: str, filename: str, make: Callable[[], str] = lambda: secrets.token_hex(32)
) -> str:
    """A secret from the environment, else from a local file made on first use.

    The file lets the launcher, the bot and `make chat` share it without configuration. It is
    created atomically: processes starting together all end up with the same secret.
    """
    if value := os.environ.get(variable):
        return value
    path = data_dir / filename
    if not path.exists():
        draft = data_dir / f".{filename}.{os.getpid()}.{secrets.token_hex(4)}"
        draft.write_text(make())
        draft.chmod(0o600)
        try:
            os.link(draft, path)  # fails if another process made it first: theirs is kept
        except FileExistsError:
            pass
        finally:
            draft.unlink()
    return path.read_text().strip()


def dashboard_base_url(settings: Settings) -> str:
    """Where the dashboard's links point: DASHBOARD_URL, else its own address."""
    own = f"http://{settings.dashboard_host}:{settings.dashboard_port}"
    return (settings.dashboard_url or own).rstrip("/")
