"""What one dashboard viewer may see — enforced here, and only here.

A supervisor sees the workers of their own team, and of those only what each worker shares
(bot/sharing.py): everything, the turns about the cases they picked, or nothing. A worker
(who opens the link in a feedback message) sees only their own conversations. Every page,
export and count goes through a `Scope`; an id outside it is simply not found.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ColumnElement, false, func, select, true
from sqlalchemy.orm import Session

from bot import sharing
from bot.models import Case, Message, Role, User
from bot.models.dashboard import Comment, ShareMode, TurnTag
from bot.models.reflection import Reflection

LINK_KIND = "dashboard_link"  # an outgoing message whose sign-in link is made when it is sent


@dataclass(frozen=True)
class Viewer:
    user_id: int
    role: str
    team_id: int

    @property
    def supervisor(self) -> bool:
        return self.role == Role.SUPERVISOR.value

    @classmethod
    def of(cls, user: User) -> Viewer:
        return cls(user.id, user.role, user.team_id)


def case_of_turn() -> ColumnElement[int | None]:
    """The case a message belongs to: its own tag, else the tag of the message it answers."""
    own = select(TurnTag.case_id).where(TurnTag.message_id == Message.id).scalar_subquery()
    parent = select(TurnTag.case_id).where(TurnTag.message_id == Message.reply_to_id).scalar_subquery()
    return func.coalesce(own, parent)


class Scope:
    def __init__(self, session: Session, viewer: Viewer) -> None:
        self.session = session
        self.viewer = viewer
        self._shared: dict[int, sharing.Shared] = {}

    # --- workers -----------------------------------------------------------------------

    def workers(self) -> list[User]:
        """The workers this viewer may know of (a supervisor: the team's workers)."""
        if not self.viewer.supervisor:
            return [u for u in [self.session.get(User, self.viewer.user_id)] if u is not None]
        return list(
            self.session.scalars(
                select(User)
                .where(User.team_id == self.viewer.team_id, User.role == Role.WORKER.value)
                .order_by(User.id)
            )
        )

    def worker(self, worker_id: int) -> User | None:
        user = self.session.get(User, worker_id)
        if user is None or user.role != Role.WORKER.value:
            return None
        if self.viewer.supervisor:
            return user if user.team_id == self.viewer.team_id else None
        return user if user.id == self.viewer.user_id else None

    def shared(self, worker: User) -> sharing.Shared:
        if worker.id not in self._shared:
            if self.viewer.supervisor:
                self._shared[worker.id] = sharing.shared(self.session, worker)
            else:  # the worker's own view
                self._shared[worker.id] = sharing.Shared(ShareMode.ALL, chosen=True)
        return self._shared[worker.id]

    # --- messages ----------------------------------------------------------------------

    def visible(self, worker: User) -> ColumnElement[bool]:
        """SQL condition: the worker's messages this viewer may see."""
        if self.worker(worker.id) is None:
            return false()
        now = self.shared(worker)
        own = (Message.user_id == worker.id) & (Message.kind != LINK_KIND)
        if now.mode is ShareMode.ALL:
            return own & true()
        if now.mode is ShareMode.CASES and now.case_ids:
            return own & case_of_turn().in_(sorted(now.case_ids))
        return false()

    def messages(
        self, worker: User, since: datetime | None = None, until: datetime | None = None
    ) -> list[Message]:
        query = select(Message).where(self.visible(worker))
        if since is not None:
            query = query.where(Message.created_at >= since)
        if until is not None:
            query = query.where(Message.created_at < until)
        return list(self.session.scalars(query.order_by(Message.id)))

    def times(self, worker: User, since: datetime) -> list[tuple[int, datetime]]:
        """(id, time) of the visible messages since then, oldest first: no texts decrypted."""
        query = select(Message.id, Message.created_at).where(
            self.visible(worker), Message.created_at >= since
        )
        return [(i, t) for i, t in self.session.execute(query.order_by(Message.id))]

    def last_activity(self, worker: User) -> datetime | None:
        """When the last message this viewer may see was sent or received."""
        return self.session.scalar(select(func.max(Message.created_at)).where(self.visible(worker)))

    def message(self, message_id: int) -> Message | None:
        """One message, if this viewer may see it (else None: not found, whatever the reason)."""
        found = self.session.get(Message, message_id)
        if found is None:
            return None
        worker = self.worker(found.user_id)
        if worker is None:
            return None
        return self.session.scalar(select(Message).where(Message.id == message_id, self.visible(worker)))

    def tags(self, message_ids: Iterable[int]) -> dict[int, TurnTag]:
        ids = list(message_ids)
        if not ids:
            return {}
        return {
            t.message_id: t for t in self.session.scalars(select(TurnTag).where(TurnTag.message_id.in_(ids)))
        }

    def cases(self, worker: User) -> list[Case]:
        """The worker's cases this viewer may see."""
        if self.worker(worker.id) is None:
            return []
        now = self.shared(worker)
        query = select(Case).where(Case.owner == worker.pseudonym).order_by(Case.label, Case.id)
        if now.mode is ShareMode.CASES:
            query = query.where(Case.id.in_(sorted(now.case_ids)))
        elif now.mode is not ShareMode.ALL:
            return []
        return list(self.session.scalars(query))

    def reflections(self, worker: User, since: datetime | None = None) -> list[Reflection]:
        """The worker's reflections on the cases this viewer may see, oldest first."""
        case_ids = [c.id for c in self.cases(worker)]
        if not case_ids:
            return []
        query = select(Reflection).where(
            Reflection.owner == worker.pseudonym, Reflection.case_id.in_(case_ids)
        )
        if since is not None:
            query = query.where(Reflection.created_at >= since)
        return list(self.session.scalars(query.order_by(Reflection.created_at, Reflection.id)))

    def comments(self, message_ids: Iterable[int]) -> list[Comment]:
        """Comments on these messages, of those this viewer may see."""
        ids = list(message_ids)
        if not ids:
            return []
        found = self.session.scalars(select(Comment).where(Comment.message_id.in_(ids)).order_by(Comment.id))
        visible: dict[int, bool] = {}
        result = []
        for comment in found:
            if comment.message_id not in visible:
                visible[comment.message_id] = self.message(comment.message_id) is not None
            if visible[comment.message_id]:
                result.append(comment)
        return result
