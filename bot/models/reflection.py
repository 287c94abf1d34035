"""One reflection on the working relationship with a client: six scores (1-5) and a note."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from bot.models.base import Base, SecretJSON, TranscriptText, UTCDateTime, utcnow


class Reflection(Base):
    __tablename__ = "reflections"
    __table_args__ = (Index("ix_reflections_case_created", "case_id", "created_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"))
    owner: Mapped[str] = mapped_column(String(64), index=True)  # the worker's pseudonym
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    scores: Mapped[dict[str, Any]] = mapped_column(SecretJSON)  # element key -> 1..5
    note: Mapped[str | None] = mapped_column(TranscriptText)  # scrubbed before it gets here
