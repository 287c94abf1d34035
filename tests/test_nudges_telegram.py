"""The nudge as a worker meets it: its buttons, /nudges, and the reflection it starts.

Unit tests of the answers (a controllable clock, a stub Rasa on loopback for
`trigger_intent`), then end to end: the real PTB bot against the fake Bot API — a worker
with an open case gets the nudge at the due time, snoozes it for an hour and gets it again,
stops it, and changes the rhythm with /nudges. The last test starts the reflection in the
real Rasa from the nudge's "Nu reflecteren".
"""

from __future__ import annotations

import json
import threading
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
from sqlalchemy import select, update

from bot import access, inbound, nudges, texts
from bot.access import LOCAL_CHANNEL
from bot.chat import TerminalOutlet, render, resolve, say
from bot.conversation import Conversation
from bot.db import Database
from bot.inbound import Local
from bot.models import NudgeSchedule, Role, User
from bot.rasa_client import RasaClient
from bot.replies import Reply
from bot.telegram_app import CHANNEL
from storage.cases import CaseRepository
from tests.bot_harness import TelegramUser, buttons_of, invite, make_settings, running_bot
from tests.fake_bot_api import ApiCall, FakeBotApi
from tests.rasa_stack import RasaStack
from tests.test_nudge_dispatch import FRIDAY_3PM, Clock, migrated, seed_workers

WEDNESDAY = FRIDAY_3PM - timedelta(days=2)  # Wednesday 2 December 2026, 15:00 Amsterdam


@pytest.fixture
def db(tmp_path: Path) -> Iterator[Database]:
    with migrated(f"sqlite:///{tmp_path / 'app.db'}") as database:
        yield database


@pytest.fixture
def worker(db: Database) -> User:
    (user_id,) = seed_workers(db, 1, None)
    with db.session() as session:
        user = session.get(User, user_id)
        assert user is not None
        return user


def tap(db: Database, user: User, data: str, at: datetime) -> list[Reply]:
    """Tap a nudge button (its callback data) at `at`; the bot's answer."""
    message = inbound.tapped(data, None)
    assert message.payload is not None and nudges.is_action(message.payload), data
    with db.session() as session:
        return nudges.answer_locally(session, user, message.payload, at)


def titles(reply: Reply) -> dict[str, str]:
    return {b.title: b.payload for b in reply.buttons}


def stored(db: Database, user: User) -> NudgeSchedule:
    with db.session() as session:
        row = session.scalar(select(NudgeSchedule).where(NudgeSchedule.user_id == user.id))
        assert row is not None
        return row


# --- the answers -------------------------------------------------------------------------------


def test_nudges_shows_the_setting_in_one_line_with_buttons(db: Database, worker: User) -> None:
    command = inbound.typed("/nudges")
    assert command.payload == Local.NUDGES
    with db.session() as session:
        (reply,) = nudges.answer_locally(session, worker, str(command.payload), WEDNESDAY)
    assert reply.text == (
        "Herinnering om te reflecteren: elke week op vrijdag om 15:00. "
        "Stille uren: 20:00–08:00 en het weekend."
    )
    assert "\n" not in reply.text
    assert list(titles(reply)) == ["Dag", "Tijd", "Hoe vaak", "Pauzeren", "Stoppen"]
    assert all(len(b.payload.encode()) <= 64 for b in reply.buttons)


def test_looking_at_nudges_without_an_open_case_stores_no_schedule(db: Database) -> None:
    (user_id,) = seed_workers(db, 1, None, open_case=False)
    with db.session() as session:
        user = session.get(User, user_id)
        assert user is not None
        (reply,) = nudges.answer_locally(session, user, "nudge:settings", WEDNESDAY)
    assert reply.text.endswith("Je krijgt ze zodra je een open cliënt hebt.")
    with db.session() as session:
        assert session.scalar(select(NudgeSchedule)) is None


