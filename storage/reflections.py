"""Reflections of one worker on the working relationship with their cases (bot.models.Reflection)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select

from bot.db import Database
from bot.models import Case as CaseRow
from bot.models import Reflection as ReflectionRow
from storage.cases import database


@dataclass(frozen=True)
class Reflection:
    id: int
    case_id: int
    created_at: datetime
    scores: dict[str, int]
    note: str | None


def _reflection(row: ReflectionRow) -> Reflection:
    return Reflection(row.id, row.case_id, row.created_at, dict(row.scores or {}), row.note)


class ReflectionRepository:
    """Reflections of one owner only: every query is scoped to the owner's cases."""

    def __init__(self, owner: str, url: str | None = None, db: Database | None = None) -> None:
        self._owner = owner
        self._db = db or database(url)

    def _case(self, session: Any, case_id: int) -> CaseRow | None:
        row = session.get(CaseRow, case_id)
        return row if row is not None and row.owner == self._owner else None

    def add(
        self, case_id: int, scores: dict[str, int], note: str | None, at: datetime | None = None
    ) -> Reflection | None:
        """Store one reflection (None if the case isn't the owner's). `note` is already scrubbed."""
        with self._db.session() as session:
            if self._case(session, case_id) is None:
                return None
            row = ReflectionRow(case_id=case_id, owner=self._owner, scores=dict(scores), note=note)
            if at is not None:
                row.created_at = at
            session.add(row)
            session.flush()
            return _reflection(row)

    def history(self, case_id: int) -> list[Reflection]:
        """The case's reflections, oldest first (empty if the case isn't the owner's)."""
        query = (
            select(ReflectionRow)
            .where(ReflectionRow.case_id == case_id, ReflectionRow.owner == self._owner)
            .order_by(ReflectionRow.created_at, ReflectionRow.id)
        )
        with self._db.session() as session:
            return [_reflection(row) for row in session.scalars(query)]

    def scores(self, case_id: int) -> list[dict[str, int]]:
        """Only the scores of the case's reflections, oldest first."""
        return [r.scores for r in self.history(case_id)]

    def label(self, case_id: int) -> str | None:
        with self._db.session() as session:
            row = self._case(session, case_id)
            return row.label if row else None

    def cases(self) -> list[tuple[int, str, int]]:
        """(case id, label, number of reflections) of the owner's cases with any, latest first."""
        latest = func.max(ReflectionRow.created_at)
        query = (
            select(CaseRow.id, CaseRow.label, func.count(ReflectionRow.id), latest)
            .join(ReflectionRow, ReflectionRow.case_id == CaseRow.id)
            .where(CaseRow.owner == self._owner)
            .group_by(CaseRow.id, CaseRow.label)
            .order_by(latest.desc())
        )
        with self._db.session() as session:
            return [(row[0], row[1], row[2]) for row in session.execute(query)]
