"""Pooled PostgreSQL connections: one that broke while it sat unused (a database restart, an
idle timeout) is replaced before use; one that breaks mid-traffic fails at most the request
in flight, and the pool is renewed for the next.
"""

from __future__ import annotations

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.exc import OperationalError

from bot import db as db_module
from bot.db import Database, normalise_url


def _terminate(url: str, pid: int) -> None:
    """End a server process from outside, as a restart of the database would."""
    admin = create_engine(normalise_url(url), isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
    admin.dispose()


def _backend(database: Database) -> int:
    with database.session() as session:
        return int(session.scalar(text("SELECT pg_backend_pid()")))


def test_a_connection_broken_while_idle_is_replaced_unnoticed(
    postgres_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(db_module, "PING_AFTER_IDLE_SECONDS", 0.0)  # every connection counts as idle
    database = Database(postgres_url)
    first = _backend(database)
    _terminate(postgres_url, first)

    assert _backend(database) != first  # no error: the pool noticed and connected afresh
    database.dispose()


def test_a_connection_broken_mid_traffic_fails_one_request_and_the_pool_recovers(
    postgres_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(db_module, "PING_AFTER_IDLE_SECONDS", 3600.0)  # busy: no check before use
    database = Database(postgres_url)
    first = _backend(database)
    _terminate(postgres_url, first)

    with pytest.raises(OperationalError):
        _backend(database)
    assert _backend(database) != first
    database.dispose()
