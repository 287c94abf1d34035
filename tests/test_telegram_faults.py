"""Faults, end to end: Rasa or the action server away or slow, a bot killed mid-conversation,
webhook mode. Nothing a worker sends may be lost or silently dropped.

A TCP proxy stands between the bot and Rasa (and between Rasa and the action server) so a
test can switch the other side off and on without restarting the slow-to-load Rasa server.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select

from bot.conversation import Conversation
from bot.db import Database
from bot.models import Message
from tests.bot_harness import TelegramUser, invite, make_settings, running_bot
from tests.conftest import ROOT, free_port
from tests.fake_bot_api import FakeBotApi
from tests.rasa_stack import RasaStack
from tests.tcp_proxy import TcpProxy

UNAVAILABLE = "Ik ben even niet bereikbaar"
BACK = "Ik ben er weer"
ADVICE = "Mijn voorstel: Nut bewijzen"
DISTRUSTFUL = "mevrouw is erg wantrouwig en doet de deur niet open"


@pytest.fixture
def rasa_proxy(rasa_stack: RasaStack) -> Iterator[TcpProxy]:
    """The bot's way to Rasa, switchable."""
    proxy = TcpProxy(int(rasa_stack.url.rsplit(":", 1)[1]))
    yield proxy
    proxy.close()


@pytest.fixture
def action_server(rasa_stack: RasaStack) -> Iterator[TcpProxy]:
    """Rasa's way to the action server, switchable; always switched back on afterwards."""
    yield rasa_stack.action_proxy
    rasa_stack.action_proxy.delay = 0
    rasa_stack.action_proxy.up()


def incoming(user: TelegramUser, text: str) -> Message:
    return next(m for m in user.transcript() if m.direction == "in" and m.text == text)


@pytest.mark.integration
async def test_rasa_down_then_back_the_message_is_answered_afterwards(
    tmp_path: Path, api: FakeBotApi, rasa_stack: RasaStack, rasa_proxy: TcpProxy
) -> None:
    settings = make_settings(tmp_path, api, rasa_stack, rasa_url=rasa_proxy.url)
    async with running_bot(settings, api) as worker:
        await worker.register()
        rasa_proxy.down()

        mark = await worker.send(DISTRUSTFUL)
        started = time.monotonic()
        notice = await worker.answer_with(UNAVAILABLE, after=mark, timeout=10)
        assert time.monotonic() - started < 5  # a refused connection is noticed at once
        assert "bewaard" in notice.params["text"] and "niet opnieuw te sturen" in notice.params["text"]
        await asyncio.sleep(1.5)  # a few retry rounds while Rasa is away: no new notices
        assert worker.texts(mark).count(UNAVAILABLE) == 1
        assert incoming(worker, DISTRUSTFUL).status == "pending"

        mark_back = worker.api.mark()
        rasa_proxy.up()
        late = await worker.answer_with(ADVICE, after=mark_back, timeout=30)
        texts = worker.texts(mark_back)
        assert f"{BACK}. Hier is mijn antwoord op je bericht “{DISTRUSTFUL}”" in texts
        assert texts.index(BACK) < texts.index(ADVICE)
        assert "Bron:" in late.params["text"]
        assert incoming(worker, DISTRUSTFUL).status == "answered"
        assert incoming(worker, DISTRUSTFUL).intent == "describe_situation"


@pytest.mark.integration
async def test_messages_sent_while_rasa_is_down_are_answered_in_order(
    tmp_path: Path, api: FakeBotApi, rasa_stack: RasaStack, rasa_proxy: TcpProxy
) -> None:
    settings = make_settings(tmp_path, api, rasa_stack, rasa_url=rasa_proxy.url)
    async with running_bot(settings, api) as worker:
        await worker.register()
        rasa_proxy.down()
        mark = await worker.send("/help")
        await worker.answer_with(UNAVAILABLE, after=mark, timeout=10)
        await worker.send("/privacy")  # the bot's own answers don't need Rasa
        await worker.answer_with("Zo ga ik om met je gegevens", after=mark, timeout=10)
        await worker.send(DISTRUSTFUL)
        await worker.api.async_wait_idle(1.0)
        assert worker.texts(mark).count(UNAVAILABLE) == 2  # one notice per message that waits

        mark_back = worker.api.mark()
        rasa_proxy.up()
        await worker.answer_with(ADVICE, after=mark_back, timeout=30)
        texts = worker.texts(mark_back)
        assert texts.index("“/help”") < texts.index(f"“{DISTRUSTFUL}”")  # oldest first


@pytest.mark.integration
async def test_the_action_server_down_then_back(
    tmp_path: Path, api: FakeBotApi, rasa_stack: RasaStack, action_server: TcpProxy
) -> None:
    async with running_bot(make_settings(tmp_path, api, rasa_stack), api) as worker:
        await worker.register()
        action_server.down()
        mark = await worker.send(DISTRUSTFUL)  # answered by a custom action
        await worker.answer_with(UNAVAILABLE, after=mark, timeout=20)

        mark_back = worker.api.mark()
        action_server.up()
        await worker.answer_with(ADVICE, after=mark_back, timeout=30)
        assert BACK in worker.texts(mark_back)


