"""Cases of one worker: list, create, save flow progress, rename, close (bot.models.Case)."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from typing import Any

from sqlalchemy import select

from bot import crypto
from bot.db import Database
from bot.models import Case as CaseRow
from bot.settings import Settings


@dataclass(frozen=True)
class Case:
    id: int
    label: str
    status: str
    flows: dict[str, Any]

    @property
    def is_open(self) -> bool:
        return self.status == "open"


def _case(row: CaseRow) -> Case:
    return Case(row.id, row.label, row.status, dict(row.flows or {}))


@cache
def database(url: str | None = None) -> Database:
    """One database per process, migrated once (the action server may start before the bot).

    Without a URL (the action server), the process's settings also give it its data keys."""
    if url is None:
        settings = Settings.from_env()
        crypto.configure_from(settings)
        url = settings.database_url
    db = Database(url)
    db.migrate()
    return db


class CaseRepository:
    """Cases of one owner only: every query is scoped to the owner."""

    def __init__(self, owner: str, url: str | None = None) -> None:
        self._owner = owner
        self._db = database(url)

    def _row(self, session: Any, case_id: int) -> CaseRow | None:
        row = session.get(CaseRow, case_id)
        return row if row is not None and row.owner == self._owner else None

    def list(self, include_closed: bool = False) -> list[Case]:
        query = select(CaseRow).where(CaseRow.owner == self._owner).order_by(CaseRow.updated_at.desc())
        if not include_closed:
            query = query.where(CaseRow.status == "open")
        with self._db.session() as session:
            return [_case(row) for row in session.scalars(query)]

    def get(self, case_id: int) -> Case | None:
        with self._db.session() as session:
            row = self._row(session, case_id)
            return _case(row) if row else None

    def find(self, label: str) -> Case | None:
        """An open case with this label (case-insensitive)."""
        wanted = label.strip().lower()
        return next((case for case in self.list() if case.label.lower() == wanted), None)

    def create(self, label: str) -> Case:
        with self._db.session() as session:
            row = CaseRow(owner=self._owner, label=label, status="open", flows={})
            session.add(row)
            session.flush()
            return _case(row)

    def save_flow(self, case_id: int, flow_id: str, state: dict[str, Any]) -> None:
        with self._db.session() as session:
            row = self._row(session, case_id)
            if row is not None:
                row.flows = {**(row.flows or {}), flow_id: state}

    def rename(self, case_id: int, label: str) -> Case | None:
        return self._update(case_id, label=label)

    def set_status(self, case_id: int, status: str) -> Case | None:
        return self._update(case_id, status=status)

    def _update(self, case_id: int, **values: str) -> Case | None:
        with self._db.session() as session:
            row = self._row(session, case_id)
            if row is None:
                return None
            for key, value in values.items():
                setattr(row, key, value)
            session.flush()
            return _case(row)
