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
        try:
            with self._engine.begin() as connection:
                result = connection.execute(
                    text("DELETE FROM events WHERE sender_id = :sender"), {"sender": sender}
                )
                return result.rowcount
        except SQLAlchemyError as exc:  # no conversations stored yet, or the store is elsewhere
            log.warning("Could not delete the conversation from Rasa's tracker store: %s", exc)
            return 0

    def forget_before(self, timestamp: float) -> int:
        """Delete every event older than `timestamp` (Unix seconds); returns how many there were."""
        try:
            with self._engine.begin() as connection:
                result = connection.execute(
                    text("DELETE FROM events WHERE timestamp < :before"), {"before": timestamp}
                )
                return result.rowcount
        except SQLAlchemyError as exc:  # no conversations stored yet, or the store is elsewhere
            log.warning("Could not delete old events from Rasa's tracker store: %s", exc)
            return 0

    def dispose(self) -> None:
        self._engine.dispose()
