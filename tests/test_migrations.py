"""The Alembic migrations, on SQLite and on PostgreSQL (DATABASE_URL's other dialect)."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine, inspect, text

from bot import access, transcript
from bot.db import Database, alembic_config
from bot.inbound import typed
from bot.models import Base, Role

POSTGRES = "postgresql://postgres@127.0.0.1:5432/test"
TABLES = {"teams", "users", "invites", "strangers", "messages", "alembic_version"}


def _check(db: Database) -> None:
    """Migrate twice (the second is a no-op), match the models, store and read back, downgrade."""
    db.migrate()
    db.migrate()
    assert set(inspect(db.engine).get_table_names()) >= TABLES
    with db.engine.connect() as connection:
        context = MigrationContext.configure(connection)
        assert compare_metadata(context, Base.metadata) == []  # the migrations make the models' schema
    with db.session() as session:
        code = access.create_invite(session, Role.WORKER, "Team", timedelta(hours=1))
    with db.session() as session:
        user = access.redeem(session, code, pseudonym="p1", channel="telegram", chat_id=2**40)
        assert user is not None
        assert transcript.receive(session, user, typed("hoi"), "hoi", update_id=7) is not None
    with db.session() as session:
        user = access.find_user(session, "p1")
        assert user is not None and user.chat_id == 2**40 and transcript.count(session, user.id) == 1
    config = alembic_config(db.url)
    command.downgrade(config, "base")
    assert set(inspect(db.engine).get_table_names()) <= {"alembic_version"}


def test_migrations_on_sqlite(tmp_path: Path) -> None:
    db = Database(f"sqlite:///{tmp_path / 'app.db'}")
    try:
        _check(db)
    finally:
        db.dispose()


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """A fresh PostgreSQL database for one test, dropped afterwards."""
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


def test_migrations_on_postgresql(postgres_url: str) -> None:
    db = Database(postgres_url)  # a plain postgresql:// URL, as DATABASE_URL would give it
    assert db.engine.dialect.name == "postgresql" and db.engine.dialect.driver == "psycopg"
    try:
        _check(db)
    finally:
        db.dispose()
