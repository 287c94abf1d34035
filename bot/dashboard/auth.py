"""Sign-in without passwords: one-time links, session cookies and CSRF tokens.

A link works once and for 10 minutes; only the SHA-256 of its token is stored. Opening it
shows a page with one button (so a link preview can't use it up); pressing that button
redeems the token and starts a session: a random cookie (HttpOnly, SameSite=Strict,
expiring), stored as a hash, with its own CSRF token that every form carries.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import UTC, datetime, timedelta

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from bot.models import User
from bot.models.dashboard import LoginToken, WebSession

LINK_VALID = timedelta(minutes=10)
TOKEN_BYTES = 32


def digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def now() -> datetime:
    return datetime.now(UTC)


def safe_target(target: str) -> str:
    """Only paths on this site: never an open redirect."""
    if not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/"
    return target[:200]


def create_link_token(session: Session, user: User, target: str = "/", at: datetime | None = None) -> str:
    """A new one-time sign-in token for `user` that opens `target`; only its hash is stored."""
    token = secrets.token_urlsafe(TOKEN_BYTES)
    created = at or now()
    session.add(
        LoginToken(
            token_hash=digest(token),
            user_id=user.id,
            target=safe_target(target),
            created_at=created,
            expires_at=created + LINK_VALID,
        )
    )
    session.flush()
    return token


def link_token(session: Session, token: str) -> LoginToken | None:
    """The token if it can still be used (unknown, used and expired ones: None)."""
    found = session.scalar(select(LoginToken).where(LoginToken.token_hash == digest(token)))
    if found is None or found.used_at is not None or found.expires_at <= now():
        return None
    return found


def redeem(session: Session, token: str, hours: float) -> tuple[str, WebSession] | None:
    """Use the token up and start a session; returns the cookie value and the session."""
    found = session.scalar(select(LoginToken).where(LoginToken.token_hash == digest(token)).with_for_update())
    if found is None or found.used_at is not None or found.expires_at <= now():
        return None
    found.used_at = now()
    cookie = secrets.token_urlsafe(TOKEN_BYTES)
    web = WebSession(
        token_hash=digest(cookie),
        user_id=found.user_id,
        csrf_token=secrets.token_urlsafe(TOKEN_BYTES),
        created_at=now(),
        expires_at=now() + timedelta(hours=hours),
    )
    session.add(web)
    session.execute(delete(WebSession).where(WebSession.expires_at <= now()))  # tidy up old ones
    session.flush()
    return cookie, web


def current(session: Session, cookie: str | None) -> tuple[User, WebSession] | None:
    """The signed-in user of a session cookie, if the session exists and hasn't expired."""
    if not cookie:
        return None
    web = session.scalar(select(WebSession).where(WebSession.token_hash == digest(cookie)))
    if web is None or web.expires_at <= now():
        return None
    user = session.get(User, web.user_id)
    return (user, web) if user is not None else None


def end(session: Session, cookie: str | None) -> None:
    if cookie:
        session.execute(delete(WebSession).where(WebSession.token_hash == digest(cookie)))


def csrf_ok(expected: str | None, given: str | None) -> bool:
    return bool(expected) and bool(given) and hmac.compare_digest(str(expected), str(given))
