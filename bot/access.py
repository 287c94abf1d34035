"""Who may talk to the assistant: invite codes, registration, pseudonyms, strangers.

Plain functions over a database session; the Telegram adapter and the admin command are
thin layers on top.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import UTC, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.models import Invite, Role, Stranger, Team, User

CODE_BYTES = 9  # 12 URL-safe characters: fits Telegram's deep-link start parameter
LOCAL_CHANNEL = "local"
LOCAL_TEAM = "lokaal"


class Pseudonyms:
    """Stable sender ids that don't reveal a user's Telegram (or local) id."""

    def __init__(self, secret: bytes) -> None:
        self._secret = secret

    def of(self, channel: str, user_key: str) -> str:
        digest = hmac.new(self._secret, f"{channel}:{user_key}".encode(), hashlib.sha256)
        return digest.hexdigest()[:32]


def _now(now: datetime | None) -> datetime:
    return now or datetime.now(UTC)


def code_hash(code: str) -> str:
    return hashlib.sha256(code.strip().encode()).hexdigest()


def team_named(session: Session, name: str) -> Team:
    """The team with this name, created when it doesn't exist yet."""
    name = " ".join(name.split())
    if not name:
        raise ValueError("a team needs a name")
    team = session.scalar(select(Team).where(Team.name == name))
    if team is None:
        team = Team(name=name)
        session.add(team)
        session.flush()
    return team


def create_invite(
    session: Session, role: Role, team_name: str, valid_for: timedelta, now: datetime | None = None
) -> str:
    """A new single-use invite code; only its hash is stored."""
    if valid_for <= timedelta(0):
        raise ValueError("an invite must be valid for some time")
    code = secrets.token_urlsafe(CODE_BYTES)
    session.add(
        Invite(
            code_hash=code_hash(code),
            role=Role(role).value,
            team=team_named(session, team_name),
            created_at=_now(now),
            expires_at=_now(now) + valid_for,
        )
    )
    return code


def deep_link(bot_username: str, code: str) -> str:
    """Opening this link in Telegram sends "/start CODE" to the bot."""
    return f"https://t.me/{bot_username}?start={code}"


def find_user(session: Session, pseudonym: str) -> User | None:
    return session.scalar(select(User).where(User.pseudonym == pseudonym))


def redeem(
    session: Session,
    code: str,
    *,
    pseudonym: str,
    channel: str,
    chat_id: int | None,
    now: datetime | None = None,
) -> User | None:
    """Register the user with the invite's role and team; None if the code is unknown, used or expired."""
    now = _now(now)
    invite = session.scalar(select(Invite).where(Invite.code_hash == code_hash(code)).with_for_update())
    if invite is None or invite.used_at is not None or invite.expires_at <= now:
        return None
    user = User(
        pseudonym=pseudonym,
        channel=channel,
        chat_id=chat_id,
        role=invite.role,
        team_id=invite.team_id,
        registered_at=now,
    )
    session.add(user)
    session.flush()
    invite.used_at, invite.used_by_id = now, user.id
    stranger = session.get(Stranger, pseudonym)
    if stranger is not None:  # no longer a stranger: drop the counter
        session.delete(stranger)
    session.refresh(user)
    return user


def count_stranger(session: Session, pseudonym: str, now: datetime | None = None) -> int:
    """Count one message from an unregistered user; returns how many there were so far."""
    now = _now(now)
    stranger = session.get(Stranger, pseudonym)
    if stranger is None:
        stranger = Stranger(pseudonym=pseudonym, messages=0, first_seen=now)
        session.add(stranger)
    stranger.messages += 1
    stranger.last_seen = now
    session.flush()
    return stranger.messages


def local_user(session: Session, pseudonym: str) -> User:
    """The developer at the terminal (`make chat`): a registered worker of team "lokaal"."""
    user = find_user(session, pseudonym)
    if user is None:
        user = User(
            pseudonym=pseudonym,
            channel=LOCAL_CHANNEL,
            chat_id=None,
            role=Role.WORKER.value,
            team=team_named(session, LOCAL_TEAM),
        )
        session.add(user)
        session.flush()
    return user
