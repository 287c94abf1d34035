"""Conversation leases: one bot process at a time answers a worker's messages.

With several bot processes behind a load balancer, two messages of one worker can arrive at
different processes. Each process first takes the worker's lease — a row-level compare-and-
set on `users.lease_owner/lease_until` in the shared database — and answers *all* of the
worker's waiting messages, oldest first, before it lets go. A process that can't get the
lease leaves its message to the holder, which looks once more after letting go (see
`Conversation.drain`). A holder that dies stops renewing; its lease runs out after `ttl` and
the retry job of another process takes over. Inside one process an asyncio lock per user
does the same job without a database round trip.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import secrets
import socket
import weakref
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

from sqlalchemy import or_, update

from bot.db import Database
from bot.models import User

log = logging.getLogger(__name__)

DEFAULT_TTL = timedelta(seconds=15)


def process_name() -> str:
    """Who holds a lease: host, process id and a random part (a restarted pid is someone else)."""
    return f"{socket.gethostname()[:40]}:{os.getpid()}:{secrets.token_hex(4)}"


class Leases:
    def __init__(self, db: Database, ttl: timedelta = DEFAULT_TTL, owner: str | None = None) -> None:
        self._db = db
        self._ttl = ttl
        self.owner = owner or process_name()
        self._local: weakref.WeakValueDictionary[int, asyncio.Lock] = weakref.WeakValueDictionary()

    def local(self, user_id: int) -> asyncio.Lock:
        """This process's lock for the user (taken before the shared lease)."""
        lock = self._local.get(user_id)
        if lock is None:
            lock = asyncio.Lock()
            self._local[user_id] = lock
        return lock

    def busy(self, user_id: int) -> bool:
        """True if this process is answering the user right now."""
        return self.local(user_id).locked()

    def _take(self, user_id: int) -> bool:
        now = datetime.now(UTC)
        with self._db.session() as session:
            taken = session.execute(
                update(User)
                .where(
                    User.id == user_id,
                    or_(User.lease_until.is_(None), User.lease_until < now, User.lease_owner == self.owner),
                )
                .values(lease_owner=self.owner, lease_until=now + self._ttl)
                .execution_options(synchronize_session=False)
            )
            return bool(taken.rowcount)

    def _give_back(self, user_id: int) -> None:
        with self._db.session() as session:
            session.execute(
                update(User)
                .where(User.id == user_id, User.lease_owner == self.owner)
                .values(lease_owner=None, lease_until=None)
                .execution_options(synchronize_session=False)
            )

    async def _renew(self, user_id: int) -> None:
        """Keep the lease while the holder works (a Rasa answer may take longer than the ttl)."""
        while True:
            await asyncio.sleep(self._ttl.total_seconds() / 3)
            try:
                if not await asyncio.to_thread(self._take, user_id):
                    # Not renewed for a whole ttl (a blocked event loop): another process may
                    # have taken over. Nothing to undo here; worth knowing about.
                    log.warning("Lost the lease of user %s to another process", user_id)
            except Exception:  # the next renewal tries again; the lease is still valid meanwhile
                log.warning("Could not renew the lease of user %s", user_id, exc_info=True)

    @contextlib.asynccontextmanager
    async def hold(self, user_id: int) -> AsyncIterator[bool]:
        """Yields True while this process holds the user's lease; False if another one does."""
        async with self.local(user_id):
            if not self._take(user_id):
                yield False
                return
            renewer = asyncio.create_task(self._renew(user_id))
            try:
                yield True
            finally:
                renewer.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await renewer
                self._give_back(user_id)
