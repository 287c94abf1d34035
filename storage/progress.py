"""A worker's place in the guided flows that are not about a case (bot.models.FlowProgress)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from bot.models import FlowProgress
from storage.cases import database


class ProgressRepository:
    """Progress of one owner only."""

    def __init__(self, owner: str, url: str | None = None) -> None:
        self._owner = owner
        self._db = database(url)

    def get(self, flow_id: str) -> dict[str, Any] | None:
        with self._db.session() as session:
            row = self._row(session, flow_id)
            return dict(row.state) if row else None

    def save(self, flow_id: str, state: dict[str, Any]) -> None:
        with self._db.session() as session:
            row = self._row(session, flow_id)
            if row is None:
                session.add(FlowProgress(owner=self._owner, flow_id=flow_id, state=state))
            else:
                row.state = state

    def _row(self, session: Any, flow_id: str) -> FlowProgress | None:
        query = select(FlowProgress).where(FlowProgress.owner == self._owner, FlowProgress.flow_id == flow_id)
        return session.scalars(query).first()
