"""Alembic environment. `Database.migrate()` passes its connection in; the `alembic` CLI
(see alembic.ini) uses DATABASE_URL or the default SQLite file instead."""

from __future__ import annotations

from typing import Any

from alembic import context
from sqlalchemy import create_engine

from bot.models import Base

config = context.config
target_metadata = Base.metadata


def include_object(obj: Any, name: str | None, type_: str, reflected: bool, compare_to: Any) -> bool:
    # Other modules keep their own tables in the same database: leave those alone.
    return not (type_ == "table" and reflected and compare_to is None)


def run(connection: Any) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        include_object=include_object,
        render_as_batch=True,  # SQLite can only alter tables by copying them
    )
    with context.begin_transaction():
        context.run_migrations()


if context.is_offline_mode():
    raise SystemExit("offline (--sql) migrations are not supported")

connection = config.attributes.get("connection")
if connection is not None:
    run(connection)
else:
    from bot.db import normalise_url
    from bot.settings import Settings

    url = config.get_main_option("sqlalchemy.url") or Settings.from_env().database_url
    engine = create_engine(normalise_url(url))
    with engine.begin() as connection:
        run(connection)
