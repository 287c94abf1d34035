"""One message of a transcript, in or out. Also the bot's inbox and outbox.

An incoming message is stored (status `received`) before its Telegram update is
acknowledged, and answered from here; an outgoing one is stored (`queued`) before it is
sent. So a crash, a Rasa outage or a Telegram hiccup delays a message but never loses it.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, BigInteger, Boolean, Float, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from bot.models.base import Base, TranscriptText, UTCDateTime, utcnow


class Direction(StrEnum):
    IN = "in"
    OUT = "out"


class Status(StrEnum):
    RECEIVED = "received"  # in: stored, not answered yet
    PENDING = "pending"  # in: Rasa was unavailable; answered when it is back
    ANSWERED = "answered"  # in: done
    FAILED = "failed"  # in: given up on (the worker was told); out: could not be delivered
    QUEUED = "queued"  # out: to be sent
    SENT = "sent"  # out: delivered to the channel


class Message(Base):
    __tablename__ = "messages"
    __table_args__ = (
        Index("ix_messages_user_status", "user_id", "direction", "status"),
        Index("uq_messages_user_update", "user_id", "update_id", unique=True),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    direction: Mapped[str] = mapped_column(String(3))
    # in: text, button, command, not_text, edited; out: reply, export
    kind: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16))
    # in: what the worker typed (scrubbed) or the title of the tapped button; out: the answer.
    text: Mapped[str | None] = mapped_column(TranscriptText)
    # in: a Rasa payload ("/intent{...}") or a local action name; None for typed text.
    payload: Mapped[str | None] = mapped_column(String(128))
    buttons: Mapped[list[Any] | None] = mapped_column(JSON)  # out: [[title, payload], ...]
    image: Mapped[str | None] = mapped_column(String(512))  # out: image URL
    intent: Mapped[str | None] = mapped_column(String(100))
    confidence: Mapped[float | None] = mapped_column(Float)
    flow: Mapped[str | None] = mapped_column(String(64))
    reply_to_id: Mapped[int | None] = mapped_column(ForeignKey("messages.id", ondelete="SET NULL"))
    # The Telegram update it came from: a redelivered update is recognised and not stored twice.
    update_id: Mapped[int | None] = mapped_column(BigInteger)
    notified: Mapped[bool] = mapped_column(Boolean, default=False)  # told it waits for Rasa
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    done_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # answered / sent / failed
