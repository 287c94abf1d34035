"""The Telegram delivery, end to end: the real PTB Application (from `build_application`)
long-polls a fake Bot API on loopback and talks to the real Rasa server.

The tests assert what a Telegram user would notice: the messages, the buttons under them,
the spinner on a tapped button going away. Splitting, payload checks and sending are also
unit-tested directly (those tests need no Rasa).
"""

from __future__ import annotations

import contextlib
import logging
import re
import secrets
import socket
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace
from typing import Any, cast

import pytest
import pytest_asyncio
from telegram import Bot
from telegram.ext import Application

from bot.conversation import Conversation
from bot.rasa_client import RasaClient
from bot.replies import Button, Reply
from bot.settings import Settings
from bot.store import TurnStore
from bot.telegram_app import build_application, is_payload, keyboard, send_replies, split_text
from tests.fake_bot_api import ApiCall, FakeBotApi

COACH_NOTE = "ik ben een coach, geen behandelaar of beslisser"
ONLY_TEXT = "alleen getypte tekst"
COMMAND_NAMES = ("/start", "/menu", "/help", "/stop")


# --- fixtures and helpers -------------------------------------------------------------------


@pytest.fixture
def api() -> Iterator[FakeBotApi]:
    with FakeBotApi() as fake:
        yield fake


def make_settings(tmp_path: Path, api: FakeBotApi, rasa_url: str) -> Settings:
    """Settings for one test: its own SQLite file and pseudonym key, the fake Bot API."""
    return Settings(
        data_dir=tmp_path,
        database_url=f"sqlite:///{tmp_path / 'deuropener.db'}",
        rasa_url=rasa_url,
        rasa_timeout=30.0,
        telegram_token=api.token,
        telegram_api_base_url=api.url,
        pseudonym_secret=secrets.token_bytes(16),
    )


@dataclass
class TelegramUser:
    """One Telegram user chatting with the running bot."""

    api: FakeBotApi
    store: TurnStore
    app: Application
    user_id: int

    async def send(self, text: str) -> int:
        """Type `text`; returns the call-log mark from before it was sent."""
        mark = self.api.mark()
        self.api.push_text(self.user_id, text)
        return mark

    async def tap(self, message_id: int, data: str) -> int:
        """Tap the button with callback `data` under the bot's message `message_id`."""
        mark = self.api.mark()
        self.api.push_callback(self.user_id, message_id, data)
        return mark

    async def push(self, update: dict[str, Any]) -> int:
        mark = self.api.mark()
        self.api.push_update(update)
        return mark

    async def answer_with(self, fragment: str, after: int) -> ApiCall:
        """Wait for a message containing `fragment`, then until the bot is done answering."""
        call = await self.api.async_wait_for_text(fragment, timeout=60, after=after)
        await self.api.async_wait_idle(0.5)
        return call

    def texts(self, after: int) -> str:
        return "\n".join(self.api.sent_texts(after))


@contextlib.asynccontextmanager
async def running_bot(
    settings: Settings, api: FakeBotApi, conversation_class: type[Conversation] = Conversation
) -> AsyncIterator[TelegramUser]:
    """The real Application polling the fake Bot API, as `run_polling` runs it (minus signals)."""
    rasa = RasaClient(settings.rasa_url, timeout=settings.rasa_timeout)
    store = TurnStore(settings.database_url, settings.pseudonym_secret)
    application = build_application(settings, conversation_class(rasa, store, channel="telegram"))
    try:
        async with application:
            assert application.post_init is not None
            await application.post_init(application)  # run_polling would call it
            assert application.updater is not None
            await application.updater.start_polling(poll_interval=0.0, timeout=1)
            await application.start()
            try:
                yield TelegramUser(api, store, application, user_id=secrets.randbelow(10**9) + 1000)
            finally:
                await application.updater.stop()
                await application.stop()
    finally:
        await rasa.aclose()


