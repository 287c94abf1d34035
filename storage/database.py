"""Engine creation shared by every process that uses the application database."""

from __future__ import annotations

import os
from functools import cache
from pathlib import Path

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.orm import DeclarativeBase

ROOT = Path(__file__).resolve().parent.parent


class Base(DeclarativeBase):
    pass


def default_url() -> str:
    """DATABASE_URL, else a SQLite file in DEUROPENER_DATA_DIR (default ./data)."""
    if url := os.environ.get("DATABASE_URL"):
        return url
    data_dir = Path(os.environ.get("DEUROPENER_DATA_DIR", ROOT / "data"))
    data_dir.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{data_dir / 'deuropener.db'}"


@cache
def engine(url: str | None = None) -> Engine:
    """One engine per URL and process (connection pooling lives in the engine)."""
    created = create_engine(url or default_url())
    if created.dialect.name == "sqlite":
        # Several processes (bot, action server) share the file: wait instead of failing.
        @event.listens_for(created, "connect")
        def _pragmas(connection, _record) -> None:  # type: ignore[no-untyped-def]
            cursor = connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA busy_timeout=5000")
            cursor.close()

    return created
