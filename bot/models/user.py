"""A registered user: a worker or supervisor in a team, known by a pseudonym."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import BigInteger, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from bot.models.base import Base, UTCDateTime, utcnow
from bot.models.team import Team


class Role(StrEnum):
    WORKER = "worker"
    SUPERVISOR = "supervisor"


class User(Base):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    # HMAC of channel and channel user id: the sender id Rasa sees, never the Telegram id.
    pseudonym: Mapped[str] = mapped_column(String(64), unique=True)
    channel: Mapped[str] = mapped_column(String(16))
    # Where answers go (a Telegram private chat id); None for the local terminal chat.
    chat_id: Mapped[int | None] = mapped_column(BigInteger)
    role: Mapped[str] = mapped_column(String(16))
    team_id: Mapped[int] = mapped_column(ForeignKey("teams.id"), index=True)
    registered_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # When the worker was told (once) that personal details are removed from what they send.
    details_notice_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Which bot process is answering this user's messages, and until when (bot/leases.py).
    lease_owner: Mapped[str | None] = mapped_column(String(64))
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime)

    team: Mapped[Team] = relationship(lazy="joined", innerjoin=True)