@pytest_asyncio.fixture
async def user(tmp_path: Path, api: FakeBotApi, rasa_url: str) -> AsyncIterator[TelegramUser]:
    """A fresh Telegram user (new Rasa conversation) talking to the bot connected to real Rasa."""
    async with running_bot(make_settings(tmp_path, api, rasa_url), api) as telegram_user:
        yield telegram_user


def buttons_of(call: ApiCall) -> dict[str, str]:
    """The inline buttons under a sent message: title -> callback data."""
    rows = (call.params.get("reply_markup") or {}).get("inline_keyboard", [])
    return {button["text"]: button["callback_data"] for row in rows for button in row}


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# --- end to end with the real Rasa ----------------------------------------------------------


@pytest.mark.integration
async def test_start_greets_with_the_coach_note_and_a_menu_keyboard(user: TelegramUser) -> None:
    mark = await user.send("/start")
    menu = await user.answer_with("Hiermee kan ik je helpen", after=mark)

    texts = user.texts(mark)
    assert COACH_NOTE in texts
    assert re.search(r"\b(Hoi|Hallo)!", texts)
    rows = menu.params["reply_markup"]["inline_keyboard"]
    assert all(len(row) == 1 for row in rows)  # one button per row: easy to tap on a phone
    assert buttons_of(menu)["Contactstrategie kiezen"] == "/ask_strategy"
    assert "parse_mode" not in menu.params  # plain text: nothing to escape
    assert user.api.calls_of("sendChatAction", after=mark)[0].params["action"] == "typing"
    # The command menu in Telegram's UI, with Dutch descriptions.
    commands = {c["command"]: c["description"] for c in user.api.commands}
    assert set(commands) == {"start", "help", "menu", "stop"}
    assert commands["help"].startswith("Uitleg")
    assert user.store.count() > 0  # the turns went through the conversation


@pytest.mark.integration
async def test_a_described_situation_gets_the_nut_bewijzen_recommendation(user: TelegramUser) -> None:
    mark = await user.send("mevrouw is erg wantrouwig en doet de deur niet open")
    answer = await user.answer_with("Mijn voorstel: Nut bewijzen", after=mark)

    assert "hand- en spandiensten" in answer.params["text"]
    assert "Bron: Schema voortraject" in answer.params["text"]
    assert "Menu" in buttons_of(answer)


@pytest.mark.integration
async def test_tapping_menu_buttons_retires_the_keyboard_and_continues(user: TelegramUser) -> None:
    mark = await user.send("/menu")
    menu = await user.answer_with("Hiermee kan ik je helpen", after=mark)
    menu_id = menu.result["message_id"]

    mark = await user.tap(menu_id, buttons_of(menu)["Contactstrategie kiezen"])
    question = await user.answer_with("Wat past het best bij je cliënt?", after=mark)

    answered = user.api.calls_of("answerCallbackQuery", after=mark)
    assert len(answered) == 1  # the spinner on the button stops
    edit = user.api.calls_of("editMessageReplyMarkup", after=mark)
    assert [c.params["message_id"] for c in edit] == [menu_id]
    assert not edit[0].params.get("reply_markup") and edit[0].error is None
    kept = user.api.messages[(user.user_id, menu_id)]
    assert "reply_markup" not in kept and kept["text"].startswith("Hiermee kan ik je helpen")

    options = buttons_of(question)
    assert all(len(data.encode()) <= 64 for data in options.values())
    mark = await user.tap(question.result["message_id"], options["Zeer wantrouwig en afwerend"])
    await user.answer_with("Mijn voorstel: Nut bewijzen", after=mark)
    assert len(user.api.calls_of("answerCallbackQuery", after=mark)) == 1


