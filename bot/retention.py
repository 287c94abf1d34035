"""How long data is kept, and forgetting a worker.

`purge` (the daily job, and `python -m bot admin purge`) deletes what workers wrote that is
older than the retention period (RETENTION_DAYS, default 180): from the application
database every row of a table with an encrypted column (messages, cases, flow progress and
whatever else holds worker text), aged by its `updated_at` if it has one, else its
`created_at`; and the Rasa tracker store's events by their timestamp. Registrations stay.

`erase_user_rows` is what /verwijder deletes besides the user row itself: every row that
refers to the user — through a foreign key to `users.id` (rows referring to those too), or
through an `owner` column holding the user's pseudonym. New tables that follow either
convention (nudges, reflections) are erased without further code.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from sqlalchemy import ColumnElement, Table, delete, select
from sqlalchemy.orm import Session

from bot import crypto
from bot.db import Database
from bot.models import Base, User
from bot.models.base import Encrypted
from bot.rasa_tracker import RasaTrackerStore
from bot.settings import Settings

log = logging.getLogger(__name__)

DAILY = timedelta(days=1)
AGE_COLUMNS = ("updated_at", "created_at")  # the first a table has tells its age
OWNER_COLUMN = "owner"  # a worker's pseudonym (cases, flow progress)


@dataclass(frozen=True)
class Purged:
    rows: dict[str, int] = field(default_factory=dict)  # table -> rows deleted
    tracker_events: int = 0

    def __str__(self) -> str:
        tables = ", ".join(f"{count} from {table}" for table, count in sorted(self.rows.items()) if count)
        return f"deleted {tables or 'nothing'}; {self.tracker_events} Rasa tracker event(s)"


def aged_tables() -> list[tuple[Table, str]]:
    """Tables holding worker text (an encrypted column), each with the column telling its age."""
    found = []
    for table in Base.metadata.sorted_tables:
        if not any(isinstance(column.type, Encrypted) for column in table.columns):
            continue
        age = next((name for name in AGE_COLUMNS if name in table.columns), None)
        if age is None:  # tests/test_retention.py keeps this from happening
            log.error("table %s holds worker text but has no %s: not purged", table.name, AGE_COLUMNS)
            continue
        found.append((table, age))
    return found


def purge(db: Database, tracker: RasaTrackerStore | None, days: int, now: datetime | None = None) -> Purged:
    """Delete worker text and Rasa events older than `days` days."""
    cutoff = (now or datetime.now(UTC)) - timedelta(days=days)
    rows = {}
    with db.session() as session:
        for table, age in reversed(aged_tables()):  # rows referring to others go first
            rows[table.name] = session.execute(delete(table).where(table.c[age] < cutoff)).rowcount
    events = tracker.forget_before(cutoff.timestamp()) if tracker is not None else 0
    return Purged(rows, events)


def purge_with(settings: Settings) -> Purged:
    """One purge with the process's settings (the launcher, `admin purge`)."""
    crypto.configure_from(settings)
    db = Database(settings.database_url)
    tracker = RasaTrackerStore(settings.rasa_tracker_db_url) if settings.rasa_tracker_db_url else None
    try:
        db.migrate()
        return purge(db, tracker, settings.retention_days)
    finally:
        db.dispose()
        if tracker is not None:
            tracker.dispose()


def erase_user_rows(session: Session, user: User) -> dict[str, int]:
    """Delete every row that refers to the user, except the user row; table -> rows deleted."""
    deleted: dict[str, int] = {}
    users = User.__table__
    assert isinstance(users, Table)
    _delete_referring(session, users, users.c.id == user.id, deleted, depth=0)
    for table in reversed(Base.metadata.sorted_tables):
        if OWNER_COLUMN in table.columns and table is not users:
            condition = table.c[OWNER_COLUMN] == user.pseudonym
            _delete_referring(session, table, condition, deleted, depth=0)
            _count(deleted, table, session.execute(delete(table).where(condition)).rowcount)
    return deleted


def _delete_referring(
    session: Session, table: Table, condition: ColumnElement[bool], deleted: dict[str, int], depth: int
) -> None:
    """Delete the rows referring (by foreign key) to the rows of `table` matching `condition`.

    Foreign keys with ON DELETE SET NULL keep their rows (an invite the user redeemed stays).
    """
    if depth > 10:
        raise RuntimeError(f"foreign keys to {table.name} nest too deep")
    for child in reversed(Base.metadata.sorted_tables):
        for key in child.foreign_keys:
            if key.column.table is not table or key.parent.table is table:
                continue
            if (key.ondelete or "").upper() == "SET NULL":
                continue
            referring = key.parent.in_(select(key.column).where(condition))
            _delete_referring(session, child, referring, deleted, depth + 1)
            _count(deleted, child, session.execute(delete(child).where(referring)).rowcount)


def _count(deleted: dict[str, int], table: Table, rows: int) -> None:
    if rows:
        deleted[table.name] = deleted.get(table.name, 0) + rows
