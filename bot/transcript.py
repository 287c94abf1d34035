"""The transcript: incoming and outgoing messages of registered users (plain queries).

Incoming messages double as the inbox (received -> pending -> answered/failed) and outgoing
ones as the outbox (queued -> sent/failed). Text arrives here already scrubbed.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import delete, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from bot import sharing
from bot.inbound import Inbound
from bot.models import Case, Direction, FlowProgress, Message, Reflection, Status, User
from bot.models.dashboard import AuditEntry, Comment
from bot.models.nudge import NudgeSchedule
from bot.replies import Button, Reply

EXPORT = "export"  # kind of an outgoing message that sends the worker's data as a file
UNANSWERED = (Status.RECEIVED.value, Status.PENDING.value)


def now() -> datetime:
    return datetime.now(UTC)


def receive(
    session: Session, user: User, inbound: Inbound, text: str | None, update_id: int | None = None
) -> Message | None:
    """Store an incoming message as received; None if this update was stored before."""
    message = Message(
        user_id=user.id,
        direction=Direction.IN.value,
        kind=inbound.kind.value,
        status=Status.RECEIVED.value,
        text=text,
        payload=inbound.payload,
        update_id=update_id,
    )
    try:
        with session.begin_nested():
            session.add(message)
    except IntegrityError:  # the same Telegram update delivered again (e.g. after a crash)
        return None
    return message


def queue(
    session: Session,
    user_id: int,
    replies: Sequence[Reply],
    *,
    reply_to: Message | None = None,
    flow: str | None = None,
) -> list[Message]:
    """Store outgoing replies, to be sent in order."""
    queued = [
        Message(
            user_id=user_id,
            direction=Direction.OUT.value,
            kind="reply",
            status=Status.QUEUED.value,
            text=reply.text or None,
            buttons=[[b.title, b.payload] for b in reply.buttons] or None,
            image=reply.image,
            flow=flow,
            reply_to_id=reply_to.id if reply_to else None,
        )
        for reply in replies
    ]
    session.add_all(queued)
    session.flush()
    return queued


def queue_export(session: Session, user_id: int, reply_to: Message) -> None:
    """An outgoing file with all the worker's data; its content is made when it is sent."""
    session.add(
        Message(
            user_id=user_id,
            direction=Direction.OUT.value,
            kind=EXPORT,
            status=Status.QUEUED.value,
            text="[bestand: al je gegevens]",
            flow=reply_to.flow,
            reply_to_id=reply_to.id,
        )
    )


def as_reply(message: Message) -> Reply:
    buttons = tuple(Button(title, payload) for title, payload in message.buttons or [])
    return Reply(text=message.text or "", buttons=buttons, image=message.image)


def next_unanswered(session: Session, user_id: int, after_id: int) -> Message | None:
    return session.scalar(
        select(Message)
        .where(
            Message.user_id == user_id,
            Message.direction == Direction.IN.value,
            Message.status.in_(UNANSWERED),
            Message.id > after_id,
        )
        .order_by(Message.id)
        .limit(1)
    )


def outbox(session: Session, user_id: int) -> list[Message]:
    return list(
        session.scalars(
            select(Message)
            .where(
                Message.user_id == user_id,
                Message.direction == Direction.OUT.value,
                Message.status == Status.QUEUED.value,
            )
            .order_by(Message.id)
        )
    )


def finish(session: Session, message_id: int, status: Status, **values: Any) -> None:
    session.execute(
        update(Message).where(Message.id == message_id).values(status=status.value, done_at=now(), **values)
    )


def set_status(session: Session, message_id: int, status: Status, **values: Any) -> None:
    session.execute(update(Message).where(Message.id == message_id).values(status=status.value, **values))


def label_turn(
    session: Session, message_id: int, intent: str | None, confidence: float | None, flow: str | None
) -> None:
    """Record what Rasa made of an incoming message, and the flow, on it and its answers."""
    session.execute(
        update(Message)
        .where(Message.id == message_id)
        .values(intent=intent, confidence=confidence, flow=flow)
    )
    session.execute(update(Message).where(Message.reply_to_id == message_id).values(flow=flow))


def users_with_work(
    session: Session, created_before: datetime, including: Collection[int] = ()
) -> list[User]:
    """Users with an unanswered incoming or an unsent outgoing message older than the cutoff,
    and the users `including` names."""
    unanswered = (Message.direction == Direction.IN.value) & Message.status.in_(UNANSWERED)
    unsent = (Message.direction == Direction.OUT.value) & (Message.status == Status.QUEUED.value)
    ids = select(Message.user_id).where(unanswered | unsent, Message.created_at < created_before).distinct()
    query = select(User).where(User.id.in_(ids) | User.id.in_(list(including))).order_by(User.id)
    return list(session.scalars(query))


