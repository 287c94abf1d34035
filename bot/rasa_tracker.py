"""Rasa's tracker store (its SQL `events` table), read and written by the bot directly.

Written to for two things only: forgetting a worker (/verwijder) and deleting events older than
the retention period (bot.retention) — Rasa's HTTP API can replace a conversation's events but
not delete them. A conversation that loses events also loses its row in `tracker_snapshots`
(rasa_addons/tracker_store.py), in the same transaction, so Rasa rebuilds it from what is left
instead of bringing deleted events back. Read for what Rasa made of a worker's latest message
(intent, confidence, slots, the running form): one indexed query here instead of asking a Rasa
server to load, rebuild and serialise the whole tracker for every turn (see BENCHMARKS.md).
"""

from __future__ import annotations

import json
import logging
from typing import Any

from sqlalchemy import create_engine, inspect, text
from sqlalchemy.exc import SQLAlchemyError

from bot.db import normalise_url
from bot.rasa_client import MESSAGE_REF, TurnInfo

SNAPSHOT_TABLE = "tracker_snapshots"  # rasa_addons/tracker_store.py (Rasa's environment)

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
                if inspect(connection).has_table(SNAPSHOT_TABLE):
                    connection.execute(
                        text(
                            f"DELETE FROM {SNAPSHOT_TABLE} WHERE sender_id IN "
                            f"(SELECT sender_id FROM events WHERE {condition})"
                        ),
                        params,
                    )
                return connection.execute(text(f"DELETE FROM events WHERE {condition}"), params).rowcount
        except SQLAlchemyError as exc:  # no conversations stored yet, or the store is elsewhere
            log.warning("Could not delete %s from Rasa's tracker store: %s", what, exc)
            return 0

    def turn(self, sender: str) -> TurnInfo | None:
        """The sender's latest message as Rasa's tracker sees it; None if it can't be read."""
        try:
            with self._engine.connect() as connection:
                rows = connection.execute(_CURRENT_SESSION, {"sender": sender}).all()
        except SQLAlchemyError as exc:
            log.warning("Could not read Rasa's tracker store: %s", exc)
            return None
        return fold(rows)

    def dispose(self) -> None:
        self._engine.dispose()


# The events of the sender's current session that make up a turn's state, oldest first.
_CURRENT_SESSION = text(
    """
    SELECT type_name, data FROM events
    WHERE sender_id = :sender
      AND type_name IN ('user', 'slot', 'active_loop', 'reset_slots', 'restart', 'session_started')
      AND id >= COALESCE(
        (SELECT MAX(id) FROM events WHERE sender_id = :sender AND type_name = 'session_started'), 0)
    ORDER BY id
    """
)


def fold(rows: list[Any]) -> TurnInfo | None:
    """Replay the events as Rasa does for these fields: latest user message, slots, active loop."""
    latest: dict[str, Any] | None = None
    slots: dict[str, Any] = {}
    active_loop: str | None = None
    for type_name, data in rows:
        event = json.loads(data or "{}")
        if type_name == "user":
            latest = event
        elif type_name == "slot":
            slots[event.get("name")] = event.get("value")
        elif type_name == "active_loop":
            active_loop = event.get("name")
        elif type_name in ("reset_slots", "restart"):
            slots, active_loop = {}, None
    if latest is None:
        return None
    intent = (latest.get("parse_data") or {}).get("intent") or {}
    confidence = intent.get("confidence")
    return TurnInfo(
        message_ref=(latest.get("metadata") or {}).get(MESSAGE_REF),
        intent=intent.get("name"),
        confidence=float(confidence) if confidence is not None else None,
        active_loop=active_loop,
        slots=slots,
    )
