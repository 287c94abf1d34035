"""Tracker-store scenarios, run inside Rasa's environment (tests/test_tracker_store.py starts
them): `python -m tests.tracker_scenarios SCENARIO STOCK_DB_URL SNAPSHOT_DB_URL [TURNS]`.

The same conversations go through Rasa's `SQLTrackerStore` on one database and our
`SnapshotSQLTrackerStore` on the other. Prints one JSON object with what differed and how long
a turn's `retrieve` + `save` took in each.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from rasa.core.tracker_store import SQLTrackerStore
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import (
    ActionExecuted,
    BotUttered,
    Event,
    Restarted,
    SessionStarted,
    SlotSet,
    UserUttered,
)
from sqlalchemy.engine import make_url

from rasa_addons.tracker_store import SnapshotSQLTrackerStore

DOMAIN = Domain.load(str(Path(__file__).resolve().parents[1] / "domain"))


def _store(kind: type[SQLTrackerStore], url: str) -> SQLTrackerStore:
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        return kind(domain=DOMAIN, dialect="sqlite", db=parsed.database)
    return kind(
        domain=DOMAIN,
        dialect="postgresql",
        host=parsed.host,
        port=parsed.port,
        db=parsed.database,
        username=parsed.username,
    )


def _turn(number: int, when: float) -> list[Event]:
    """One turn as Rasa logs it: the message, the slots an action sets, the answer."""
    text = f'bericht {number} 👋 met "aanhalingstekens" en <b>html</b>'
    parse = {"intent": {"name": "faq", "confidence": 0.9}, "entities": [], "text": text}
    return [
        UserUttered(text, parse["intent"], [], parse, timestamp=when, metadata={"ref": f"m{number}"}),
        ActionExecuted("action_answer", timestamp=when + 0.1),
        SlotSet("case_label", f"cliënt {number % 3}", timestamp=when + 0.2),
        BotUttered(
            f"antwoord {number}", {"buttons": [{"title": "Ja", "payload": "/affirm"}]}, timestamp=when + 0.3
        ),
        ActionExecuted("action_listen", timestamp=when + 0.4),
    ]


def _events_of(turn: int, when: float) -> list[Event]:
    """Turn 0 starts a session; turn 5 restarts the conversation; turn 8 starts a new session."""
    start = [
        ActionExecuted("action_session_start", timestamp=when - 0.2),
        SessionStarted(timestamp=when - 0.1),
    ]
    if turn in (0, 8):
        return [*start, *_turn(turn, when)]
    if turn == 5:
        return [Restarted(timestamp=when - 0.1), *_turn(turn, when)]
    return _turn(turn, when)


async def _step(store: SQLTrackerStore, sender: str, turn: int, when: float) -> tuple[dict[str, Any], float]:
    started = time.perf_counter()
    tracker = await store.get_or_create_tracker(sender, append_action_listen=False)
    for event in _events_of(turn, when):
        tracker.update(event)
    await store.save(tracker)
    elapsed = time.perf_counter() - started
    stored = await store.retrieve(sender)
    return stored.current_state(), elapsed


def _rows(url: str) -> list[tuple[Any, ...]]:
    engine = sa.create_engine(url.replace("postgresql://", "postgresql+psycopg2://"))
    with engine.connect() as connection:
        rows = connection.execute(
            sa.text(
                "SELECT sender_id, type_name, timestamp, intent_name, action_name, data"
                " FROM events ORDER BY id"
            )
        ).all()
    engine.dispose()
    return [tuple(row) for row in rows]


async def compare(stock_url: str, snapshot_url: str, turns: int) -> dict[str, Any]:
    stock, snapshot = _store(SQLTrackerStore, stock_url), _store(SnapshotSQLTrackerStore, snapshot_url)
    mismatches: list[int] = []
    timings: dict[str, list[float]] = {"stock": [], "snapshot": []}
    for sender in ("werker-a", "werker-b"):
        for turn in range(turns):
            when = 1_700_000_000.0 + turn * 60
            expected, stock_time = await _step(stock, sender, turn, when)
            actual, snapshot_time = await _step(snapshot, sender, turn, when)
            timings["stock"].append(stock_time)
            timings["snapshot"].append(snapshot_time)
            if expected != actual:
                mismatches.append(turn)
    return {
        "mismatches": mismatches,
        "same_rows": _rows(stock_url) == _rows(snapshot_url),
        "rows": len(_rows(snapshot_url)),
        "ms_per_turn": {kind: 1000 * sum(t) / len(t) for kind, t in timings.items()},
    }


async def current(snapshot_url: str, sender: str) -> dict[str, Any]:
    """The sender's tracker as the snapshot store reads it now (after rows were deleted)."""
    tracker = await _store(SnapshotSQLTrackerStore, snapshot_url).retrieve(sender)
    if tracker is None:
        return {"events": None}
    return {
        "events": [event["event"] for event in tracker.current_state(None)["events"] or []],
        "texts": [e.text for e in tracker.events if isinstance(e, UserUttered)],
    }


def main() -> None:
    scenario, *args = sys.argv[1:]
    if scenario == "compare":
        result = asyncio.run(compare(args[0], args[1], int(args[2]) if len(args) > 2 else 10))
    elif scenario == "create":  # as a Rasa server starting does it
        _store(SnapshotSQLTrackerStore, args[0])
        result = {"created": True}
    elif scenario == "current":
        result = asyncio.run(current(args[0], args[1]))
    else:
        raise SystemExit(f"unknown scenario {scenario}")
    print(json.dumps(result))


if __name__ == "__main__":
    main()
