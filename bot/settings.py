"""Configuration from environment variables (see .env.example), with embedded defaults."""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class Settings:
    data_dir: Path
    database_url: str
    rasa_url: str
    rasa_timeout: float
    telegram_token: str | None
    telegram_api_base_url: str | None
    pseudonym_secret: bytes

    @classmethod
    def from_env(cls) -> Settings:
        data_dir = Path(os.environ.get("DEUROPENER_DATA_DIR", ROOT / "data"))
        data_dir.mkdir(parents=True, exist_ok=True)
        return cls(
            data_dir=data_dir,
            database_url=os.environ.get("DATABASE_URL") or f"sqlite:///{data_dir / 'deuropener.db'}",
            rasa_url=os.environ.get("RASA_URL", "http://127.0.0.1:5005"),
            rasa_timeout=float(os.environ.get("RASA_TIMEOUT_SECONDS", "10")),
            telegram_token=os.environ.get("TELEGRAM_BOT_TOKEN") or None,
            telegram_api_base_url=os.environ.get("TELEGRAM_API_BASE_URL") or None,
            pseudonym_secret=_pseudonym_secret(data_dir),
        )


def _pseudonym_secret(data_dir: Path) -> bytes:
    """The key that turns user ids into pseudonyms: from the environment, else a local file."""
    if value := os.environ.get("PSEUDONYM_SECRET"):
        return value.encode()
    path = data_dir / "pseudonym.secret"
    if not path.exists():
        path.write_text(secrets.token_hex(32))
        path.chmod(0o600)
    return path.read_text().strip().encode()
