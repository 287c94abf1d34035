"""Unit tests of the Telegram layer (no Rasa needed): rendering, classifying updates,
retries on Telegram's errors. Sending goes to the fake Bot API on loopback.
"""

from __future__ import annotations

import logging
import time
from typing import Any

import pytest
from telegram import Bot, Update

from bot import inbound
from bot.conversation import DeliveryFailed
from bot.inbound import Kind, Local, is_payload
from bot.replies import Button, Reply
from bot.telegram_intake import event_from
from bot.telegram_render import keyboard, send_reply, split_text, with_retries
from tests.bot_harness import buttons_of
from tests.fake_bot_api import BotApiError, FakeBotApi


def fake_bot(api: FakeBotApi) -> Bot:
    return Bot(api.token, base_url=f"{api.url}/bot", base_file_url=f"{api.url}/file/bot")


# --- rendering ------------------------------------------------------------------------------


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
    with caplog.at_level(logging.WARNING, logger="bot.telegram_render"):
        markup = keyboard([Button("Te lang", long_payload), Button("Menu", "/ask_capabilities")])
    assert markup is not None
    assert [[b.text for b in row] for row in markup.inline_keyboard] == [["Menu"]]
    assert "Te lang" in caplog.text
    assert keyboard([Button("Te lang", long_payload)]) is None


async def test_send_reply_splits_long_texts_and_sends_images(api: FakeBotApi) -> None:
    long_text = " ".join(f"Zin {i} van een lang antwoord." for i in range(200))
    async with fake_bot(api) as bot:
        await send_reply(bot, 42, Reply(image="https://example.org/schema.png"))
        await send_reply(bot, 42, Reply(text=long_text, buttons=(Button("Menu", "/ask_capabilities"),)))

    assert api.calls_of("sendPhoto")[0].params["photo"] == "https://example.org/schema.png"
    sent = api.calls_of("sendMessage")
    assert len(sent) == 2 and all(call.error is None for call in sent)
    assert "reply_markup" not in sent[0].params  # the buttons go under the last part
    assert buttons_of(sent[1]) == {"Menu": "/ask_capabilities"}
    assert " ".join(call.params["text"] for call in sent) == long_text


async def test_text_with_markup_characters_is_sent_as_plain_text(api: FakeBotApi) -> None:
    text = "Gebruik *geen* <b>namen</b> of [links](x) _zomaar_ & `code`"
    async with fake_bot(api) as bot:
        await send_reply(bot, 42, Reply(text))
    sent = api.calls_of("sendMessage")[0]
    assert sent.params["text"] == text and "parse_mode" not in sent.params  # nothing to escape


async def test_only_buttons_get_a_short_text_above_them(api: FakeBotApi) -> None:
    async with fake_bot(api) as bot:
        await send_reply(bot, 42, Reply(buttons=(Button("Menu", "/ask_capabilities"),)))
    sent = api.calls_of("sendMessage")[0]
    assert sent.params["text"] == "Kies een optie:" and buttons_of(sent) == {"Menu": "/ask_capabilities"}


# --- what the worker sent -------------------------------------------------------------------


def test_typed_commands_and_text() -> None:
    start = inbound.typed("/start AbC123_-x")
    assert (start.kind, start.text, start.payload, start.start_code) == (
        Kind.COMMAND,
        "/start",
        "/greet",
        "AbC123_-x",
    )
    assert inbound.typed("/start").start_code is None
    assert inbound.typed("/Menu@deuropener_bot").payload == "/ask_capabilities"
    assert inbound.typed("/privacy").payload == Local.PRIVACY
    assert inbound.typed("/mijngegevens").payload == Local.EXPORT
    assert inbound.typed("/verwijder").payload == Local.DELETE_ASK
    assert inbound.typed("/foo").payload == Local.UNKNOWN_COMMAND
    text = inbound.typed("mevrouw doet niet open")
    assert (text.kind, text.payload, text.for_rasa) == (Kind.TEXT, None, True)
    assert not inbound.typed("/privacy").for_rasa


