"""Retention: transcripts and cases older than RETENTION_DAYS go from the application database
and from Rasa's tracker store — daily in the Telegram bot, in the launcher without Telegram,
and by hand with `python -m bot admin purge`. And /verwijder's erase reaches every table that
refers to the worker."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from sqlalchemy import (
    Column,
    Float,
    ForeignKey,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    create_engine,
    func,
    insert,
    select,
    text,
)

from bot import access, retention, transcript
from bot.conversation import open_conversation
from bot.db import Database
from bot.inbound import typed
from bot.models import Base, Case, Invite, Message, Role, Status, User
from bot.models.base import Encrypted
from bot.rasa_tracker import RasaTrackerStore
from bot.settings import retention_days
from bot.telegram_app import CHANNEL, build_application
from tests.bot_harness import make_settings, running_bot
from tests.conftest import ROOT, free_port
from tests.fake_bot_api import FakeBotApi
from tests.rasa_stack import RasaStack

NOW = datetime.now(UTC)
OLD = NOW - timedelta(days=200)  # past the default 180 days
RECENT = NOW - timedelta(days=100)


def rasa_events_table(metadata: MetaData) -> Table:
    """Rasa 3.6's SQL tracker store table, as `SQLTrackerStore.SQLEvent` declares it."""
    return Table(
        "events",
        metadata,
        Column("id", Integer, primary_key=True),
        Column("sender_id", String(255), nullable=False, index=True),
        Column("type_name", String(255), nullable=False),
        Column("timestamp", Float),
        Column("intent_name", String(255)),
        Column("action_name", String(255)),
        Column("data", Text),
    )


def make_tracker_db(path: Path, events: list[tuple[str, datetime]]) -> str:
    """A tracker store with one user event per (sender, time)."""
    url = f"sqlite:///{path}"
    engine = create_engine(url)
    table = rasa_events_table(MetaData())
    table.metadata.create_all(engine)
    with engine.begin() as connection:
        for sender, at in events:
            connection.execute(
                insert(table).values(
                    sender_id=sender, type_name="user", timestamp=at.timestamp(), data='{"text": "[naam]"}'
                )
            )
    engine.dispose()
    return url


def tracker_senders(url: str) -> list[tuple[str, float]]:
    engine = create_engine(url)
    with engine.connect() as connection:
        rows = connection.execute(text("SELECT sender_id, timestamp FROM events ORDER BY id")).all()
    engine.dispose()
    return [(row[0], row[1]) for row in rows]


def seed(db: Database) -> None:
    """One worker with an old and a recent message, and an old and a recent case."""
    with db.session() as session:
        user = access.local_user(session, "p1")
        for label, at in (("oud", OLD), ("recent", RECENT)):
            message = transcript.receive(session, user, typed(f"{label} bericht"), f"{label} bericht")
            assert message is not None
            message.created_at, message.status = at, Status.ANSWERED.value
            session.add(Case(owner="p1", label=f"cliënt {label}", flows={}, created_at=OLD, updated_at=at))


def left(db: Database) -> tuple[list[str], list[str], int]:
    """Message texts, case labels and users still stored."""
    with db.session() as session:
        texts = [m.text or "" for m in session.scalars(select(Message).order_by(Message.id))]
        labels = list(session.scalars(select(Case.label).order_by(Case.id)))
        users = session.scalar(select(func.count(User.id))) or 0
    return texts, labels, users


@pytest.fixture
def db(tmp_path: Path) -> Iterator[Database]:
    database = Database(f"sqlite:///{tmp_path / 'deuropener.db'}")
    database.migrate()
    yield database
    database.dispose()


def test_purge_deletes_old_transcripts_cases_and_tracker_events_only(db: Database, tmp_path: Path) -> None:
    seed(db)
    tracker_url = make_tracker_db(tmp_path / "rasa_tracker.db", [("p1", OLD), ("p1", RECENT), ("p2", OLD)])
    tracker = RasaTrackerStore(tracker_url)
    try:
        purged = retention.purge(db, tracker, days=180)
    finally:
        tracker.dispose()
    assert purged.rows["messages"] == 1 and purged.rows["cases"] == 1 and purged.tracker_events == 2
    assert left(db) == (["recent bericht"], ["cliënt recent"], 1)  # the registration stays
    assert [sender for sender, _ in tracker_senders(tracker_url)] == ["p1"]
    assert str(purged) == "deleted 1 from cases, 1 from messages; 2 Rasa tracker event(s)"


