"""Supervision: what a worker shares, sign-in to the dashboard, feedback, and the audit log.

- `TeamPolicy`: a team's default sharing (set by the admin), used until a worker chooses.
- `Sharing` / `SharedCase`: a worker's own choice with /delen: all, per case, or nothing.
- `TurnTag`: the case and the chosen strategy of one incoming message (from Rasa's tracker),
  so per-case sharing and the strategy filter work on the transcript.
- `LoginToken`: a one-time sign-in link (only its hash is stored); `WebSession`: the cookie.
- `Comment`: a supervisor's feedback on a transcript or one turn, and the worker's one reply.
- `AuditEntry`: every view and export of a transcript (who, what, when).
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from bot.models.base import Base, TranscriptText, UTCDateTime, utcnow


class ShareMode(StrEnum):
    ALL = "all"  # every conversation
    CASES = "cases"  # only the turns about the cases the worker picked
    NONE = "none"  # nothing


class TeamPolicy(Base):
    __tablename__ = "team_policies"

    team_id: Mapped[int] = mapped_column(ForeignKey("teams.id", ondelete="CASCADE"), primary_key=True)
    default_sharing: Mapped[str] = mapped_column(String(8))


class Sharing(Base):
    __tablename__ = "sharing"

    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    mode: Mapped[str] = mapped_column(String(8))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class SharedCase(Base):
    __tablename__ = "shared_cases"

    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), primary_key=True)


class TurnTag(Base):
    __tablename__ = "turn_tags"

    message_id: Mapped[int] = mapped_column(ForeignKey("messages.id", ondelete="CASCADE"), primary_key=True)
    case_id: Mapped[int | None] = mapped_column(ForeignKey("cases.id", ondelete="SET NULL"), index=True)
    strategy: Mapped[str | None] = mapped_column(String(32))  # a strategy recommended in this turn
    step: Mapped[str | None] = mapped_column(String(16))  # "3/8": where the guided flow is


class LoginToken(Base):
    __tablename__ = "login_tokens"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    target: Mapped[str] = mapped_column(String(200))  # the page the link opens
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class WebSession(Base):
    __tablename__ = "web_sessions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    csrf_token: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)


class Comment(Base):
    __tablename__ = "comments"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    author_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    worker_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    # The turn it is about, or (about the whole transcript) the transcript's first message.
    message_id: Mapped[int] = mapped_column(ForeignKey("messages.id", ondelete="CASCADE"), index=True)
    about_turn: Mapped[bool] = mapped_column(default=False)
    text: Mapped[str] = mapped_column(TranscriptText)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    reply_asked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # the worker tapped "Reageer"
    reply: Mapped[str | None] = mapped_column(TranscriptText)
    replied_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class AuditEntry(Base):
    __tablename__ = "audit_log"
    __table_args__ = (Index("ix_audit_log_worker_at", "worker_id", "at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    actor_role: Mapped[str] = mapped_column(String(16))
    action: Mapped[str] = mapped_column(String(32))  # view_team, view_transcript, export_csv, ...
    worker_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    what: Mapped[str] = mapped_column(String(300))  # e.g. "gesprek 12", "gesprekken (zoek: deur)"