def test_tapped_buttons() -> None:
    rasa = inbound.tapped('/describe_situation{"situation":"distrustful"}', "Zeer wantrouwig")
    assert (rasa.kind, rasa.text, rasa.for_rasa) == (Kind.BUTTON, "Zeer wantrouwig", True)
    assert inbound.tapped("bot:delete_yes", "Ja, wis alles").payload == Local.DELETE_YES
    assert inbound.tapped("bot:iets_anders", None).payload == Local.STALE_BUTTON
    assert inbound.tapped("bot:crisis:child_abuse", "🚨 Het is nu acuut").payload == "crisis:child_abuse"
    assert inbound.tapped("knop-van-een-oude-versie", None).payload == Local.STALE_BUTTON
    assert inbound.tapped(None, None).payload == Local.STALE_BUTTON


def _update(api: FakeBotApi, data: dict[str, Any]) -> Update:
    return Update.de_json({"update_id": 1, **data}, fake_bot(api))


def test_updates_from_groups_and_live_locations_are_ignored(api: FakeBotApi) -> None:
    group = api.user_message(5, text="hoi") | {"chat": {"id": -100, "type": "group", "title": "Team"}}
    assert event_from(_update(api, {"message": group})) is None
    live = api.user_message(5, location={"latitude": 52.0, "longitude": 4.0}, edit_date=2)
    assert event_from(_update(api, {"edited_message": live})) is None
    photo = api.user_message(5, photo=[{"file_id": "p", "file_unique_id": "u", "width": 1, "height": 1}])
    event = event_from(_update(api, {"message": photo}))
    assert event is not None and event.inbound is not None and event.inbound.kind == Kind.NOT_TEXT


def test_a_tap_is_stored_with_the_title_of_the_button(api: FakeBotApi) -> None:
    keyboard_message = {
        "message_id": 77,
        "from": {"id": 1, "is_bot": True, "first_name": "Deuropener"},
        "chat": {"id": 5, "type": "private"},
        "date": 0,
        "text": "Kies:",
        "reply_markup": {"inline_keyboard": [[{"text": "Hoe werkt dit?", "callback_data": "/ask_help"}]]},
    }
    query = {
        "id": "q1",
        "from": api.user(5),
        "message": keyboard_message,
        "chat_instance": "c",
        "data": "/ask_help",
    }
    event = event_from(_update(api, {"callback_query": query}))
    assert event is not None and event.inbound is not None
    assert (event.inbound.text, event.inbound.payload) == ("Hoe werkt dit?", "/ask_help")
    assert (event.callback_id, event.keyboard_message_id, event.chat_id) == ("q1", 77, 5)


# --- Telegram's errors ------------------------------------------------------------------------


async def test_a_429_is_waited_out_as_telegram_asks(api: FakeBotApi) -> None:
    api.fail_next("sendMessage", BotApiError(429, "Too Many Requests: retry after 1", retry_after=1))
    async with fake_bot(api) as bot:
        started = time.monotonic()
        await send_reply(bot, 42, Reply("Hallo"))
        waited = time.monotonic() - started
    calls = api.calls_of("sendMessage")
    assert [c.error is None for c in calls] == [False, True]
    assert waited >= 1.0


async def test_network_errors_are_retried_with_backoff(
    api: FakeBotApi, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("bot.telegram_render.BACKOFF_SECONDS", 0.2)
    api.fail_next("sendMessage", BotApiError(502, "Bad Gateway"), times=2)
    async with fake_bot(api) as bot:
        started = time.monotonic()
        await send_reply(bot, 42, Reply("Hallo"))
        waited = time.monotonic() - started
    assert [c.error is None for c in api.calls_of("sendMessage")] == [False, False, True]
    assert waited >= 0.2 + 0.4  # 0.2 s, then twice that


async def test_a_blocked_bot_is_a_permanent_failure_and_a_long_outage_a_temporary_one(
    api: FakeBotApi, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("bot.telegram_render.BACKOFF_SECONDS", 0.01)
    api.fail_next("sendMessage", BotApiError(403, "Forbidden: bot was blocked by the user"))
    async with fake_bot(api) as bot:
        with pytest.raises(DeliveryFailed) as blocked:
            await with_retries(lambda: bot.send_message(chat_id=42, text="hoi"))
        assert blocked.value.permanent
        api.fail_next("sendMessage", BotApiError(502, "Bad Gateway"), times=10)
        with pytest.raises(DeliveryFailed) as outage:
            await with_retries(lambda: bot.send_message(chat_id=42, text="hoi"))
        assert not outage.value.permanent
