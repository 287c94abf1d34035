"""The application database (SQLAlchemy 2): pseudonyms and a record of every turn.

Only metadata is stored here (who, when, which way, what kind); message text is not,
until it can be scrubbed of personal details first.
"""

from __future__ import annotations

import hashlib
import hmac
from datetime import UTC, datetime

from sqlalchemy import DateTime, Integer, String, create_engine, func, select
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column


class Base(DeclarativeBase):
    pass


class Turn(Base):
    __tablename__ = "turns"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    sender: Mapped[str] = mapped_column(String(64), index=True)
    channel: Mapped[str] = mapped_column(String(16))
    direction: Mapped[str] = mapped_column(String(3))  # "in" or "out"
    kind: Mapped[str] = mapped_column(String(16))  # text, button, empty, too_long, assistant, ...
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=lambda: datetime.now(UTC))


class TurnStore:
    def __init__(self, database_url: str, pseudonym_secret: bytes) -> None:
        self._engine = create_engine(database_url)
        Base.metadata.create_all(self._engine)
        self._secret = pseudonym_secret

    def pseudonym(self, channel: str, user_key: str) -> str:
        """A stable sender id that doesn't reveal the user's Telegram (or local) id."""
        digest = hmac.new(self._secret, f"{channel}:{user_key}".encode(), hashlib.sha256)
        return digest.hexdigest()[:32]

    def record(self, sender: str, channel: str, direction: str, kind: str) -> None:
        with Session(self._engine) as session, session.begin():
            session.add(Turn(sender=sender, channel=channel, direction=direction, kind=kind))

    def count(self, sender: str | None = None) -> int:
        query = select(func.count(Turn.id))
        if sender is not None:
            query = query.where(Turn.sender == sender)
        with Session(self._engine) as session:
            return session.scalar(query) or 0