def test_day_time_and_rhythm_change_the_next_nudge(db: Database, worker: User) -> None:
    (days,) = tap(db, worker, "bot:nudge:day", WEDNESDAY)
    assert list(titles(days)) == ["Maandag", "Dinsdag", "Woensdag", "Donderdag", "Vrijdag"]
    (changed,) = tap(db, worker, titles(days)["Maandag"], WEDNESDAY)
    assert changed.text.startswith("Aangepast. Herinnering om te reflecteren: elke week op maandag om 15:00.")
    assert stored(db, worker).next_due_at == datetime(2026, 12, 7, 14, 0, tzinfo=UTC)

    (times,) = tap(db, worker, "bot:nudge:time", WEDNESDAY)
    assert list(titles(times)) == ["09:00", "11:00", "13:00", "15:00", "17:00"]
    tap(db, worker, titles(times)["09:00"], WEDNESDAY)
    assert stored(db, worker).next_due_at == datetime(2026, 12, 7, 8, 0, tzinfo=UTC)

    (rhythms,) = tap(db, worker, "bot:nudge:rhythm", WEDNESDAY)
    assert list(titles(rhythms)) == ["Elke werkdag", "Elke week", "Om de week", "Eens per maand"]
    (daily,) = tap(db, worker, titles(rhythms)["Elke werkdag"], WEDNESDAY)
    assert "elke werkdag om 09:00" in daily.text
    assert stored(db, worker).next_due_at == datetime(2026, 12, 3, 8, 0, tzinfo=UTC)  # Thursday
    tap(db, worker, titles(rhythms)["Eens per maand"], WEDNESDAY)
    assert stored(db, worker).next_due_at == datetime(2026, 12, 28, 8, 0, tzinfo=UTC)  # last Monday


def test_pause_stop_and_restart(db: Database, worker: User) -> None:
    (pauses,) = tap(db, worker, "bot:nudge:pause", WEDNESDAY)
    assert list(titles(pauses)) == ["1 week", "2 weken", "1 maand"]
    (paused,) = tap(db, worker, titles(pauses)["2 weken"], WEDNESDAY)
    assert "(gepauzeerd tot woensdag 16 december)" in paused.text
    assert "Weer aanzetten" in titles(paused)
    assert stored(db, worker).next_due_at == datetime(2026, 12, 18, 14, 0, tzinfo=UTC)

    (stopped,) = tap(db, worker, "bot:nudge:stop", WEDNESDAY)
    assert "(staat uit)" in stopped.text and "Stoppen" not in titles(stopped)
    assert stored(db, worker).next_due_at is None

    (restarted,) = tap(db, worker, "bot:nudge:restart", WEDNESDAY)
    assert "staat uit" not in restarted.text and "gepauzeerd" not in restarted.text
    assert stored(db, worker).next_due_at == FRIDAY_3PM


def test_later_offers_an_hour_or_tomorrow_morning_within_quiet_hours(db: Database, worker: User) -> None:
    (later,) = tap(db, worker, "bot:nudge:later", FRIDAY_3PM)
    assert later.text == texts.NUDGE_WHEN
    assert list(titles(later)) == ["Over een uur", "Morgenochtend"]
    (hour,) = tap(db, worker, titles(later)["Over een uur"], FRIDAY_3PM)
    assert hour.text == "Goed, ik herinner je er vrijdag 4 december om 16:00 weer aan."
    assert stored(db, worker).next_due_at == FRIDAY_3PM + timedelta(hours=1)
    # Friday 19:30: an hour later is quiet, and so is the weekend.
    (evening,) = tap(db, worker, titles(later)["Over een uur"], FRIDAY_3PM + timedelta(hours=4, minutes=30))
    assert evening.text == "Goed, ik herinner je er maandag 7 december om 08:00 weer aan."
    (morning,) = tap(db, worker, titles(later)["Morgenochtend"], FRIDAY_3PM)
    assert morning.text == "Goed, ik herinner je er maandag 7 december om 09:00 weer aan."


def test_never_stops_the_nudges_and_a_later_snooze_says_so(db: Database, worker: User) -> None:
    (stopped,) = tap(db, worker, "bot:nudge:never", FRIDAY_3PM)
    assert stopped.text == texts.NUDGE_STOPPED
    assert stored(db, worker).stopped and stored(db, worker).next_due_at is None
    (late_tap,) = tap(db, worker, "bot:nudge:snooze:hour", FRIDAY_3PM)  # an old nudge's button
    assert late_tap.text == texts.NUDGE_ALREADY_STOPPED
    assert stored(db, worker).next_due_at is None


@pytest.mark.parametrize(
    "data", ["bot:nudge:day:6", "bot:nudge:time:0300", "bot:nudge:rhythm:yearly", "bot:nudge:x"]
)
def test_a_nudge_button_that_makes_no_sense_gets_a_friendly_answer(
    db: Database, worker: User, data: str
) -> None:
    (reply,) = tap(db, worker, data, WEDNESDAY)
    assert reply.text == texts.STALE_BUTTON
    assert stored(db, worker).weekday == 4 and stored(db, worker).next_due_at == FRIDAY_3PM


