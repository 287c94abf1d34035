"""The Alembic migrations, on SQLite and on PostgreSQL (DATABASE_URL's other dialect)."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect

from bot import access, transcript
from bot.db import Database, alembic_config
from bot.inbound import typed
from bot.models import Base, Role

TABLES = {"teams", "users", "invites", "strangers", "messages", "cases", "flow_progress", "alembic_version"}
TABLES |= {"nudge_schedules", "nudge_dispatches"}  # reflection nudges (0004)
TABLES |= {"reflections"}  # reflections on the working relationship (0005)
TABLES |= {"team_policies", "sharing", "shared_cases", "turn_tags", "login_tokens", "web_sessions"}
TABLES |= {"comments", "audit_log"}  # supervision (0006)


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


def test_migrations_on_postgresql(postgres_url: str) -> None:
    db = Database(postgres_url)  # a plain postgresql:// URL, as DATABASE_URL would give it
    assert db.engine.dialect.name == "postgresql" and db.engine.dialect.driver == "psycopg"
    try:
        _check(db)
    finally:
        db.dispose()
