"""Reflection nudges: a worker's schedule, and a record of every nudge that fell due.

`nudge_dispatches` has one row per (user, due moment): the unique key is what makes dispatch
idempotent — a nudge can be claimed by one dispatcher only, and is never recorded (or sent)
twice. Both tables cascade with the user, so /verwijder removes them.
"""

from __future__ import annotations

from datetime import date, datetime, time
from enum import StrEnum

from sqlalchemy import Boolean, Date, ForeignKey, Index, Integer, String, Time, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from bot.models.base import Base, UTCDateTime, utcnow


class DispatchStatus(StrEnum):
    DUE = "due"  # to be sent; claimable when claimed_by is empty
    CLAIMED = "claimed"  # a dispatcher took it; not handed to Telegram yet
    SENDING = "sending"  # handed to Telegram: never handed over again
    SENT = "sent"
    SKIPPED = "skipped"  # too late (the bot was down), superseded, or no chat to send to
    FAILED = "failed"  # Telegram refused it, or a crash left it uncertain whether it went out


class NudgeSchedule(Base):
    __tablename__ = "nudge_schedules"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), unique=True)
    rhythm: Mapped[str] = mapped_column(String(16), default="weekly")  # coach.nudge_schedule.Rhythm
    weekday: Mapped[int] = mapped_column(Integer, default=4)  # Monday = 0
    local_time: Mapped[time] = mapped_column(Time, default=time(15, 0))
    tz: Mapped[str] = mapped_column(String(64), default="Europe/Amsterdam")
    quiet_start: Mapped[time] = mapped_column(Time, default=time(20, 0))
    quiet_end: Mapped[time] = mapped_column(Time, default=time(8, 0))
    quiet_weekends: Mapped[bool] = mapped_column(Boolean, default=True)
    anchor: Mapped[date | None] = mapped_column(Date)  # every two weeks: counted from this date
    paused_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    stopped: Mapped[bool] = mapped_column(Boolean, default=False)
    # The next moment a nudge is due (a snooze sets it); None when stopped.
    next_due_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class NudgeDispatch(Base):
    __tablename__ = "nudge_dispatches"
    __table_args__ = (
        UniqueConstraint("user_id", "due_at", name="uq_nudge_dispatches_user_due"),
        Index("ix_nudge_dispatches_status", "status", "due_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    due_at: Mapped[datetime] = mapped_column(UTCDateTime)
    status: Mapped[str] = mapped_column(String(16), default=DispatchStatus.DUE.value)
    claimed_by: Mapped[str | None] = mapped_column(String(64))  # the dispatcher that took it
    claimed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    note: Mapped[str | None] = mapped_column(String(64))  # why skipped or failed
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
