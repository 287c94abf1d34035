"""What a worker is told about their data, through the real bot path (Telegram against the fake
Bot API, and the local chat): the one-time "details removed" notice, /privacy, and the reminder
that the assistant coaches and does not decide (in /help, /privacy and when asked to decide)."""

from __future__ import annotations

import asyncio
import dataclasses
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_asyncio

from bot import texts
from bot.access import LOCAL_CHANNEL
from bot.chat import TerminalOutlet, say
from bot.conversation import open_conversation
from bot.inbound import typed
from tests.bot_harness import TelegramUser, make_settings, running_bot
from tests.fake_bot_api import FakeBotApi
from tests.rasa_stack import RasaStack

pytestmark = pytest.mark.integration

NOTICE = "ik heb namen, nummers of adressen in je bericht vervangen"
COACHES = "Ik coach en beslis niet"
DOES_NOT_DECIDE = "ik beslis niets over je cliënt"


@pytest_asyncio.fixture
async def worker(tmp_path: Path, api: FakeBotApi, rasa_stack: RasaStack) -> AsyncIterator[TelegramUser]:
    settings = make_settings(tmp_path, api, rasa_stack, retention_days=90)
    async with running_bot(settings, api) as telegram_user:
        await telegram_user.register()
        yield telegram_user


async def _say(worker: TelegramUser, message: str, timeout: float = 90) -> str:
    """Send a message and return everything the bot answered to it (once it is answered and sent)."""
    before = len(worker.transcript())
    mark = await worker.send(message)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        stored = worker.transcript()[before:]
        incoming = [m for m in stored if m.direction == "in"]
        if incoming and incoming[-1].status == "answered" and all(m.status == "sent" for m in stored[1:]):
            break
        await asyncio.sleep(0.2)
    await worker.api.async_wait_idle(0.5)
    return worker.texts(mark)


async def test_a_worker_hears_once_that_details_were_removed(worker: TelegramUser) -> None:
    plain = await _say(worker, "hoe begin ik een gesprek met een wantrouwige cliënt?")
    assert NOTICE not in plain  # nothing removed, nothing to tell
    account = worker.account()
    assert account is not None and account.details_notice_at is None

    first = await _say(worker, "mevrouw Jansen doet al weken de deur niet open")
    assert first.count(NOTICE) == 1
    assert "Telegram is niet end-to-end versleuteld" in first and "'cliënt A'" in first
    assert len(first.replace(texts.DETAILS_REMOVED, "").strip()) > 20  # the message is answered too
    account = worker.account()
    assert account is not None and account.details_notice_at is not None

    again = await _say(worker, "haar zoon belt me op 06-12345678 en wil dat ik stop")
    assert NOTICE not in again  # once per worker, never again

    stored = [m for m in worker.transcript() if m.direction == "in"]
    scrubbed = next(m for m in stored if m.text == "mevrouw [naam] doet al weken de deur niet open")
    assert not any("Jansen" in (m.text or "") or "12345678" in (m.text or "") for m in stored)
    notices = [m for m in worker.transcript() if m.text == texts.DETAILS_REMOVED]
    assert len(notices) == 1 and notices[0].status == "sent" and notices[0].reply_to_id == scrubbed.id


async def test_privacy_says_what_is_kept_encrypted_how_long_and_who_decides(worker: TelegramUser) -> None:
    said = await _say(worker, "/privacy")
    assert "Zo ga ik om met je gegevens" in said
    assert "versleuteld" in said and "90 dagen" in said  # the configured retention period
    assert "/mijngegevens" in said and "/verwijder" in said
    assert "geen behandelaar of beslisser" in said


async def test_help_reminds_that_the_assistant_coaches_and_does_not_decide(worker: TelegramUser) -> None:
    assert COACHES in await _say(worker, "/help")


@pytest.mark.parametrize(
    "question",
    [
        "beslis jij maar of ik cliënt B moet aanmelden",
        "neem jij het besluit over cliënt A?",
        "moet ik cliënt A nu aanmelden bij Veilig Thuis, ja of nee?",
        "zeg jij het maar: moet ik de zorg voor cliënt A stoppen?",
    ],
)
async def test_asked_for_a_decision_about_a_client_the_assistant_says_it_does_not_decide(
    worker: TelegramUser, question: str
) -> None:
    assert DOES_NOT_DECIDE in await _say(worker, question)


async def test_the_local_chat_tells_once_too(tmp_path: Path, rasa_stack: RasaStack) -> None:
    with FakeBotApi() as api:  # only for the settings' shape: the local chat doesn't use it
        settings = dataclasses.replace(make_settings(tmp_path, api, rasa_stack), telegram_token=None)
    conversation, rasa, db = open_conversation(settings, LOCAL_CHANNEL)
    outlet = TerminalOutlet(tmp_path)
    try:
        first = await say(conversation, outlet, "dev", typed("meneer de Vries wil geen hulp"))
        second = await say(conversation, outlet, "dev", typed("en mevrouw Bakker ook niet"))
    finally:
        await rasa.aclose()
        db.dispose()
    assert [r.text for r in first].count(texts.DETAILS_REMOVED) == 1 and len(first) > 1
    assert texts.DETAILS_REMOVED not in [r.text for r in second] and second
