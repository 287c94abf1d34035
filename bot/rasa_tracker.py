"""Rasa's tracker store, written to for two things only: forgetting a worker (/verwijder),
and deleting events older than the retention period (bot.retention).

Rasa's HTTP API can replace a conversation's events but not delete them from an SQL
tracker store, so the bot deletes the sender's rows from the store's `events` table.
"""

from __future__ import annotations

import logging

from sqlalchemy import create_engine, text
from sqlalchemy.exc import SQLAlchemyError

from bot.db import normalise_url

log = logging.getLogger(__name__)


class RasaTrackerStore:
    def __init__(self, url: str) -> None:
        self._engine = create_engine(normalise_url(url))

    def forget(self, sender: str) -> int:
        """Delete every event of the sender; returns how many there were."""
        return self._delete("sender_id = :sender", {"sender": sender}, "the conversation")

    def forget_before(self, timestamp: float) -> int:
        """Delete every event older than `timestamp` (Unix seconds); returns how many there were."""
        return self._delete("timestamp < :before", {"before": timestamp}, "old events")

    def _delete(self, condition: str, params: dict[str, object], what: str) -> int:
        try:
            with self._engine.begin() as connection:
                return connection.execute(text(f"DELETE FROM events WHERE {condition}"), params).rowcount
        except SQLAlchemyError as exc:  # no conversations stored yet, or the store is elsewhere
            log.warning("Could not delete %s from Rasa's tracker store: %s", what, exc)
            return 0

    def dispose(self) -> None:
        self._engine.dispose()
