"""A Redis lock store for several Rasa servers that never waits forever.

Rasa 3.6's `RedisLockStore` keeps a conversation's tickets in one JSON value that every server
reads, changes and writes back. Two flaws show up when servers die or the machine is busy:
- a waiter whose own ticket expires while it waits (it polls once a second; a busy event loop
  polls later) is never served: it spins until something deletes the key, and nothing does;
- two servers issuing tickets at once can overwrite each other's.

Here each conversation is one sorted set, ticket number -> expiry time, changed only by atomic
commands (INCR, ZADD, ZREM, ZREMRANGEBYSCORE). A request is served when no earlier live ticket
is left, whether or not its own has expired. The holder renews its ticket while it works, so a
live but slow server keeps the conversation and a dead one's ticket lapses after `lifetime`.

Loaded by Rasa from endpoints.yml (`lock_store: type: rasa_addons.lock_store.FairRedisLockStore`,
written by bot/rasa_endpoints.py); it runs inside the Rasa server.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import deque
from collections.abc import AsyncIterator
from typing import Any

import redis
from rasa.core.lock import Ticket, TicketLock
from rasa.core.lock_store import LOCK_LIFETIME, LockError, LockStore

log = logging.getLogger(__name__)

POLL_SECONDS = 0.05  # how often a waiting request looks again
SEQUENCE_TTL_SECONDS = 24 * 3600  # ticket numbers restart after a day without traffic


class FairRedisLockStore(LockStore):
    """One sorted set per conversation: ticket number (member) -> expiry time (score)."""

    def __init__(self, endpoint_config: Any = None, **kwargs: Any) -> None:
        options = {**(getattr(endpoint_config, "kwargs", None) or {}), **kwargs}
        self.red = redis.StrictRedis(
            host=getattr(endpoint_config, "url", None) or options.pop("host", "localhost"),
            port=int(options.get("port", 6379)),
            db=int(options.get("db", 1)),
            password=options.get("password"),
            ssl=bool(options.get("use_ssl", False)),
            socket_timeout=float(options.get("socket_timeout", 10)),
        )
        prefix = options.get("key_prefix")
        self.key_prefix = f"{prefix}:fairlock:" if prefix else "fairlock:"
        super().__init__()

    def _key(self, conversation_id: str) -> str:
        return self.key_prefix + conversation_id

    # --- the lock -----------------------------------------------------------------------------

    def issue_ticket(self, conversation_id: str, lock_lifetime: float = LOCK_LIFETIME) -> int:
        key = self._key(conversation_id)
        try:
            number = int(self.red.incr(key + ":seq"))
            with self.red.pipeline() as pipe:
                pipe.expire(key + ":seq", SEQUENCE_TTL_SECONDS)
                pipe.zadd(key, {str(number): time.time() + lock_lifetime})
                pipe.expire(key, int(lock_lifetime) + 60)
                pipe.execute()
            return number
        except redis.RedisError as exc:
            raise LockError(f"Could not issue a ticket for conversation '{conversation_id}': {exc}") from exc

    def _earlier_live_ticket(self, conversation_id: str, ticket: int, lifetime: float) -> int | None:
        """The first live ticket before `ticket`, None if it is this request's turn. Keeps this
        request's own ticket alive while it waits, so later requests stay behind it."""
        key = self._key(conversation_id)
        now = time.time()
        with self.red.pipeline() as pipe:
            pipe.zremrangebyscore(key, "-inf", now)
            pipe.zadd(key, {str(ticket): now + lifetime})
            pipe.expire(key, int(lifetime) + 60)
            pipe.zrange(key, 0, -1)
            *_, members = pipe.execute()
        earlier = [int(m) for m in members if int(m) < ticket]
        return min(earlier) if earlier else None

    async def _wait_for_turn(self, conversation_id: str, ticket: int, lifetime: float, poll: float) -> None:
        while True:
            try:
                if self._earlier_live_ticket(conversation_id, ticket, lifetime) is None:
                    return
            except redis.RedisError as exc:
                raise LockError(f"Could not read the lock of '{conversation_id}': {exc}") from exc
            await asyncio.sleep(poll)

    async def _renew(self, conversation_id: str, ticket: int, lifetime: float) -> None:
        """Keep the ticket alive while its holder works (XX: never re-create a finished one)."""
        key = self._key(conversation_id)
        while True:
            await asyncio.sleep(max(lifetime / 3, 0.1))
            try:
                self.red.zadd(key, {str(ticket): time.time() + lifetime}, xx=True)
                self.red.expire(key, int(lifetime) + 60)
            except redis.RedisError as exc:
                log.warning("Could not renew the lock of conversation '%s': %s", conversation_id, exc)

    @contextlib.asynccontextmanager
    async def lock(
        self,
        conversation_id: str,
        lock_lifetime: float = LOCK_LIFETIME,
        wait_time_in_seconds: float = POLL_SECONDS,
    ) -> AsyncIterator[TicketLock]:
        ticket = self.issue_ticket(conversation_id, lock_lifetime)
        renewal: asyncio.Task[None] | None = None
        try:
            poll = min(wait_time_in_seconds, POLL_SECONDS)
            await self._wait_for_turn(conversation_id, ticket, lock_lifetime, poll)
            renewal = asyncio.ensure_future(self._renew(conversation_id, ticket, lock_lifetime))
            yield self.get_lock(conversation_id) or TicketLock(conversation_id)
        finally:
            if renewal is not None:
                renewal.cancel()
            self.cleanup(conversation_id, ticket)

    def finish_serving(self, conversation_id: str, ticket_number: int) -> None:
        self.red.zrem(self._key(conversation_id), str(ticket_number))

    def cleanup(self, conversation_id: str, ticket_number: int) -> None:
        """Drop the ticket; Redis removes the set with its last member."""
        try:
            self.finish_serving(conversation_id, ticket_number)
        except redis.RedisError as exc:  # the ticket lapses by itself after its lifetime
            log.warning("Could not release the lock of conversation '%s': %s", conversation_id, exc)

    # --- Rasa's storage interface (for callers that read a whole lock) --------------------------

    def get_lock(self, conversation_id: str) -> TicketLock | None:
        members = self.red.zrange(self._key(conversation_id), 0, -1, withscores=True)
        tickets = sorted((Ticket(int(m), float(s)) for m, s in members), key=lambda t: t.number)
        live = deque(t for t in tickets if not t.has_expired())
        return TicketLock(conversation_id, live) if live else None

    def delete_lock(self, conversation_id: str) -> None:
        self.red.delete(self._key(conversation_id))

    def save_lock(self, lock: TicketLock) -> None:
        key = self._key(lock.conversation_id)
        with self.red.pipeline() as pipe:  # MULTI/EXEC: readers see the old or the new set
            pipe.delete(key)
            if lock.tickets:
                pipe.zadd(key, {str(t.number): t.expires for t in lock.tickets})
            pipe.execute()
