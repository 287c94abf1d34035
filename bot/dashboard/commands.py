"""The bot's side of supervision: /delen, /dashboard, /team, feedback buttons and replies,
and the sign-in links (made only when they are sent, so no usable token is ever stored)."""

from __future__ import annotations

from collections import Counter

from sqlalchemy.orm import Session

from bot import sharing, texts
from bot.dashboard import audit, auth, feedback, queries
from bot.dashboard.scope import LINK_KIND, Scope, Viewer
from bot.models import Message, Role, User
from bot.replies import MENU_BUTTON, Button, Reply
from bot.sharing import tag_turn

__all__ = ["LINK_KIND", "answer", "awaiting_reply", "flow_of", "handles", "link_reply", "tag_turn"]

DASHBOARD = "dashboard"
TEAM = "team"
PRIVACY = "privacy"
ACTIONS = {sharing.SHARE, DASHBOARD, TEAM, feedback.FEEDBACK, feedback.REPLY}  # tappable or typed
FLOWS = {feedback.FEEDBACK: "feedback", feedback.REPLY: "feedback"}


def handles(action: str | None) -> bool:
    return action is not None and action.split(":", 1)[0] in ACTIONS | {PRIVACY}


def flow_of(action: str) -> str:
    head = action.split(":", 1)[0]
    return "privacy" if head == PRIVACY else FLOWS.get(head, "supervision")


def awaiting_reply(session: Session, user_id: int) -> bool:
    """True when the worker's next typed message is their reply to feedback ("Reageer")."""
    return feedback.awaiting_reply(session, user_id) is not None


def answer(
    session: Session, user_id: int, action: str, text: str | None, default: list[Reply]
) -> list[Reply]:
    """The bot's answer to one of these actions; `default` is the ordinary local answer
    (for /privacy: the privacy statement, which gets the sharing setting and the views added)."""
    user = session.get(User, user_id)
    if user is None:
        return default
    head = action.split(":", 1)[0]
    if head == PRIVACY:
        return privacy(session, user, default)
    if head == sharing.SHARE:
        return sharing.answer(session, user, action)
    if head == feedback.FEEDBACK:
        return feedback.tapped(session, user, action)
    if head == feedback.REPLY:
        return feedback.store_reply(session, user, text)
    if user.role != Role.SUPERVISOR.value:
        return [Reply(texts.ONLY_FOR_SUPERVISORS, (MENU_BUTTON,))]
    if head == DASHBOARD:
        feedback.queue_link(session, user, "/")
        return []
    if head == TEAM:
        return [team_overview(session, user)]
    return default


def privacy(session: Session, user: User, statement: list[Reply]) -> list[Reply]:
    """The privacy statement, then what the worker shares and who viewed their transcripts."""
    if user.role != Role.WORKER.value or not statement:
        return statement
    parts = [sharing.describe(session, user), texts.viewed_lines(audit.views_of(session, user))]
    first = statement[0]
    return [Reply("\n\n".join([first.text, *parts]), first.buttons, first.image), *statement[1:]]


def team_overview(session: Session, supervisor: User) -> Reply:
    scope = Scope(session, Viewer.of(supervisor))
    rows = queries.team_overview(scope)
    names = queries.strategy_names()
    sharing_workers = [r for r in rows if r.sharing != "none"]
    strategies: Counter[str] = sum((r.strategies for r in rows), Counter())
    last = max((r.last_activity for r in rows if r.last_activity), default=None)
    lines = [
        f"Team {supervisor.team.name}, de laatste 30 dagen:",
        f"– {len(rows)} professionals, {len(sharing_workers)} delen gesprekken met je",
        f"– {sum(r.conversations for r in rows)} gedeelde gesprekken",
    ]
    if strategies:
        chosen = ", ".join(f"{names.get(k, k)} ({n})" for k, n in strategies.most_common(3))
        lines.append(f"– gekozen strategieën: {chosen}")
    lines.append(
        f"– laatste activiteit: {last.astimezone(queries.TIMEZONE):%d-%m-%Y %H:%M}"
        if last
        else "– nog geen gedeelde activiteit"
    )
    lines.append("\nTranscripten en feedback vind je in het dashboard.")
    audit.record(session, supervisor, "team_telegram", f"team {supervisor.team.name}")
    return Reply("\n".join(lines), (Button("Open het dashboard", "bot:dashboard"), MENU_BUTTON))


def link_reply(session: Session, message: Message, base_url: str) -> Reply:
    """The text of a queued sign-in link: a fresh one-time token for the page it opens."""
    user = session.get(User, message.user_id)
    assert user is not None
    token = auth.create_link_token(session, user, message.payload or "/")
    buttons = tuple(Button(title, payload) for title, payload in message.buttons or [])
    return Reply(texts.dashboard_link(f"{base_url}/inloggen/{token}"), buttons)
