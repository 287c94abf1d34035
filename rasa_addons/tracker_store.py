"""A SQL tracker store that reads a conversation in one row instead of replaying its event rows.

Rasa 3.6's `SQLTrackerStore` costs two queries over the `events` table per message: `retrieve`
selects every event of the current session through the ORM (a subquery for the session start,
one ORM object per row), and `save` counts them again with the same subquery before adding the
new ones one ORM object at a time. On PostgreSQL that was 22–24 % of a busy Rasa server's time
against 7 % for stock's in-memory store (BENCHMARKS.md).

This store keeps Rasa's `events` table exactly as Rasa writes it (the bot reads it for turn
labels, the retention job and /verwijder delete from it, Rasa's HTTP API reads full histories
from it), and next to it one row per conversation in `tracker_snapshots`: the current session's
events as one JSON array and how many there are. So:
- `retrieve` is one primary-key lookup; a conversation without a snapshot (stored before this
  store, or whose snapshot was deleted) is read from `events` as Rasa does;
- `save` is one transaction: the stored count by primary key, one multi-row insert of the new
  events into `events`, one upsert of the snapshot.

Deleting events must delete the conversation's snapshot too (bot/rasa_tracker.py does both in
one transaction); the next message then rebuilds it from `events`.

Loaded by Rasa from endpoints.yml (`tracker_store: type:
rasa_addons.tracker_store.SnapshotSQLTrackerStore`, written by bot/rasa_endpoints.py).
"""

from __future__ import annotations

import functools
import json
import logging
import time
from typing import Any

import sqlalchemy as sa
from rasa.core.tracker_store import SQLTrackerStore
from rasa.shared.core.events import Event, SessionStarted
from rasa.shared.core.trackers import DialogueStateTracker
from rasa.shared.nlu.constants import INTENT_NAME_KEY

log = logging.getLogger(__name__)

SNAPSHOT_TABLE = "tracker_snapshots"

_metadata = sa.MetaData()
snapshots = sa.Table(
    SNAPSHOT_TABLE,
    _metadata,
    sa.Column("sender_id", sa.String(255), primary_key=True),
    sa.Column("event_count", sa.Integer, nullable=False),  # events of the current session
    sa.Column("data", sa.Text, nullable=False),  # those events, a JSON array of Rasa's event dicts
    sa.Column("updated_at", sa.Float, nullable=False),
)


@functools.cache
def event_class(type_name: str) -> type[Event]:
    """Rasa's `Event.resolve_by_type`, remembered: Rasa walks every `Event` subclass for every
    event it deserialises (about 60 µs each, most of the time a tracker takes to load)."""
    return Event.resolve_by_type(type_name)


def deserialise(events: list[dict[str, Any]]) -> list[Event]:
    """Event dicts to events, as `rasa.shared.core.events.deserialise_events` does."""
    result = []
    for parameters in events:
        if "event" not in parameters:
            continue
        event = event_class(parameters["event"])._from_parameters(parameters)
        if event is not None:
            result.append(event)
    return result


def current_session(events: list[Event]) -> list[Event]:
    """The events from the latest `session_started` on (all of them if there is none)."""
    for index in range(len(events) - 1, -1, -1):
        if isinstance(events[index], SessionStarted):
            return events[index:]
    return events


class SnapshotSQLTrackerStore(SQLTrackerStore):
    """Rasa's SQL tracker store plus one snapshot row per conversation (see the module doc)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        _create_table(self.engine)
        self._events_table = self.SQLEvent.__table__

    async def retrieve(self, sender_id: str) -> DialogueStateTracker | None:
        with self.engine.connect() as connection:
            data = connection.execute(
                sa.select(snapshots.c.data).where(snapshots.c.sender_id == sender_id)
            ).scalar()
        if data is None:
            return await super().retrieve(sender_id)
        events = json.loads(data)
        if not self.domain or not events:
            return None
        return DialogueStateTracker.from_events(sender_id, deserialise(events), self.domain.slots)

    async def save(self, tracker: DialogueStateTracker) -> None:
        await self.stream_events(tracker)
        events = list(tracker.events)
        with self.engine.begin() as connection:
            stored = connection.execute(
                sa.select(snapshots.c.event_count).where(snapshots.c.sender_id == tracker.sender_id)
            ).scalar()
            if stored is None:  # no snapshot yet: count as Rasa does
                with self.session_scope() as session:
                    stored = self._event_query(session, tracker.sender_id, False).count()
            new = [(event, event.as_dict()) for event in events[stored:]]
            rows = [_event_row(tracker.sender_id, event, data) for event, data in new]
            if rows:
                connection.execute(self._events_table.insert(), rows)
            # The snapshot reuses the new events' JSON from their rows: each is serialised once.
            fresh = {id(event): row["data"] for (event, _), row in zip(new, rows, strict=True)}
            session_events = current_session(events)
            texts = [fresh.get(id(event)) or json.dumps(event.as_dict()) for event in session_events]
            connection.execute(
                _upsert(connection.dialect.name),
                {
                    "sender_id": tracker.sender_id,
                    "event_count": len(texts),
                    "data": "[" + ",".join(texts) + "]",
                    "updated_at": events[-1].timestamp if events else 0.0,
                },
            )
        log.debug("Tracker of '%s' stored: %d new event(s)", tracker.sender_id, len(new))


def _create_table(engine: sa.engine.Engine, attempts: int = 10) -> None:
    """Create the snapshot table if it is missing. Rasa servers starting together race to
    create it (PostgreSQL then fails all but one): look again until it is there."""
    for attempt in range(attempts):
        try:
            _metadata.create_all(engine)
            return
        except sa.exc.SQLAlchemyError as exc:
            if attempt == attempts - 1:
                raise
            log.info("Creating %s raced another server, looking again: %s", SNAPSHOT_TABLE, exc)
            time.sleep(0.2 * (attempt + 1))


def _event_row(sender_id: str, event: Event, data: dict[str, Any]) -> dict[str, Any]:
    """A row of Rasa's `events` table, filled exactly as `SQLTrackerStore.save` fills it."""
    return {
        "sender_id": sender_id,
        "type_name": event.type_name,
        "timestamp": data.get("timestamp"),
        "intent_name": data.get("parse_data", {}).get("intent", {}).get(INTENT_NAME_KEY),
        "action_name": data.get("name"),
        "data": json.dumps(data),
    }


def _upsert(dialect: str) -> Any:
    """INSERT ... ON CONFLICT (sender_id) DO UPDATE, in PostgreSQL's or SQLite's dialect."""
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    elif dialect == "sqlite":
        from sqlalchemy.dialects.sqlite import insert
    else:
        raise ValueError(f"The snapshot tracker store supports PostgreSQL and SQLite, not {dialect}")
    statement = insert(snapshots)
    columns = {name: statement.excluded[name] for name in ("event_count", "data", "updated_at")}
    return statement.on_conflict_do_update(index_elements=[snapshots.c.sender_id], set_=columns)