@pytest.mark.integration
@pytest.mark.parametrize(
    "content",
    [
        {"photo": [{"file_id": "p1", "file_unique_id": "u1", "width": 90, "height": 60}]},
        {
            "sticker": {
                "file_id": "s1",
                "file_unique_id": "u2",
                "type": "regular",
                "width": 512,
                "height": 512,
                "is_animated": False,
                "is_video": False,
            }
        },
        {"voice": {"file_id": "v1", "file_unique_id": "u3", "duration": 3}},
        {"location": {"latitude": 52.37, "longitude": 4.89}},
    ],
    ids=["photo", "sticker", "voice", "location"],
)
async def test_non_text_messages_get_the_typed_text_only_answer(
    user: TelegramUser, content: dict[str, Any]
) -> None:
    mark = await user.push({"message": user.api.user_message(user.user_id, **content)})
    answer = await user.answer_with(ONLY_TEXT, after=mark)

    assert answer.params["text"].startswith("Ik kan alleen getypte tekst lezen.")
    assert len(user.api.calls_of("sendMessage", after=mark)) == 1
    assert user.store.count() == 0  # nothing went to the conversation (or Rasa)


@pytest.mark.integration
async def test_an_edited_message_is_not_sent_to_rasa(user: TelegramUser) -> None:
    edited = user.api.user_message(user.user_id, text="mevrouw is wantrouwig", edit_date=1)
    mark = await user.push({"edited_message": edited})
    await user.answer_with(ONLY_TEXT, after=mark)

    assert len(user.api.calls_of("sendMessage", after=mark)) == 1
    assert user.store.count() == 0


@pytest.mark.integration
async def test_an_unknown_command_lists_the_commands(user: TelegramUser) -> None:
    mark = await user.send("/foo")
    answer = await user.answer_with("Die opdracht ken ik niet", after=mark)

    assert all(name in answer.params["text"] for name in COMMAND_NAMES)
    assert user.store.count() == 0


@pytest.mark.integration
async def test_garbled_callback_data_gets_a_friendly_answer_and_the_menu(user: TelegramUser) -> None:
    mark = await user.tap(4242, "knop-van-een-oude-versie")
    answer = await user.answer_with("Deze knop werkt niet meer", after=mark)

    assert len(user.api.calls_of("answerCallbackQuery", after=mark)) == 1
    assert buttons_of(answer) == {"Menu": "/ask_capabilities"}
    assert user.store.count() == 0

    mark = await user.tap(answer.result["message_id"], "/ask_capabilities")  # and the menu works
    await user.answer_with("Hiermee kan ik je helpen", after=mark)


# --- end to end without Rasa ---------------------------------------------------------------


async def test_rasa_down_gives_the_dutch_not_reachable_message(tmp_path: Path, api: FakeBotApi) -> None:
    settings = make_settings(tmp_path, api, f"http://127.0.0.1:{closed_port()}")
    async with running_bot(settings, api) as nobody_home:
        mark = await nobody_home.send("hoi")
        answer = await nobody_home.answer_with("even niet bereikbaar", after=mark)
    assert "Traceback" not in answer.params["text"]
    assert len(api.calls_of("sendMessage", after=mark)) == 1


class BrokenConversation(Conversation):
    async def handle(self, user_key: str, text: str | None) -> list[Reply]:
        raise RuntimeError("boom: internal detail")


async def test_an_unexpected_error_is_logged_and_the_user_hears_it_in_dutch(
    tmp_path: Path, api: FakeBotApi, caplog: pytest.LogCaptureFixture
) -> None:
    settings = make_settings(tmp_path, api, f"http://127.0.0.1:{closed_port()}")
    async with running_bot(settings, api, BrokenConversation) as unlucky:
        mark = await unlucky.send("hoi")
        answer = await unlucky.answer_with("er ging bij mij iets mis", after=mark)
    assert "boom" not in answer.params["text"] and "Traceback" not in answer.params["text"]
    assert "boom: internal detail" in caplog.text  # the stack trace is in the log instead


# --- units ----------------------------------------------------------------------------------


