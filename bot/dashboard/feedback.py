"""Feedback: a supervisor's comment on a transcript or one turn, sent to the worker through
the bot's outbox (like every outgoing message), and the worker's one reply."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot import texts, transcript
from bot.dashboard import queries
from bot.dashboard.scope import LINK_KIND, Scope
from bot.models import Direction, Message, Status, User
from bot.models.dashboard import Comment
from bot.replies import Button, Reply, crisis_reply
from coach import crisis

MAX_COMMENT = 2000
REPLY_WINDOW = timedelta(minutes=30)  # after tapping "Reageer", the next message within this is the reply
FEEDBACK = "feedback"  # local action and flow of feedback buttons: "feedback:open:12", "feedback:reply:12"
REPLY = "feedback_reply"  # local action of the typed reply
BUTTON_PREFIX = "bot:"


class CommentRefused(Exception):
    """The comment can't be placed; the message is Dutch, for the page."""


def target_of(comment: Comment) -> str:
    """The dashboard page and place the comment is about."""
    return f"/gesprek/{comment.message_id}#bericht-{comment.message_id}"


def add_comment(scope: Scope, author: User, message_id: int, text: str, about_turn: bool) -> Comment:
    """Store the comment and queue it to the worker, with buttons to see the moment and to reply."""
    from coach.scrubber import scrub  # loads the language data on first use

    if not scope.viewer.supervisor:
        raise CommentRefused("Alleen begeleiders kunnen feedback geven.")
    cleaned = " ".join((text or "").split()) if "\n" not in (text or "") else (text or "").strip()
    if not cleaned:
        raise CommentRefused("Je feedback is leeg. Schrijf eerst wat je wilt zeggen.")
    if len(cleaned) > MAX_COMMENT:
        raise CommentRefused(f"Je feedback is te lang: hooguit {MAX_COMMENT} tekens.")
    conversation = queries.transcript(scope, message_id)
    message = scope.message(message_id)
    if conversation is None or message is None:
        raise CommentRefused("Dit gesprek bestaat niet of is niet met je gedeeld.")
    session = scope.session
    comment = Comment(
        author_id=author.id,
        worker_id=conversation.worker.id,
        message_id=message_id if about_turn else conversation.id,
        about_turn=about_turn,
        text=scrub(cleaned).text,
    )
    session.add(comment)
    session.flush()
    when = f"{message.created_at.astimezone(queries.TIMEZONE):%d-%m-%Y %H:%M}"
    quoted = texts.quote(message.text) if about_turn and message.text else None
    buttons = (
        Button(texts.FEEDBACK_OPEN, f"{BUTTON_PREFIX}{FEEDBACK}:open:{comment.id}"),
        reply_button(comment),
    )
    transcript.queue(
        session,
        conversation.worker.id,
        [Reply(texts.feedback_notice(when, quoted, comment.text), buttons)],
        flow=FEEDBACK,
    )
    return comment


def reply_button(comment: Comment) -> Button:
    return Button(texts.FEEDBACK_REPLY, f"{BUTTON_PREFIX}{FEEDBACK}:reply:{comment.id}")


def queue_link(session: Session, user: User, target: str, buttons: tuple[Button, ...] = ()) -> None:
    """An outgoing sign-in link to `target`; the token is made only when it is sent."""
    session.add(
        Message(
            user_id=user.id,
            direction=Direction.OUT.value,
            kind=LINK_KIND,
            status=Status.QUEUED.value,
            text="[inloglink voor het dashboard]",
            payload=target[:128],
            buttons=[[b.title, b.payload] for b in buttons] or None,
            flow="supervision",
        )
    )
    session.flush()


def own_comment(session: Session, user: User, comment_id: str) -> Comment | None:
    if not comment_id.isdigit():
        return None
    comment = session.get(Comment, int(comment_id))
    return comment if comment is not None and comment.worker_id == user.id else None


def tapped(session: Session, user: User, action: str) -> list[Reply]:
    """A feedback button: "feedback:open:ID" (a link to the moment) or "feedback:reply:ID"."""
    _, what, comment_id = [*action.split(":"), "", ""][:3]
    comment = own_comment(session, user, comment_id)
    if comment is None:
        return [Reply(texts.STALE_BUTTON)]
    if what == "open":  # the tapped keyboard disappears: offer "Reageer" again under the link
        again = () if comment.replied_at else (reply_button(comment),)
        queue_link(session, user, target_of(comment), again)
        return []
    if comment.replied_at is not None:
        return [Reply(texts.FEEDBACK_ALREADY_REPLIED)]
    comment.reply_asked_at = datetime.now(UTC)
    return [Reply(texts.FEEDBACK_TYPE_REPLY)]


def awaiting_reply(session: Session, user_id: int) -> Comment | None:
    """The comment the worker's next typed message answers, if they just tapped "Reageer"."""
    return session.scalar(
        select(Comment)
        .where(
            Comment.worker_id == user_id,
            Comment.replied_at.is_(None),
            Comment.reply_asked_at > datetime.now(UTC) - REPLY_WINDOW,
        )
        .order_by(Comment.reply_asked_at.desc())
        .limit(1)
    )


def store_reply(session: Session, user: User, text: str | None) -> list[Reply]:
    comment = awaiting_reply(session, user.id)
    if comment is None:
        return [Reply(texts.STALE_BUTTON)]
    comment.reply = (text or "").strip()[:MAX_COMMENT]
    comment.replied_at = datetime.now(UTC)
    replies = [Reply(texts.FEEDBACK_REPLIED)]
    kind = crisis.detect(comment.reply)  # a reply is read by the supervisor later: answer a crisis now
    if kind is not None:
        replies.append(crisis_reply(kind))
    return replies