@pytest.mark.integration
async def test_a_slow_rasa_says_so_and_delivers_the_answer_when_it_comes(
    tmp_path: Path, api: FakeBotApi, rasa_stack: RasaStack, rasa_proxy: TcpProxy
) -> None:
    settings = make_settings(tmp_path, api, rasa_stack, rasa_url=rasa_proxy.url, rasa_timeout=1.0)
    async with running_bot(settings, api) as worker:
        await worker.register()
        rasa_proxy.delay = 3.0
        mark = await worker.send(DISTRUSTFUL)
        started = time.monotonic()
        await worker.api.async_wait_for_text(UNAVAILABLE, after=mark, timeout=10)
        assert time.monotonic() - started < 2.0  # after the patience (1 s here, 10 s by default)
        await worker.answer_with(ADVICE, after=mark, timeout=30)
        assert time.monotonic() - started >= 3.0
        texts = worker.texts(mark)
        assert texts.count(ADVICE) == 1 and texts.index(UNAVAILABLE) < texts.index(BACK) < texts.index(ADVICE)


@pytest.mark.integration
async def test_typing_shows_while_a_slow_answer_is_on_its_way_and_not_before_a_quick_one(
    tmp_path: Path, api: FakeBotApi, rasa_stack: RasaStack, rasa_proxy: TcpProxy
) -> None:
    settings = make_settings(tmp_path, api, rasa_stack, rasa_url=rasa_proxy.url)
    async with running_bot(settings, api) as worker:
        await worker.register()
        mark = await worker.send("/privacy")  # the bot's own answer: there at once
        await worker.answer_with("Zo ga ik om met je gegevens", after=mark)
        assert worker.api.calls_of("sendChatAction", after=mark) == []

        rasa_proxy.delay = 1.5
        mark = await worker.send(DISTRUSTFUL)
        answer = await worker.answer_with(ADVICE, after=mark, timeout=30)
        actions = worker.api.calls_of("sendChatAction", after=mark)
        assert actions and actions[0].params["action"] == "typing"
        assert actions[0].index < answer.index  # shown while the worker waits


@pytest.mark.integration
async def test_a_message_pending_too_long_is_reported_as_not_processed(
    tmp_path: Path, api: FakeBotApi, rasa_stack: RasaStack, rasa_proxy: TcpProxy
) -> None:
    settings = make_settings(
        tmp_path, api, rasa_stack, rasa_url=rasa_proxy.url, pending_max_age=timedelta(seconds=2)
    )
    async with running_bot(settings, api) as worker:
        await worker.register()
        rasa_proxy.down()
        mark = await worker.send(DISTRUSTFUL)
        started = time.monotonic()
        await worker.answer_with(UNAVAILABLE, after=mark, timeout=10)
        notice = await worker.api.async_wait_for_text("niet kunnen verwerken", after=mark, timeout=15)
        assert time.monotonic() - started < 5  # 2 s, then the next retry round tells the worker
        assert f"“{DISTRUSTFUL}”" in notice.params["text"] and "nog een keer" in notice.params["text"]
        assert incoming(worker, DISTRUSTFUL).status == "failed"

        rasa_proxy.up()
        await asyncio.sleep(2)
        assert ADVICE not in worker.texts(mark)  # given up on means given up on: no late answer


# --- the bot as its own process -------------------------------------------------------------


def _bot_process(env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    with log.open("ab") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "bot", "telegram"],
            cwd=ROOT,
            env=os.environ | env,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
        )


