"""Rasa's tracker store, written to for one thing only: forgetting a worker (/verwijder).

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