def expired(session: Session, created_before: datetime) -> list[Message]:
    """Pending incoming messages that waited too long for Rasa."""
    return list(
        session.scalars(
            select(Message)
            .where(
                Message.direction == Direction.IN.value,
                Message.status == Status.PENDING.value,
                Message.created_at < created_before,
            )
            .order_by(Message.id)
        )
    )


def export(session: Session, user: User) -> dict[str, Any]:
    """Everything stored about the user, as JSON-able data (for /mijngegevens)."""
    messages = session.scalars(select(Message).where(Message.user_id == user.id).order_by(Message.id))
    cases = session.scalars(select(Case).where(Case.owner == user.pseudonym).order_by(Case.id))
    progress = session.scalars(select(FlowProgress).where(FlowProgress.owner == user.pseudonym))
    labels = dict(session.execute(select(Case.id, Case.label).where(Case.owner == user.pseudonym)).all())
    reflections = session.scalars(
        select(Reflection).where(Reflection.owner == user.pseudonym).order_by(Reflection.created_at)
    )
    return {
        "gebruiker": {
            "rol": user.role,
            "team": user.team.name,
            "kanaal": user.channel,
            "chat_id": user.chat_id,
            "aangemeld_op": user.registered_at.isoformat(),
            "pseudoniem_in_gesprekssysteem": user.pseudonym,
        },
        "berichten": [
            {
                "tijd": m.created_at.isoformat(),
                "richting": "van jou" if m.direction == Direction.IN.value else "van Deuropener",
                "soort": m.kind,
                "tekst": m.text,
                "knoppen": [title for title, _ in m.buttons or []],
                "herkende_bedoeling": m.intent,
                "zekerheid": m.confidence,
                "onderwerp": m.flow,
                "status": m.status,
            }
            for m in messages
        ],
        "cliënten": [
            {
                "label": c.label,
                "status": c.status,
                "voortgang": c.flows,
                "aangemaakt_op": c.created_at.isoformat(),
                "bijgewerkt_op": c.updated_at.isoformat(),
            }
            for c in cases
        ],
        "stappenplannen": [
            {"onderwerp": p.flow_id, "voortgang": p.state, "bijgewerkt_op": p.updated_at.isoformat()}
            for p in progress
        ],
        "reflecties": [
            {
                "cliënt": labels.get(r.case_id),
                "tijd": r.created_at.isoformat(),
                "scores": r.scores,
                "notitie": r.note,
            }
            for r in reflections
        ],
        **_supervision(session, user, labels),
        "herinneringen": _nudge_setting(session, user),
    }


def _supervision(session: Session, user: User, labels: dict[int, str]) -> dict[str, Any]:
    """What the worker shares with their supervisor, the feedback they got, and who looked."""
    share = sharing.shared(session, user)
    comments = session.scalars(select(Comment).where(Comment.worker_id == user.id).order_by(Comment.id))
    views = session.scalars(select(AuditEntry).where(AuditEntry.worker_id == user.id).order_by(AuditEntry.at))
    return {
        "delen_met_begeleider": {
            "keuze": share.mode.value,
            "gedeelde_cliënten": sorted(labels[c] for c in share.case_ids if c in labels),
        },
        "feedback_van_begeleider": [
            {"tijd": c.created_at.isoformat(), "tekst": c.text, "jouw_reactie": c.reply} for c in comments
        ],
        "wie_je_gesprekken_bekeek": [
            {"tijd": v.at.isoformat(), "rol": v.actor_role, "wat": v.what} for v in views
        ],
    }


def _nudge_setting(session: Session, user: User) -> dict[str, Any] | None:
    row = session.scalars(select(NudgeSchedule).where(NudgeSchedule.user_id == user.id)).first()
    if row is None:
        return None
    return {
        "ritme": row.rhythm,
        "dag": row.weekday,
        "tijd": row.local_time.isoformat(timespec="minutes"),
        "tijdzone": row.tz,
        "gepauzeerd_tot": row.paused_until.isoformat() if row.paused_until else None,
        "gestopt": row.stopped,
        "volgende": row.next_due_at.isoformat() if row.next_due_at else None,
    }


def erase(session: Session, user: User) -> None:
    """Delete the user, their messages and cases (invites they used stay, unlinked)."""
    session.execute(delete(Reflection).where(Reflection.owner == user.pseudonym))
    session.execute(delete(Case).where(Case.owner == user.pseudonym))
    session.execute(delete(FlowProgress).where(FlowProgress.owner == user.pseudonym))
    session.execute(delete(Message).where(Message.user_id == user.id))
    session.execute(delete(User).where(User.id == user.id))


def count(session: Session, user_id: int | None = None) -> int:
    query = select(func.count(Message.id))
    if user_id is not None:
        query = query.where(Message.user_id == user_id)
    return session.scalar(query) or 0
