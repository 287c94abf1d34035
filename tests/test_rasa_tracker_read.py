"""Reading a turn straight from Rasa's tracker store table (bot/rasa_tracker.py)."""

from __future__ import annotations

import json
from pathlib import Path

from sqlalchemy import create_engine, text

from bot.rasa_client import MESSAGE_REF
from bot.rasa_tracker import RasaTrackerStore

SCHEMA = """CREATE TABLE events (id INTEGER PRIMARY KEY, sender_id VARCHAR(255) NOT NULL,
type_name VARCHAR(255) NOT NULL, timestamp FLOAT, intent_name VARCHAR(255),
action_name VARCHAR(255), data TEXT)"""


def _store(tmp_path: Path, events: list[tuple[str, str, dict[str, object]]]) -> RasaTrackerStore:
    url = f"sqlite:///{tmp_path / 'tracker.db'}"
    engine = create_engine(url)
    with engine.begin() as connection:
        connection.execute(text(SCHEMA))
        for sender, type_name, data in events:
            connection.execute(
                text("INSERT INTO events (sender_id, type_name, data) VALUES (:s, :t, :d)"),
                {"s": sender, "t": type_name, "d": json.dumps({"event": type_name, **data})},
            )
    engine.dispose()
    return RasaTrackerStore(url)


def _user(intent: str, confidence: float, ref: str) -> dict[str, object]:
    parse_data = {"intent": {"name": intent, "confidence": confidence}}
    return {"parse_data": parse_data, "metadata": {MESSAGE_REF: ref}}


def test_the_latest_message_slots_and_form_of_the_current_session(tmp_path: Path) -> None:
    store = _store(
        tmp_path,
        [
            ("w1", "slot", {"name": "strategy", "value": "old session"}),
            ("w1", "session_started", {}),
            ("w1", "user", _user("greet", 0.99, "1")),
            ("w1", "slot", {"name": "flow_state", "value": {"flow": "verzamelen", "case_id": 3}}),
            ("w1", "active_loop", {"name": "flow_form"}),
            ("w2", "user", _user("faq", 0.5, "9")),  # someone else
            ("w1", "user", _user("start_flow", 0.87, "2")),
        ],
    )
    turn = store.turn("w1")
    assert turn is not None
    assert (turn.message_ref, turn.intent, turn.confidence) == ("2", "start_flow", 0.87)
    assert turn.slots == {"flow_state": {"flow": "verzamelen", "case_id": 3}}  # not the old session's
    assert turn.active_loop == "flow_form"


def test_a_reset_clears_slots_and_an_unknown_sender_has_no_turn(tmp_path: Path) -> None:
    store = _store(
        tmp_path,
        [
            ("w1", "slot", {"name": "strategy", "value": "quid_pro_quo"}),
            ("w1", "active_loop", {"name": "flow_form"}),
            ("w1", "reset_slots", {}),
            ("w1", "user", _user("stop", 0.9, "5")),
        ],
    )
    turn = store.turn("w1")
    assert turn is not None and turn.slots == {} and turn.active_loop is None
    assert store.turn("nobody") is None


def test_an_unreadable_store_gives_no_turn(tmp_path: Path) -> None:
    assert RasaTrackerStore(f"sqlite:///{tmp_path / 'empty.db'}").turn("w1") is None
