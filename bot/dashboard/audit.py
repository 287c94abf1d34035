"""The audit log: every view and export of a worker's transcripts (who, what, when)."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.models import Team, User
from bot.models.dashboard import AuditEntry

TIMEZONE = ZoneInfo("Europe/Amsterdam")

ACTIONS = {
    "view_team": "teamoverzicht bekeken",
    "view_worker": "gesprekkenlijst bekeken",
    "view_transcript": "gesprek bekeken",
    "print": "afdrukversie bekeken",
    "export_csv": "geëxporteerd (CSV)",
    "export_json": "geëxporteerd (JSON)",
    "comment": "feedback gegeven",
    "view_chart": "werkrelatie bekeken",
    "team_telegram": "teamoverzicht in Telegram",
}


def record(session: Session, actor: User, action: str, what: str, worker_id: int | None = None) -> None:
    session.add(
        AuditEntry(
            at=datetime.now(UTC),
            actor_id=actor.id,
            actor_role=actor.role,
            action=action,
            worker_id=worker_id,
            what=what[:300],
        )
    )


def who(user_id: int | None, role: str) -> str:
    name = "begeleider" if role == "supervisor" else "professional"
    return f"{name} nr. {user_id}" if user_id is not None else f"{name} (gewist)"


def views_of(session: Session, worker: User, limit: int = 10) -> list[tuple[str, str, str]]:
    """For /privacy: who (other than the worker) looked at their transcripts, and when."""
    entries = session.scalars(
        select(AuditEntry)
        .where(AuditEntry.worker_id == worker.id, AuditEntry.actor_id != worker.id)
        .order_by(AuditEntry.at.desc(), AuditEntry.id.desc())
        .limit(limit)
    )
    return [
        (
            who(e.actor_id, e.actor_role),
            f"{ACTIONS.get(e.action, e.action)}: {e.what}",
            f"{e.at.astimezone(TIMEZONE):%d-%m-%Y %H:%M}",
        )
        for e in entries
    ]


def full_log(session: Session, team: str | None = None, limit: int | None = None) -> list[str]:
    """The admin's view: every entry, oldest first, one line each."""
    query = select(AuditEntry).order_by(AuditEntry.at, AuditEntry.id)
    if team:
        actors = select(User.id).join(Team, Team.id == User.team_id).where(Team.name == team)
        query = query.where(AuditEntry.actor_id.in_(actors))
    entries = list(session.scalars(query))
    if limit is not None:
        entries = entries[-limit:]
    return [
        f"{e.at:%Y-%m-%d %H:%M:%S} UTC  {who(e.actor_id, e.actor_role):<22} {e.action:<16} "
        f"worker={e.worker_id if e.worker_id is not None else '-'}  {e.what}"
        for e in entries
    ]