def test_a_shorter_period_deletes_more_and_a_missing_tracker_store_is_no_failure(
    db: Database, tmp_path: Path
) -> None:
    seed(db)
    tracker = RasaTrackerStore(f"sqlite:///{tmp_path / 'nothing-yet.db'}")  # Rasa hasn't made it yet
    try:
        purged = retention.purge(db, tracker, days=30)
    finally:
        tracker.dispose()
    assert purged.tracker_events == 0 and left(db) == ([], [], 1)


def test_a_case_touched_recently_stays_whatever_its_age(db: Database) -> None:
    seed(db)
    with db.session() as session:  # the worker continues the old case today
        case = session.scalars(select(Case).where(Case.label == "cliënt oud")).one()
        case.flows = {"verzamelen": {"step": 2}}
    retention.purge(db, None, days=180)
    assert left(db)[1] == ["cliënt oud", "cliënt recent"]


def test_every_table_holding_worker_text_has_an_age_the_purge_uses() -> None:
    holding = {
        t.name for t in Base.metadata.sorted_tables if any(isinstance(c.type, Encrypted) for c in t.columns)
    }
    aged = dict((table.name, age) for table, age in retention.aged_tables())
    assert set(aged) == holding and {"messages", "cases"} <= holding
    assert (aged["messages"], aged["cases"]) == ("created_at", "updated_at")


def test_retention_days_must_be_a_positive_whole_number() -> None:
    assert retention_days(None) == 180 and retention_days("30") == 30
    for wrong in ("0", "-5", "half jaar", "1.5"):
        with pytest.raises(ValueError, match="RETENTION_DAYS must be a whole number"):
            retention_days(wrong)


# --- where the job runs ---------------------------------------------------------------------


def _env(tmp_path: Path, **extra: str) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in {"TELEGRAM_BOT_TOKEN", "DATABASE_URL", "RASA_TRACKER_DB"}
    }
    return env | {"DEUROPENER_DATA_DIR": str(tmp_path), "PYTHONPATH": str(ROOT), **extra}


