"""A worker's place in a guided flow that is not about one case (reading the guidelines)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from bot.models.base import Base, SecretJSON, UTCDateTime, utcnow


class FlowProgress(Base):
    __tablename__ = "flow_progress"
    __table_args__ = (UniqueConstraint("owner", "flow_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    owner: Mapped[str] = mapped_column(String(64), index=True)  # the worker's pseudonym
    flow_id: Mapped[str] = mapped_column(String(64))
    state: Mapped[dict[str, Any]] = mapped_column(SecretJSON)  # {step, answers, done}
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