def _wait_until(condition: object, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if callable(condition) and condition():
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


@pytest.mark.integration
def test_a_bot_killed_mid_conversation_loses_nothing(
    tmp_path: Path, api: FakeBotApi, rasa_stack: RasaStack, rasa_proxy: TcpProxy
) -> None:
    env = {
        "TELEGRAM_BOT_TOKEN": api.token,
        "TELEGRAM_API_BASE_URL": api.url,
        "RASA_URL": rasa_proxy.url,
        "RASA_AUTH_TOKEN": rasa_stack.token,
        "ACTION_SERVER_URL": rasa_stack.action_url,
        "RASA_TRACKER_DB": str(rasa_stack.tracker_db),
        "DEUROPENER_DATA_DIR": str(tmp_path),
        "RETRY_INTERVAL_SECONDS": "0.5",
    }
    log = tmp_path / "bot.log"
    settings = make_settings(tmp_path, api, rasa_stack)
    db = Database(f"sqlite:///{tmp_path / 'deuropener.db'}")
    user = 5550001
    bot = _bot_process(env, log)
    try:
        api.push_text(user, f"/start {invite(settings)}")
        api.wait_for_text("Hiermee kan ik je helpen", timeout=90)
        api.wait_idle(1.0)

        rasa_proxy.delay = 2.0  # the next message is still on its way to Rasa ...
        mark = api.mark()
        api.push_text(user, DISTRUSTFUL)

        def stored() -> bool:
            with db.session() as session:
                return any(m.text == DISTRUSTFUL for m in session.scalars(select(Message)))  # encrypted

        _wait_until(stored, 30, "the message to be stored")
        bot.send_signal(signal.SIGKILL)  # ... when the bot dies
        bot.wait(10)
        assert api.calls_of("sendMessage", after=mark) == []

        api.push_text(user, "/privacy")  # sent while the bot is down
        time.sleep(3)  # Rasa gets and answers the first message meanwhile (its answer is lost)
        rasa_proxy.delay = 0

        bot = _bot_process(env, log)
        api.wait_for_text(ADVICE, timeout=90, after=mark)
        api.wait_for_text("Zo ga ik om met je gegevens", timeout=30, after=mark)
        api.wait_idle(1.0)
        texts = "\n".join(api.sent_texts(mark))
        assert texts.count(ADVICE) == 1 and texts.index(ADVICE) < texts.index("Zo ga ik om")
        said = httpx.get(
            f"{rasa_stack.url}/conversations/{_pseudonym(db)}/tracker",
            params={"token": rasa_stack.token},
            timeout=30,
        ).json()["events"]
        assert [e["text"] for e in said if e["event"] == "user"].count(DISTRUSTFUL) == 1  # not asked twice
    finally:
        bot.send_signal(signal.SIGTERM)
        try:
            bot.wait(30)
        except subprocess.TimeoutExpired:
            bot.kill()
        db.dispose()


def _pseudonym(db: Database) -> str:
    from bot.models import User

    with db.session() as session:
        return session.scalars(select(User.pseudonym)).one()


def test_webhook_mode_checks_the_secret_token(tmp_path: Path, api: FakeBotApi) -> None:
    port = free_port()
    env = {
        "TELEGRAM_BOT_TOKEN": api.token,
        "TELEGRAM_API_BASE_URL": api.url,
        "TELEGRAM_WEBHOOK_URL": f"https://deuropener.example.org/telegram/{port}",
        "TELEGRAM_WEBHOOK_SECRET": "geheim-123",
        "TELEGRAM_WEBHOOK_LISTEN": "127.0.0.1",
        "TELEGRAM_WEBHOOK_PORT": str(port),
        "RASA_URL": f"http://127.0.0.1:{free_port()}",  # no Rasa needed for a stranger
        "DEUROPENER_DATA_DIR": str(tmp_path),
    }
    bot = _bot_process(env, tmp_path / "bot.log")
    try:
        api.wait_for("setWebhook", timeout=60)
        assert api.webhook["url"] == env["TELEGRAM_WEBHOOK_URL"]
        assert api.webhook["secret_token"] == "geheim-123"
        update = {"update_id": 1, "message": api.user_message(777, text="hoi")}
        url = f"http://127.0.0.1:{port}/telegram/{port}"
        _wait_until(lambda: _reachable(url), 30, "the webhook to listen")

        for headers in ({}, {"X-Telegram-Bot-Api-Secret-Token": "fout"}):
            refused = httpx.post(url, content=json.dumps(update), headers=headers | _JSON, timeout=10)
            assert refused.status_code == 403
        assert api.calls_of("sendMessage") == []  # nothing got through

        accepted = httpx.post(
            url, content=json.dumps(update), headers={"X-Telegram-Bot-Api-Secret-Token": "geheim-123"} | _JSON
        )
        assert accepted.status_code == 200
        api.wait_for_text("werkt alleen op uitnodiging", timeout=30)
    finally:
        bot.send_signal(signal.SIGTERM)
        try:
            bot.wait(30)
        except subprocess.TimeoutExpired:
            bot.kill()
    assert "Traceback" not in (tmp_path / "bot.log").read_text()


_JSON = {"Content-Type": "application/json"}


def _reachable(url: str) -> bool:
    try:
        httpx.get(url, timeout=1)
        return True
    except httpx.HTTPError:
        return False


@pytest.mark.integration
async def test_the_bot_on_postgresql(
    tmp_path: Path, api: FakeBotApi, rasa_stack: RasaStack, postgres_url: str
) -> None:
    settings = make_settings(tmp_path, api, rasa_stack, database_url=postgres_url)
    async with running_bot(settings, api) as worker:
        await worker.register()
        mark = await worker.send(DISTRUSTFUL)
        await worker.answer_with(ADVICE, after=mark)
        assert worker.db.engine.dialect.name == "postgresql"
        assert incoming(worker, DISTRUSTFUL).intent == "describe_situation"


async def test_an_unexpected_error_is_logged_and_the_user_hears_it_in_dutch(
    tmp_path: Path, api: FakeBotApi, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def broken(*_: object, **__: object) -> None:
        raise RuntimeError("boom: internal detail")

    monkeypatch.setattr(Conversation, "drain", broken)
    settings = make_settings(tmp_path, api, f"http://127.0.0.1:{free_port()}")
    async with running_bot(settings, api) as worker:
        code = invite(settings)
        mark = await worker.send(f"/start {code}")
        answer = await worker.answer_with("er ging bij mij iets mis", after=mark)
    assert "boom" not in answer.params["text"] and "Traceback" not in answer.params["text"]
    assert "boom: internal detail" in caplog.text  # the stack trace is in the log instead