def test_admin_purge_runs_it_by_hand_with_the_configured_period(db: Database, tmp_path: Path) -> None:
    seed(db)
    make_tracker_db(tmp_path / "rasa_tracker.db", [("p1", OLD), ("p1", RECENT)])
    done = subprocess.run(
        [sys.executable, "-m", "bot", "admin", "purge"],
        cwd=ROOT,
        env=_env(tmp_path, RETENTION_DAYS="30"),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert "Retention 30 days: deleted 2 from cases, 2 from messages; 2 Rasa tracker event(s)" in done.stdout
    assert left(db) == ([], [], 1)


def test_the_launcher_purges_at_start_when_there_is_no_telegram_bot(db: Database, tmp_path: Path) -> None:
    """`make run` without a token: the launcher is the long-running process, so it runs the job."""
    seed(db)
    make_tracker_db(tmp_path / "rasa_tracker.db", [("p1", OLD)])
    log = tmp_path / "run.log"
    with log.open("wb") as out:  # a Rasa that exits at once: the launcher stops, after purging
        process = subprocess.Popen(
            [sys.executable, "-m", "bot", "run"],
            cwd=ROOT,
            env=_env(tmp_path, RASA_BIN="true", ACTION_SERVER_PORT=str(free_port())),
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        assert process.wait(timeout=120) == 1
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGKILL)
    output = log.read_text()
    assert "Retention (180 days): deleted 1 from cases, 1 from messages; 1 Rasa tracker event(s)" in output
    assert output.index("Retention") < output.index("starting action server")
    assert left(db) == (["recent bericht"], ["cliënt recent"], 1)


async def test_the_telegram_bot_purges_at_start_and_then_daily(tmp_path: Path) -> None:
    db = Database(f"sqlite:///{tmp_path / 'deuropener.db'}")
    db.migrate()
    seed(db)
    tracker_url = make_tracker_db(tmp_path / "rasa_tracker.db", [("p1", OLD), ("p1", RECENT)])
    with FakeBotApi() as api:
        settings = make_settings(tmp_path, api, "http://127.0.0.1:1", rasa_tracker_db_url=tracker_url)
        async with running_bot(settings, api) as user:
            deadline = time.monotonic() + 20
            while left(db)[0] != ["recent bericht"] and time.monotonic() < deadline:
                await asyncio.sleep(0.2)
            assert user.account() is None  # nobody registered: the purge ran by itself
        assert left(db) == (["recent bericht"], ["cliënt recent"], 1)
        assert len(tracker_senders(tracker_url)) == 1

        conversation, rasa, bot_db = open_conversation(settings, CHANNEL)  # and it is scheduled daily
        application = build_application(settings, conversation)
        assert application.job_queue is not None
        (job,) = application.job_queue.get_jobs_by_name("retention")
        assert job.trigger.interval == timedelta(days=1)
        await rasa.aclose()
        bot_db.dispose()
    db.dispose()


@pytest.mark.integration
def test_old_events_go_from_the_tracker_rasa_writes_and_the_conversation_goes_on(
    rasa_stack: RasaStack,
) -> None:
    sender = f"retention-{uuid.uuid4().hex[:8]}"
    webhook = f"{rasa_stack.url}/webhooks/rest/webhook"
    assert httpx.post(webhook, json={"sender": sender, "message": "hoi"}, timeout=60).json()
    tracker_url = f"sqlite:///{rasa_stack.tracker_db}"
    engine = create_engine(tracker_url)
    with engine.begin() as connection:  # this conversation took place 200 days ago
        aged = connection.execute(
            text("UPDATE events SET timestamp = timestamp - :shift WHERE sender_id = :sender"),
            {"shift": timedelta(days=200).total_seconds(), "sender": sender},
        ).rowcount
    engine.dispose()
    assert aged >= 3  # Rasa stored the session start, the message and the answers

    store = RasaTrackerStore(tracker_url)
    try:
        assert store.forget_before((NOW - timedelta(days=180)).timestamp()) >= aged
    finally:
        store.dispose()
    tracker = httpx.get(
        f"{rasa_stack.url}/conversations/{sender}/tracker", params={"token": rasa_stack.token}, timeout=30
    ).json()
    assert [e for e in tracker["events"] if e["event"] == "user"] == []  # Rasa no longer has it
    again = httpx.post(webhook, json={"sender": sender, "message": "hoi"}, timeout=60).json()
    assert again and again[0].get("text")  # and answers a new message as usual


# --- /verwijder reaches every table that refers to the worker ----------------------------------


def test_erase_deletes_rows_of_any_table_referring_to_the_user(db: Database) -> None:
    """A table another feature adds (nudges, say) with a foreign key to users, and one referring
    to that, are erased without code of their own; a redeemed invite stays, unlinked."""
    nudges = Table(
        "test_nudges",
        Base.metadata,
        Column("id", Integer, primary_key=True),
        Column("user_id", ForeignKey("users.id"), nullable=False),
    )
    runs = Table(
        "test_nudge_runs",
        Base.metadata,
        Column("id", Integer, primary_key=True),
        Column("nudge_id", ForeignKey("test_nudges.id"), nullable=False),
    )
    try:
        Base.metadata.create_all(db.engine, tables=[nudges, runs])
        with db.session() as session:
            code = access.create_invite(session, Role.WORKER, "Team", timedelta(hours=1))
        with db.session() as session:
            user = access.redeem(session, code, pseudonym="p1", channel=CHANNEL, chat_id=1)
            other = access.local_user(session, "p2")
            assert user is not None
            for owner in (user, other):
                nudge = session.execute(insert(nudges).values(user_id=owner.id)).inserted_primary_key
                session.execute(insert(runs).values(nudge_id=nudge[0]))
                transcript.receive(session, owner, typed("hoi"), "hoi")
                session.add(Case(owner=owner.pseudonym, label="cliënt A", flows={}))
        with db.session() as session:
            user = access.find_user(session, "p1")
            assert user is not None
            erased = retention.erase_user_rows(session, user)
            transcript.erase(session, user)
        assert erased == {"test_nudge_runs": 1, "test_nudges": 1, "messages": 1, "cases": 1}
        with db.session() as session:
            assert session.scalar(select(func.count()).select_from(nudges)) == 1  # the other worker's
            assert session.scalar(select(func.count()).select_from(runs)) == 1
            assert [u.pseudonym for u in session.scalars(select(User))] == ["p2"]
            invite = session.scalars(select(Invite)).one()
            assert invite.used_at is not None and invite.used_by_id is None
    finally:
        Base.metadata.remove(runs)
        Base.metadata.remove(nudges)
