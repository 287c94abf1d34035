"""Cases: a worker's clients, known only by a label ("cliënt A"), with flow progress."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import JSON, DateTime, Integer, String, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from storage.database import Base, engine


class CaseRow(Base):
    __tablename__ = "cases"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    owner: Mapped[str] = mapped_column(String(64), index=True)  # pseudonymous sender id
    label: Mapped[str] = mapped_column(String(60))
    status: Mapped[str] = mapped_column(String(10), default="open")  # open | closed
    flows: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)  # flow id -> state
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=lambda: datetime.now(UTC))
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), default=lambda: datetime.now(UTC), onupdate=lambda: datetime.now(UTC)
    )


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


class CaseRepository:
    """Cases of one owner only: every query is scoped to the owner."""

    def __init__(self, owner: str, url: str | None = None) -> None:
        self._owner = owner
        self._engine = engine(url)
        Base.metadata.create_all(self._engine, tables=[CaseRow.__table__])

    def _row(self, session: Session, case_id: int) -> CaseRow | None:
        row = session.get(CaseRow, case_id)
        return row if row is not None and row.owner == self._owner else None

    def list(self, include_closed: bool = False) -> list[Case]:
        query = select(CaseRow).where(CaseRow.owner == self._owner).order_by(CaseRow.updated_at.desc())
        if not include_closed:
            query = query.where(CaseRow.status == "open")
        with Session(self._engine) as session:
            return [_case(row) for row in session.scalars(query)]

    def get(self, case_id: int) -> Case | None:
        with Session(self._engine) as session:
            row = self._row(session, case_id)
            return _case(row) if row else None

    def find(self, label: str) -> Case | None:
        """An open case with this label (case-insensitive)."""
        wanted = label.strip().lower()
        return next((case for case in self.list() if case.label.lower() == wanted), None)

    def create(self, label: str) -> Case:
        with Session(self._engine) as session, session.begin():
            row = CaseRow(owner=self._owner, label=label, status="open", flows={})
            session.add(row)
            session.flush()
            return _case(row)

    def save_flow(self, case_id: int, flow_id: str, state: dict[str, Any]) -> None:
        with Session(self._engine) as session, session.begin():
            row = self._row(session, case_id)
            if row is not None:
                row.flows = {**(row.flows or {}), flow_id: state}

    def rename(self, case_id: int, label: str) -> Case | None:
        return self._update(case_id, label=label)

    def set_status(self, case_id: int, status: str) -> Case | None:
        return self._update(case_id, status=status)

    def _update(self, case_id: int, **values: str) -> Case | None:
        with Session(self._engine) as session, session.begin():
            row = self._row(session, case_id)
            if row is None:
                return None
            for key, value in values.items():
                setattr(row, key, value)
            session.flush()
            return _case(row)