def test_malformed_nudge_data_is_a_stale_button() -> None:
    assert inbound.tapped("bot:nudge:day:4", "Vrijdag").payload == "nudge:day:4"
    for data in ("bot:nudge:", "bot:nudge:Day:4", "bot:nudge:day:4:5", "bot:nudge:day:../../x"):
        assert inbound.tapped(data, None).payload == Local.STALE_BUTTON, data


async def test_nudges_in_the_local_chat_with_numbered_buttons(
    tmp_path: Path, db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(nudges, "now", Clock(WEDNESDAY))
    rasa = RasaClient("http://127.0.0.1:9")  # not needed: the bot answers /nudges itself
    conversation = Conversation(db, rasa, access.Pseudonyms(b"key"), LOCAL_CHANNEL)
    outlet = TerminalOutlet(tmp_path)
    try:
        text, buttons = render(await say(conversation, outlet, "me", resolve("/nudges", [])))
        assert text.startswith("Herinnering om te reflecteren: elke week op vrijdag om 15:00.")
        assert "[3] Hoe vaak" in text
        text, buttons = render(await say(conversation, outlet, "me", resolve("3", buttons)))
        assert text.startswith("Hoe vaak?") and "[3] Om de week" in text
        text, _ = render(await say(conversation, outlet, "me", resolve("3", buttons)))
    finally:
        await rasa.aclose()
    assert "Aangepast. Herinnering om te reflecteren: om de week op vrijdag om 15:00." in text
    with db.session() as session:
        row = session.scalar(select(NudgeSchedule))
        assert row is not None and row.rhythm == "biweekly" and row.next_due_at == FRIDAY_3PM


# --- "Nu reflecteren" against a stub Rasa ------------------------------------------------------


class StubRasa:
    """Rasa's HTTP API on loopback, answering trigger_intent as Rasa does (status configurable)."""

    def __init__(self, status: int = 200, messages: list[dict[str, Any]] | None = None) -> None:
        self.requests: list[tuple[str, dict[str, Any]]] = []
        stub = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                stub.requests.append((self.path, body))
                answer = {"tracker": {}, "messages": messages or []} if status == 200 else {"message": "nope"}
                data = json.dumps(answer).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()


async def test_reflect_now_triggers_the_reflection_intent_and_returns_rasas_messages(
    db: Database, worker: User
) -> None:
    question = {
        "recipient_id": worker.pseudonym,
        "text": "Over welke cliënt?",
        "buttons": [{"title": "cliënt A", "payload": "/x"}],
    }
    stub = StubRasa(messages=[question])
    rasa = RasaClient(stub.url, auth_token="secret")
    try:
        replies, flow = await nudges.answer("nudge:now", worker, db, rasa)
    finally:
        await rasa.aclose()
        stub.close()
    assert (
        replies == [Reply("Over welke cliënt?", (nudges.Button("cliënt A", "/x"),))] and flow == "reflection"
    )
    ((path, body),) = stub.requests
    assert path == f"/conversations/{worker.pseudonym}/trigger_intent?token=secret"
    assert body == {"name": "start_reflection"}


@pytest.mark.parametrize("status", [404, 500, None])
async def test_when_rasa_cannot_start_the_reflection_the_worker_can_try_again(
    db: Database, worker: User, status: int | None
) -> None:
    stub = StubRasa(status=status or 200)
    url = stub.url if status else "http://127.0.0.1:9"  # None: nothing listens
    rasa = RasaClient(url)
    try:
        (reply,), flow = await nudges.answer("nudge:now", worker, db, rasa)
    finally:
        await rasa.aclose()
        stub.close()
    assert reply.text == texts.NUDGE_RASA_AWAY and flow == "nudge"
    assert titles(reply) == {"Nu reflecteren": "bot:nudge:now"}


# --- end to end on Telegram ----------------------------------------------------------------------


def register(user: TelegramUser, role: Role = Role.WORKER) -> None:
    """Register the Telegram user as `/start CODE` would (no Rasa needed for that here)."""
    code = invite(user.settings, role)
    with user.db.session() as session:
        assert access.redeem(session, code, pseudonym=user.pseudonym, channel=CHANNEL, chat_id=user.user_id)


async def nudge_after(user: TelegramUser, mark: int) -> ApiCall:
    return await user.answer_with("Tijd om even stil te staan", after=mark, timeout=20)


@pytest_asyncio.fixture
async def telegram_worker(
    tmp_path: Path, api: FakeBotApi, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[tuple[TelegramUser, Clock]]:
    """A worker with an open case on the real bot (no Rasa: nothing here needs it); the clock
    every nudge decision reads is the test's, starting on a Thursday."""
    clock = Clock(FRIDAY_3PM - timedelta(days=1))
    monkeypatch.setattr(nudges, "now", clock)
    monkeypatch.setenv("NUDGE_INTERVAL_SECONDS", "0.2")
    settings = make_settings(tmp_path, api, "http://127.0.0.1:9")
    async with running_bot(settings, api) as user:
        register(user)
        CaseRepository(owner=user.pseudonym, url=settings.database_url).create("cliënt A")
        yield user, clock


async def test_nudged_at_the_due_time_snoozed_for_an_hour_stopped_and_rhythm_changed(
    telegram_worker: tuple[TelegramUser, Clock], api: FakeBotApi
) -> None:
    user, clock = telegram_worker
    await api.async_wait_idle(1.0)
    assert api.sent_texts() == []  # Thursday: nothing due yet

    mark = api.mark()
    clock.at = FRIDAY_3PM + timedelta(seconds=1)  # the default: Friday 15:00
    nudge = await nudge_after(user, mark)
    assert nudge.params["chat_id"] == user.user_id
    assert list(buttons_of(nudge)) == ["Nu reflecteren", "Later", "Niet meer"]

    mark = await user.tap_title(nudge, "Later")
    when = await user.answer_with("Wanneer zal ik je er weer aan herinneren?", after=mark)
    assert api.calls_of("editMessageReplyMarkup", after=mark)  # the nudge's buttons are gone
    mark = await user.tap_title(when, "Over een uur")
    await user.answer_with("Goed, ik herinner je er vrijdag 4 december om 16:00 weer aan.", after=mark)
    await api.async_wait_idle(1.0)
    assert "Tijd om even stil te staan" not in user.texts(mark)  # not before the hour is up

    mark = api.mark()
    clock.advance(hours=1)
    again = await nudge_after(user, mark)  # snoozed, sent again

    mark = await user.tap_title(again, "Niet meer")
    await user.answer_with("ik stuur je geen herinneringen meer", after=mark)
    mark = api.mark()
    clock.advance(weeks=1)  # next Friday: nothing
    await api.async_wait_idle(1.5)
    assert user.texts(mark) == ""

    mark = await user.send("/nudges")
    setting = await user.answer_with("Herinnering om te reflecteren: elke week op vrijdag", after=mark)
    assert "(staat uit)" in setting.params["text"]
    mark = await user.tap_title(setting, "Hoe vaak")
    rhythms = await user.answer_with("Hoe vaak?", after=mark)
    mark = await user.tap_title(rhythms, "Elke werkdag")
    changed = await user.answer_with("Aangepast.", after=mark)
    assert "elke werkdag om 15:00 (staat uit)" in changed.params["text"]
    mark = await user.tap_title(changed, "Weer aanzetten")
    await user.answer_with("Aangepast. Herinnering om te reflecteren: elke werkdag om 15:00.", after=mark)

    mark = api.mark()
    clock.advance(days=3)  # Monday 15:00 (+1 h): every workday now
    monday = await nudge_after(user, mark)
    assert monday.params["chat_id"] == user.user_id
    with user.db.session() as session:
        schedule = session.scalar(select(NudgeSchedule))
        assert schedule is not None and schedule.rhythm == "workdays"
        assert schedule.next_due_at == FRIDAY_3PM + timedelta(days=11)  # Tuesday 15 December


@pytest.mark.integration
async def test_reflect_now_starts_the_reflection_in_rasa(
    tmp_path: Path, api: FakeBotApi, rasa_stack: RasaStack, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("NUDGE_INTERVAL_SECONDS", "0.2")
    # the action server's database: it reads the cases
    settings = make_settings(tmp_path, api, rasa_stack, database_url=rasa_stack.database_url)
    async with running_bot(settings, api) as user:
        await user.register()
        cases = CaseRepository(owner=user.pseudonym, url=settings.database_url)
        cases.create("cliënt A"), cases.create("gezin B")
        account = user.account()
        assert account is not None
        mark = api.mark()
        with user.db.session() as session:  # the nudge falls due now
            session.add(nudges.new_schedule(account.id, datetime.now(UTC)))
            session.execute(
                update(NudgeSchedule)
                .where(NudgeSchedule.user_id == account.id)
                .values(next_due_at=datetime.now(UTC) - timedelta(seconds=1))
            )
        nudge = await nudge_after(user, mark)

        mark = await user.tap_title(nudge, "Nu reflecteren")
        pick = await user.answer_with("Over welke cliënt wil je reflecteren?", after=mark)
        assert {"cliënt A", "gezin B"} <= set(buttons_of(pick))
        said = user.transcript()
        assert any(m.flow == "reflection" and m.direction == "out" for m in said)
