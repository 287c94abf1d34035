"""Our tracker store (rasa_addons/tracker_store.py), inside Rasa's own environment, against
Rasa's `SQLTrackerStore` on SQLite and PostgreSQL: the same conversations give the same
trackers and the same `events` rows; deleting a worker or old events (bot/rasa_tracker.py)
never lets a deleted message come back from the snapshot.
"""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from bot.rasa_tracker import RasaTrackerStore
from tests.conftest import ROOT, postgres_database

RASA_PYTHON = Path(os.environ.get("RASA_BIN", "rasa")).with_name("python")
START = 1_700_000_000.0  # turn n of the scenario happens at START + 60 n; turn 8 starts a session


def _start(*args: str) -> subprocess.Popen[str]:
    if not RASA_PYTHON.exists():
        pytest.fail(f"Rasa's environment is missing ({RASA_PYTHON}): run `make setup`")
    env = {**os.environ, "PYTHONPATH": str(ROOT), "RASA_TELEMETRY_ENABLED": "false"}
    pipe = subprocess.PIPE
    args_ = [str(RASA_PYTHON), "-m", "tests.tracker_scenarios", *args]
    return subprocess.Popen(args_, cwd=ROOT, env=env, stdout=pipe, stderr=pipe, text=True)


def _result(process: subprocess.Popen[str]) -> dict[str, Any]:
    out, err = process.communicate(timeout=300)
    assert process.returncode == 0, err[-3000:]
    return json.loads(out.strip().splitlines()[-1])


def _scenario(*args: str) -> dict[str, Any]:
    return _result(_start(*args))


@pytest.fixture(params=["sqlite", "postgresql"])
def databases(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[str, str]]:
    """Two empty databases: one for Rasa's store, one for ours."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'stock.db'}", f"sqlite:///{tmp_path / 'snapshot.db'}"
        return
    with postgres_database() as stock, postgres_database() as snapshot:
        yield stock, snapshot


def test_the_same_conversations_give_the_same_trackers_and_rows(databases: tuple[str, str]) -> None:
    # Two workers, 12 turns each: emoji, quotes and HTML in messages, slots, buttons, a restart
    # (turn 5) and a new session (turn 8).
    result = _scenario("compare", *databases, "12")
    assert result["mismatches"] == []
    assert result["same_rows"] is True
    assert result["rows"] == 2 * (12 * 5 + 2 * 2 + 1)


def test_a_forgotten_worker_stays_forgotten(databases: tuple[str, str]) -> None:
    _, ours = databases
    _scenario("compare", *databases, "12")
    assert _scenario("current", ours, "werker-a")["texts"][-1].startswith("bericht 11")

    RasaTrackerStore(ours).forget("werker-a")

    assert _scenario("current", ours, "werker-a") == {"events": None}
    assert _scenario("current", ours, "werker-b")["texts"][-1].startswith("bericht 11")


def test_old_events_deleted_by_retention_do_not_come_back(databases: tuple[str, str]) -> None:
    _, ours = databases
    _scenario("compare", *databases, "12")
    # The current session began at turn 8; the retention cut falls inside it, before turn 10.
    assert [t.split()[1] for t in _scenario("current", ours, "werker-b")["texts"]] == ["8", "9", "10", "11"]

    deleted = RasaTrackerStore(ours).forget_before(START + 10 * 60 - 1)

    assert deleted > 0
    for worker in ("werker-a", "werker-b"):
        assert [t.split()[1] for t in _scenario("current", ours, worker)["texts"]] == ["10", "11"]


def test_rasa_servers_starting_together_all_get_the_store(databases: tuple[str, str]) -> None:
    # Replicas race to create the snapshot table in an empty database; none may fail to start.
    _, ours = databases
    starting = [_start("create", ours) for _ in range(4)]
    assert [_result(process) for process in starting] == [{"created": True}] * 4
