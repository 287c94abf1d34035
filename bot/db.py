"""The application database: one engine, migrations applied on start, one session helper.

`Database.session()` is the unit of work every caller uses: it commits when the block ends
and rolls back when it raises. Keep blocks short; never hold one open across a call to Rasa
or Telegram (SQLite allows one writer at a time).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.orm import Session, sessionmaker

log = logging.getLogger(__name__)

MIGRATIONS = Path(__file__).resolve().parent / "migrations"
MIGRATION_LOCK = 0x6465_7572  # PostgreSQL advisory lock key held while migrating ("deur")
# A pooled connection unused this long is checked (SELECT 1) before it is handed out, so one
# that a database restart or an idle timeout broke is replaced instead of failing a request.
# Busier connections are not: SQLAlchemy's `pool_pre_ping` checks before every transaction,
# a round trip each, and a message takes about ten (BENCHMARKS.md). A restart in the middle of
# traffic fails the requests in flight either way; SQLAlchemy then renews the whole pool.
PING_AFTER_IDLE_SECONDS = 10.0


def normalise_url(url: str) -> str:
    """Plain `postgresql://` URLs use psycopg 3 (the driver installed), not psycopg2."""
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url.removeprefix(prefix)
    return url


def alembic_config(url: str | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    if url:
        config.set_main_option("sqlalchemy.url", normalise_url(url).replace("%", "%%"))
    return config


def _sqlite_pragmas(connection: Any, _record: Any) -> None:
    cursor = connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")  # readers don't block the writer
    cursor.execute("PRAGMA synchronous=NORMAL")  # safe against a process crash, and fast
    cursor.execute("PRAGMA busy_timeout=5000")  # the bot, the chat and the actions share the file
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


def _stamp_checkin(_connection: Any, record: Any) -> None:
    record.info["checked_in"] = time.monotonic()


def _ping_if_idle(connection: Any, record: Any, _proxy: Any) -> None:
    """Check a connection that sat unused in the pool; a broken one is replaced by the pool."""
    checked_in = record.info.get("checked_in")
    if checked_in is None or time.monotonic() - checked_in < PING_AFTER_IDLE_SECONDS:
        return
    try:
        cursor = connection.cursor()
        cursor.execute("SELECT 1")
        cursor.close()
        connection.rollback()
    except Exception as exc:  # the driver's own error types: any failure means a broken connection
        raise DisconnectionError(f"stale pooled connection: {exc}") from exc


class Database:
    def __init__(self, url: str) -> None:
        self.url = normalise_url(url)
        self.engine: Engine = create_engine(self.url)
        event.listen(self.engine, "checkin", _stamp_checkin)
        event.listen(self.engine, "checkout", _ping_if_idle)
        if self.engine.dialect.name == "sqlite":
            event.listen(self.engine, "connect", _sqlite_pragmas)
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)

    def migrate(self) -> None:
        """Bring the schema up to date (Alembic `upgrade head`); runs on every start."""
        config = alembic_config()
        with self.engine.begin() as connection:
            if self.engine.dialect.name == "postgresql":  # replicas starting together: one at a time
                connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK})
            config.attributes["connection"] = connection
            command.upgrade(config, "heads")  # feature branches of the schema may coexist

    @contextmanager
    def session(self) -> Iterator[Session]:
        """One unit of work: committed at the end of the block, rolled back on an exception."""
        with self._sessions.begin() as session:
            yield session

    def dispose(self) -> None:
        self.engine.dispose()