def test_a_5000_character_text_is_split_at_sentence_ends() -> None:
    sentence = "Dit is zin nummer {:03d} over contact met een zorgmijdende cliënt. "
    text = "".join(sentence.format(i) for i in range(80)).strip()
    assert len(text) > 5000

    parts = split_text(text)

    assert len(parts) == 2
    assert all(0 < len(part) < 4096 for part in parts)
    assert all(part.endswith(".") for part in parts)  # cut after a sentence, not mid-word
    assert " ".join(parts) == text  # nothing lost but the space at the cut


def test_split_prefers_paragraph_ends_then_words() -> None:
    first = " ".join(f"Zin {i} van de eerste alinea." for i in range(100))  # about 3,000 characters
    second = " ".join(f"Zin {i} van de tweede alinea." for i in range(100))
    assert split_text(f"{first}\n\n{second}") == [first, second]

    words = "Eerste alinea.\n\n" + "woord " * 900 + "\n\nLaatste alinea."  # no sentence ends
    parts = split_text(words)
    assert len(parts) == 2 and all(len(p) <= 4096 for p in parts)
    assert parts[0].startswith("Eerste alinea.\n\nwoord") and parts[0].endswith("woord")
    assert parts[1].startswith("woord") and parts[1].endswith("Laatste alinea.")

    no_breaks = "x" * 9000  # one endless "word": cut hard, nothing lost
    assert "".join(split_text(no_breaks)) == no_breaks
    assert split_text("kort") == ["kort"]
    assert split_text("   ") == []


def test_split_counts_like_telegram_does_with_emoji() -> None:
    text = "🙂" * 3000  # 6000 UTF-16 code units
    parts = split_text(text)
    assert all(len(p.encode("utf-16-le")) // 2 <= 4096 for p in parts)
    assert "".join(parts) == text


def test_only_intent_payloads_count_as_button_data() -> None:
    assert is_payload("/ask_capabilities")
    assert is_payload('/describe_situation{"situation":"distrustful"}')
    assert not is_payload("knop-van-een-oude-versie")
    assert not is_payload("/describe_situation{kapot")
    assert not is_payload("/ask strategy")
    assert not is_payload("")
    assert not is_payload(None)


def test_a_button_payload_over_64_bytes_is_skipped_with_a_warning(caplog: pytest.LogCaptureFixture) -> None:
    long_payload = '/describe_situation{"situation":"' + "x" * 60 + '"}'
    with caplog.at_level(logging.WARNING, logger="bot.telegram_app"):
        markup = keyboard([Button("Te lang", long_payload), Button("Menu", "/ask_capabilities")])
    assert markup is not None
    assert [[b.text for b in row] for row in markup.inline_keyboard] == [["Menu"]]
    assert "Te lang" in caplog.text
    assert keyboard([Button("Te lang", long_payload)]) is None


async def test_send_replies_splits_long_texts_and_sends_images(api: FakeBotApi) -> None:
    long_text = " ".join(f"Zin {i} van een lang antwoord." for i in range(200))
    replies = [
        Reply(image="https://example.org/schema.png"),
        Reply(text=long_text, buttons=(Button("Menu", "/ask_capabilities"),)),
    ]
    async with Bot(api.token, base_url=f"{api.url}/bot", base_file_url=f"{api.url}/file/bot") as bot:
        context = cast(Any, SimpleNamespace(bot=bot))
        await send_replies(context, 42, replies)

    assert api.calls_of("sendPhoto")[0].params["photo"] == "https://example.org/schema.png"
    sent = api.calls_of("sendMessage")
    assert len(sent) == 2 and all(call.error is None for call in sent)
    assert "reply_markup" not in sent[0].params  # the buttons go under the last part
    assert buttons_of(sent[1]) == {"Menu": "/ask_capabilities"}
    assert " ".join(call.params["text"] for call in sent) == long_text
