"""Nudge dispatch against the fake Bot API: claimed once, sent once, rate-limited, re-armed after
a restart; two dispatchers on one database never send a nudge twice. The clock is passed in."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, time, timedelta
from pathlib import Path
from time import monotonic, sleep

import pytest
from sqlalchemy import func, insert, select, update
from telegram import Bot

from bot import nudges
from bot.db import Database
from bot.models import Case, DispatchStatus, Message, NudgeDispatch, NudgeSchedule, Role, Team, User
from bot.nudge_dispatch import DispatchConfig, NudgeDispatcher, Pacer, make_bot
from bot.transcript import erase
from tests.conftest import ROOT
from tests.fake_bot_api import BotApiError, FakeBotApi

FRIDAY_3PM = datetime(2026, 12, 4, 14, 0, tzinfo=UTC)  # 15:00 in Amsterdam
FAST = DispatchConfig(max_rate=400.0, max_per_second=None, per_chat_seconds=0.05, batch=20)  # no waiting


class Clock:
    """A clock the test moves by hand."""

    def __init__(self, at: datetime) -> None:
        self.at = at

    def __call__(self) -> datetime:
        return self.at

    def advance(self, **delta: float) -> None:
        self.at += timedelta(**delta)


def seed_workers(
    db: Database, count: int, due_at: datetime | None, *, open_case: bool = True, first_chat: int = 10_000_000
) -> list[int]:
    """`count` Telegram workers (chat ids from `first_chat`), each with a case; with `due_at`, a
    default schedule due then. Bulk inserts, so 10,000 take a second. Returns the user ids."""
    with db.session() as session:
        team = session.scalar(select(Team).where(Team.name == "Bench")) or Team(name="Bench")
        session.add(team)
        session.flush()
        base = session.scalar(select(func.count(User.id))) or 0
        now = datetime.now(UTC)
        session.execute(
            insert(User),
            [
                {
                    "pseudonym": f"worker-{base + i}",
                    "channel": "telegram",
                    "chat_id": first_chat + i,
                    "role": Role.WORKER.value,
                    "team_id": team.id,
                    "registered_at": now,
                }
                for i in range(count)
            ],
        )
        users = session.execute(
            select(User.id, User.pseudonym).where(
                User.chat_id >= first_chat, User.chat_id < first_chat + count
            )
        ).all()
        session.execute(
            insert(Case),
            [
                {
                    "owner": pseudonym,
                    "label": "cliënt A",
                    "status": "open" if open_case else "closed",
                    "flows": {},
                    "created_at": now,
                    "updated_at": now,
                }
                for _, pseudonym in users
            ],
        )
        if due_at is not None:
            for user_id, _ in users:
                row = nudges.new_schedule(user_id, due_at)
                row.next_due_at = due_at
                session.add(row)
        return [user_id for user_id, _ in users]


@contextlib.contextmanager
def migrated(url: str) -> Iterator[Database]:
    """A database with the schema up to date, disposed of afterwards."""
    database = Database(url)
    database.migrate()
    try:
        yield database
    finally:
        database.dispose()


@pytest.fixture
def db(tmp_path: Path) -> Iterator[Database]:
    with migrated(f"sqlite:///{tmp_path / 'app.db'}") as database:
        yield database


def bot_for(api: FakeBotApi, config: DispatchConfig = FAST) -> Bot:
    return make_bot(api.token, api.url, config)


def statuses(db: Database) -> dict[str, int]:
    with db.session() as session:
        rows = session.execute(select(NudgeDispatch.status, func.count()).group_by(NudgeDispatch.status))
        return {status: count for status, count in rows}


def schedule(db: Database, user_id: int) -> NudgeSchedule:
    with db.session() as session:
        row = session.scalar(select(NudgeSchedule).where(NudgeSchedule.user_id == user_id))
        assert row is not None
        return row


async def run(db: Database, api: FakeBotApi, clock: Clock, config: DispatchConfig = FAST) -> NudgeDispatcher:
    async with bot_for(api, config) as bot:
        dispatcher = NudgeDispatcher(db, bot, config, clock=clock)
        await dispatcher.run_once()
    return dispatcher


# --- schedules and sending ---------------------------------------------------------------------


def test_only_workers_with_an_open_case_get_the_default_schedule(db: Database) -> None:
    with_case = seed_workers(db, 2, None)
    closed = seed_workers(db, 1, None, open_case=False, first_chat=20_000_000)
    with db.session() as session:
        supervisor = User(pseudonym="sup", channel="telegram", chat_id=5, role="supervisor", team_id=1)
        session.add(supervisor)
        session.flush()
        session.add(Case(owner="sup", label="cliënt B", status="open", flows={}))
    wednesday = FRIDAY_3PM - timedelta(days=2)
    with db.session() as session:
        assert nudges.ensure_defaults(session, wednesday) == 2
    with db.session() as session:
        assert nudges.ensure_defaults(session, wednesday) == 0  # once only
        rows = session.scalars(select(NudgeSchedule)).all()
    assert sorted(r.user_id for r in rows) == with_case and closed[0] not in {r.user_id for r in rows}
    assert all(r.next_due_at == FRIDAY_3PM and r.rhythm == "weekly" for r in rows)


async def test_a_due_nudge_is_sent_once_with_its_buttons_and_recorded(db: Database, api: FakeBotApi) -> None:
    (user_id,) = seed_workers(db, 1, FRIDAY_3PM)
    clock = Clock(FRIDAY_3PM - timedelta(minutes=1))
    await run(db, api, clock)
    assert api.calls_of("sendMessage") == []  # not yet due

    clock.advance(minutes=1, seconds=2)
    await run(db, api, clock)
    await run(db, api, clock)  # a second round (or a second process) sends nothing more

    (call,) = api.calls_of("sendMessage")
    assert call.params["chat_id"] == 10_000_000
    assert "reflectie" in call.params["text"]
    buttons = [b for row in call.params["reply_markup"]["inline_keyboard"] for b in row]
    assert [b["text"] for b in buttons] == ["Nu reflecteren", "Later", "Niet meer"]
    assert [b["callback_data"] for b in buttons] == ["bot:nudge:now", "bot:nudge:later", "bot:nudge:never"]
    assert statuses(db) == {"sent": 1}
    assert schedule(db, user_id).next_due_at == FRIDAY_3PM + timedelta(weeks=1)
    with db.session() as session:
        stored = session.scalars(select(Message).where(Message.user_id == user_id)).all()
    assert [(m.kind, m.status, m.flow) for m in stored] == [("nudge", "sent", "nudge")]


async def test_after_a_restart_a_nudge_under_12_hours_late_is_sent_and_an_older_one_skipped(
    db: Database, api: FakeBotApi
) -> None:
    recent, old = seed_workers(db, 2, FRIDAY_3PM)
    with db.session() as session:  # the second worker chose 09:00: due 14 hours before the restart
        session.execute(
            update(NudgeSchedule)
            .where(NudgeSchedule.user_id == old)
            .values(local_time=time(9, 0), next_due_at=FRIDAY_3PM - timedelta(hours=6))
        )
    clock = Clock(FRIDAY_3PM + timedelta(hours=8))  # the bot was down from Friday morning until 23:00

    await run(db, api, clock)

    assert list(api.per_chat()) == [10_000_000]  # only the recent one
    with db.session() as session:
        rows = {r.user_id: r for r in session.scalars(select(NudgeDispatch))}
    assert rows[recent].status == "sent"
    assert (rows[old].status, rows[old].note) == ("skipped", "late")
    assert schedule(db, recent).next_due_at == FRIDAY_3PM + timedelta(weeks=1)
    assert schedule(db, old).next_due_at == FRIDAY_3PM + timedelta(weeks=1, hours=-6)  # 09:00 next Friday


async def test_occurrences_missed_while_down_are_sent_once_not_each(db: Database, api: FakeBotApi) -> None:
    (user_id,) = seed_workers(db, 1, FRIDAY_3PM - timedelta(days=4))  # Monday 15:00
    with db.session() as session:
        session.execute(update(NudgeSchedule).values(rhythm="workdays"))
    clock = Clock(FRIDAY_3PM + timedelta(hours=1))  # down Monday to Friday 16:00

    await run(db, api, clock)

    assert len(api.calls_of("sendMessage")) == 1
    with db.session() as session:
        rows = session.scalars(select(NudgeDispatch).order_by(NudgeDispatch.due_at)).all()
    assert [(r.status, r.note) for r in rows] == [("skipped", "late")] * 4 + [("sent", None)]  # Mon-Thu, Fri
    assert schedule(db, user_id).next_due_at == FRIDAY_3PM + timedelta(days=3)  # Monday


async def test_a_worker_without_an_open_case_gets_no_nudge(db: Database, api: FakeBotApi) -> None:
    (user_id,) = seed_workers(db, 1, FRIDAY_3PM, open_case=False)
    await run(db, api, Clock(FRIDAY_3PM + timedelta(seconds=5)))
    assert api.calls_of("sendMessage") == [] and statuses(db) == {}
    assert schedule(db, user_id).next_due_at == FRIDAY_3PM + timedelta(weeks=1)


# --- Telegram's limits and errors -----------------------------------------------------------------


async def test_sends_stay_within_the_overall_and_per_chat_rate(db: Database, api: FakeBotApi) -> None:
    seed_workers(db, 40, FRIDAY_3PM)
    (twice,) = seed_workers(db, 1, FRIDAY_3PM, first_chat=30_000_000)
    with db.session() as session:  # a second nudge for one chat (e.g. a snooze), due together
        session.add(NudgeDispatch(user_id=twice, due_at=FRIDAY_3PM - timedelta(minutes=5), status="due"))
    config = DispatchConfig(max_rate=14.0, max_per_second=13, batch=50)

    await run(db, api, Clock(FRIDAY_3PM + timedelta(seconds=1)), config)

    assert statuses(db) == {"sent": 42}
    # At most 13 started in any second by the sender (without the limits: hundreds); timed at
    # the fake's end, where the requests may arrive a little closer together.
    assert api.per_second_peak("sendMessage") <= 15
    first, second = api.per_chat()[30_000_000]
    assert second.at - first.at >= 0.9  # one a second per chat (timed at the fake's side)


async def test_the_pacer_keeps_its_pace_after_a_stall_without_passing_its_cap() -> None:
    pacer = Pacer(rate=20.0, cap=22, credit=6)
    starts: list[float] = []
    for number in range(60):
        if number == 10:
            sleep(0.2)  # the event loop is held up: 4 slots pass unused
        await pacer.wait()
        starts.append(monotonic())
    # On a timeline 50 ms apart from the first send: never ahead of it (no burst at the start).
    assert all(starts[i] - starts[0] >= i * 0.05 - 0.002 for i in range(10))
    # The slots missed in the stall are made up at once (else 150 ms for these three gaps).
    assert starts[13] - starts[10] < 0.075
    peak = max(sum(1 for t in starts if s <= t < s + 1.0) for s in starts)
    assert peak <= 22  # catching up never passes the cap


async def test_retry_after_holds_every_send_back_and_the_nudge_goes_once(
    db: Database, api: FakeBotApi
) -> None:
    seed_workers(db, 6, FRIDAY_3PM)
    api.fail_at("sendMessage", 3, BotApiError(429, "Too Many Requests: retry after 1", retry_after=1))

    spaced = replace(FAST, max_rate=20.0, concurrency=1)  # one at a time: none under way at the 429
    dispatcher = await run(db, api, Clock(FRIDAY_3PM + timedelta(seconds=1)), spaced)

    calls = api.calls_of("sendMessage")
    refused = next(c for c in calls if c.error)
    later = [c for c in calls if c.index > refused.index]
    assert len(later) == 4 and all(c.at - refused.at >= 0.95 for c in later)  # all waited
    assert sorted(len(v) for v in api.per_chat().values()) == [1] * 6
    assert dispatcher.total.retry_after == 1 and statuses(db) == {"sent": 6}


async def test_a_worker_who_blocked_the_bot_fails_alone(db: Database, api: FakeBotApi) -> None:
    seed_workers(db, 3, FRIDAY_3PM)
    api.fail_at("sendMessage", 2, BotApiError(403, "Forbidden: bot was blocked by the user"))
    await run(db, api, Clock(FRIDAY_3PM + timedelta(seconds=1)))
    assert statuses(db) == {"sent": 2, "failed": 1}
    with db.session() as session:
        assert session.scalar(select(NudgeDispatch.note).where(NudgeDispatch.status == "failed")).startswith(
            "Forbidden"
        )


# --- more than one process, restarts, crashes ----------------------------------------------------


def _dispatch_in_thread(url: str, api: FakeBotApi, clock: Clock, name: str, sent: dict[str, int]) -> None:
    """One dispatcher process, as it were: its own engine and event loop, rounds until idle."""

    async def main() -> None:
        db = Database(url)
        try:
            async with bot_for(api) as bot:
                # 100/s each: slow enough that both are at work at the same time
                dispatcher = NudgeDispatcher(db, bot, replace(FAST, max_rate=100.0), clock=clock, name=name)
                for _ in range(500):  # rounds until every nudge is settled (by either dispatcher)
                    if not (await dispatcher.run_once()).sent:
                        if not set(statuses(db)) & {"due", "claimed", "sending"}:
                            break
                        await asyncio.sleep(0.01)
                sent[name] = dispatcher.total.sent
        finally:
            db.dispose()

    asyncio.run(main())


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
async def test_two_dispatchers_on_one_database_send_each_nudge_exactly_once(
    backend: str, tmp_path: Path, api: FakeBotApi, request: pytest.FixtureRequest
) -> None:
    url = (
        request.getfixturevalue("postgres_url")
        if backend == "postgresql"
        else f"sqlite:///{tmp_path / 'a.db'}"
    )
    with migrated(url) as db:
        seed_workers(db, 150, FRIDAY_3PM)
        clock = Clock(FRIDAY_3PM + timedelta(seconds=1))
        sent: dict[str, int] = {}
        threads = [
            threading.Thread(target=_dispatch_in_thread, args=(url, api, clock, name, sent))
            for name in ("a", "b")
        ]
        await asyncio.to_thread(lambda: [t.start() for t in threads] and [t.join(120) for t in threads])

        chats = api.per_chat()
        assert len(chats) == 150 and all(len(calls) == 1 for calls in chats.values())
        assert statuses(db) == {"sent": 150} and sum(sent.values()) == 150
        assert min(sent.values()) > 0, sent  # both took part


async def test_a_restart_mid_run_loses_nothing_and_doubles_nothing(db: Database, api: FakeBotApi) -> None:
    seed_workers(db, 80, FRIDAY_3PM)
    clock = Clock(FRIDAY_3PM + timedelta(seconds=1))
    config = replace(FAST, max_rate=100.0)
    async with bot_for(api, config) as bot:
        first = NudgeDispatcher(db, bot, config, clock=clock, name="before")
        stop = asyncio.Event()

        async def stop_after_30() -> None:
            await api.async_wait_for("sendMessage", count=30)
            stop.set()  # SIGTERM: the process stops mid-run

        await asyncio.gather(first.run_once(keep_going=lambda: not stop.is_set()), stop_after_30())
    assert 30 <= first.total.sent < 80
    assert statuses(db).get("claimed", 0) == 0  # what it claimed but didn't send, it gave back

    await run(db, api, clock, config)  # the new process

    chats = api.per_chat()
    assert len(chats) == 80 and all(len(calls) == 1 for calls in chats.values())
    assert statuses(db) == {"sent": 80}


async def test_after_a_crash_claimed_nudges_are_sent_but_one_maybe_sent_is_not_repeated(
    db: Database, api: FakeBotApi
) -> None:
    claimed, sending = seed_workers(db, 2, None)
    crash = FRIDAY_3PM + timedelta(seconds=5)
    with db.session() as session:  # a dispatcher died: one nudge only claimed, one handed to Telegram
        for user_id, status in ((claimed, "claimed"), (sending, "sending")):
            session.add(
                NudgeDispatch(
                    user_id=user_id, due_at=FRIDAY_3PM, status=status, claimed_by="dead", claimed_at=crash
                )
            )
    clock = Clock(crash + timedelta(minutes=1))
    await run(db, api, clock)
    assert api.calls_of("sendMessage") == []  # the claims might still be alive: wait

    clock.advance(minutes=5)  # past the claim TTL
    await run(db, api, clock)

    assert list(api.per_chat()) == [10_000_000]
    with db.session() as session:
        rows = {r.user_id: (r.status, r.note) for r in session.scalars(select(NudgeDispatch))}
    assert rows == {claimed: ("sent", None), sending: ("failed", "uncertain")}


def test_erasing_a_worker_removes_their_schedule_and_nudges(db: Database) -> None:
    (user_id,) = seed_workers(db, 1, FRIDAY_3PM)
    with db.session() as session:
        session.add(NudgeDispatch(user_id=user_id, due_at=FRIDAY_3PM, status="sent"))
    with db.session() as session:
        user = session.get(User, user_id)
        assert user is not None
        erase(session, user)
    with db.session() as session:
        assert session.scalar(select(func.count(NudgeSchedule.id))) == 0
        assert session.scalar(select(func.count(NudgeDispatch.id))) == 0


def test_the_unique_key_refuses_a_second_record_of_one_nudge(db: Database) -> None:
    (user_id,) = seed_workers(db, 1, None)
    with db.session() as session:
        session.add(NudgeDispatch(user_id=user_id, due_at=FRIDAY_3PM, status=DispatchStatus.SENT.value))
    with pytest.raises(Exception, match=r"(?i)unique"), db.session() as session:
        session.add(NudgeDispatch(user_id=user_id, due_at=FRIDAY_3PM, status=DispatchStatus.DUE.value))


def test_the_dispatcher_runs_on_its_own_and_stops_cleanly_on_sigterm(tmp_path: Path, api: FakeBotApi) -> None:
    url = f"sqlite:///{tmp_path / 'app.db'}"
    with migrated(url) as db:
        seed_workers(db, 3, datetime.now(UTC) - timedelta(minutes=1))
        env = os.environ | {
            "DEUROPENER_DATA_DIR": str(tmp_path),
            "DATABASE_URL": url,
            "TELEGRAM_BOT_TOKEN": api.token,
            "TELEGRAM_API_BASE_URL": api.url,
        }
        process = subprocess.Popen(
            [sys.executable, "-m", "bot.nudge_dispatch"], cwd=ROOT, env=env, stderr=subprocess.PIPE
        )
        try:
            api.wait_for("sendMessage", count=3, timeout=60)
        finally:
            process.send_signal(signal.SIGTERM)
            _, errors = process.communicate(timeout=30)
        assert process.returncode == 0, errors.decode()[-2000:]
        assert sorted(api.per_chat()) == [10_000_000, 10_000_001, 10_000_002]
        assert statuses(db) == {"sent": 3}
