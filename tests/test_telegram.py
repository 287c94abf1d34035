"""The Telegram delivery, end to end: the real PTB Application (from `build_application`)
long-polls a fake Bot API on loopback and talks to the real Rasa and action servers.

The tests assert what a Telegram user would notice — the messages, the buttons under them,
the spinner on a tapped button going away — and what ends up stored (and what doesn't).
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import pytest_asyncio
from sqlalchemy import func, select

from bot.models import Role, Stranger
from coach import content
from coach.crisis import safety_button, safety_line
from tests.bot_harness import TelegramUser, buttons_of, invite, make_settings, running_bot
from tests.fake_bot_api import FakeBotApi
from tests.rasa_stack import RasaStack

pytestmark = pytest.mark.integration

COACH_NOTE = "ik ben een coach, geen behandelaar of beslisser"
ONLY_TEXT = "alleen getypte tekst"
NOT_INVITED = "werkt alleen op uitnodiging"
CODE_NOT_VALID = "Deze uitnodigingscode werkt niet"
MENU = "Hiermee kan ik je helpen"
OPENINGS = content.load("crisis")["answer"]["openings"]
ALL_COMMANDS = {"start", "help", "menu", "stop", "privacy", "mijngegevens", "verwijder"}
ALL_COMMANDS |= {"verloop"}  # the chart of the reflections
ALL_COMMANDS |= {"nudges"}  # the reflection reminders
ALL_COMMANDS |= {"delen", "team", "dashboard"}  # supervision: sharing, the team overview, the dashboard


@pytest_asyncio.fixture
async def bot_user(tmp_path: Path, api: FakeBotApi, rasa_stack: RasaStack) -> AsyncIterator[TelegramUser]:
    """A Telegram user (not registered yet) and the bot, connected to the real Rasa."""
    settings = make_settings(tmp_path, api, rasa_stack)
    async with running_bot(settings, api) as telegram_user:
        yield telegram_user


@pytest_asyncio.fixture
async def worker(bot_user: TelegramUser) -> TelegramUser:
    """A registered worker: invited, and /start CODE sent."""
    await bot_user.register()
    return bot_user


def said_to_rasa(rasa_stack: RasaStack, sender: str) -> list[str]:
    """What Rasa's tracker holds as the sender's messages."""
    answer = httpx.get(
        f"{rasa_stack.url}/conversations/{sender}/tracker", params={"token": rasa_stack.token}, timeout=30
    )
    answer.raise_for_status()
    return [event["text"] for event in answer.json()["events"] if event["event"] == "user"]


# --- access ---------------------------------------------------------------------------------


async def test_an_invited_worker_registers_with_start_code_and_is_greeted(bot_user: TelegramUser) -> None:
    code = invite(bot_user.settings, Role.WORKER, "Wijkteam Noord")
    mark = await bot_user.send(f"/start {code}")  # what the deep link t.me/<bot>?start=CODE sends
    menu = await bot_user.answer_with(MENU, after=mark)

    texts = bot_user.texts(mark)
    assert "Welkom bij Deuropener! Je bent aangemeld als professional in team Wijkteam Noord." in texts
    assert COACH_NOTE in texts
    assert texts.index("Welkom") < texts.index(COACH_NOTE)  # the welcome comes first
    assert buttons_of(menu)["Contactstrategie kiezen"] == "/ask_strategy"
    assert all(len(row) == 1 for row in menu.params["reply_markup"]["inline_keyboard"])
    # The command menu in Telegram's UI, with Dutch descriptions.
    commands = {c["command"]: c["description"] for c in bot_user.api.commands}
    assert set(commands) == ALL_COMMANDS
    assert commands["verwijder"].startswith("Wis al je gegevens")

    account = bot_user.account()
    assert account is not None and account.role == "worker" and account.chat_id == bot_user.user_id
    assert str(bot_user.user_id) not in account.pseudonym  # Rasa never sees the Telegram id
    start = next(m for m in bot_user.transcript() if m.direction == "in")
    assert (start.text, start.kind, start.intent, start.flow) == ("/start", "command", "greet", "core")
    assert start.confidence is not None and start.confidence > 0.5
    assert code not in json.dumps([m.text for m in bot_user.transcript()])  # the code isn't kept


async def test_a_code_works_once(bot_user: TelegramUser) -> None:
    code = invite(bot_user.settings)
    await bot_user.send(f"/start {code}")
    await bot_user.answer_with(MENU, after=0)

    bot_user.user_id += 1  # someone else tries the same code
    mark = await bot_user.send(f"/start {code}")
    await bot_user.answer_with(CODE_NOT_VALID, after=mark)
    assert bot_user.account() is None


async def test_an_expired_code_does_not_register(bot_user: TelegramUser) -> None:
    code = invite(bot_user.settings, hours=1, created_hours_ago=2)
    mark = await bot_user.send(f"/start {code}")
    answer = await bot_user.answer_with(CODE_NOT_VALID, after=mark)
    assert "Vraag je teamleider" in answer.params["text"]
    assert bot_user.account() is None


async def test_an_unregistered_user_gets_one_explanation_and_nothing_reaches_rasa(
    bot_user: TelegramUser, rasa_stack: RasaStack
) -> None:
    mark = await bot_user.send("hoi")
    await bot_user.answer_with(NOT_INVITED, after=mark)
    await bot_user.send("mevrouw de Vries doet de deur niet open")
    await bot_user.push({"message": bot_user.api.user_message(bot_user.user_id, sticker=STICKER)})
    await bot_user.api.async_wait_idle(1.5)

    assert bot_user.api.sent_texts(mark) == [bot_user.api.sent_texts(mark)[0]]  # one explanation only
    assert "/start" in bot_user.api.sent_texts(mark)[0]
    assert said_to_rasa(rasa_stack, bot_user.pseudonym) == []  # Rasa never heard of them
    with bot_user.db.session() as session:
        stranger = session.get(Stranger, bot_user.pseudonym)
        assert stranger is not None and stranger.messages == 3  # a counter, nothing they sent
        assert session.scalar(select(func.count()).select_from(Stranger)) == 1
    assert bot_user.transcript() == []

    mark = await bot_user.send("/start")  # asking how to start always gets the explanation
    await bot_user.answer_with(NOT_INVITED, after=mark)


# --- a whole coaching flow ------------------------------------------------------------------


async def test_a_full_strategy_choice_by_tapping_and_typing(worker: TelegramUser) -> None:
    mark = await worker.send("/menu")
    menu = await worker.answer_with(MENU, after=mark)

    mark = await worker.tap_title(menu, "Contactstrategie kiezen")
    question = await worker.answer_with("Wat past het best bij je cliënt?", after=mark)
    assert len(worker.api.calls_of("answerCallbackQuery", after=mark)) == 1  # the spinner stops
    edit = worker.api.calls_of("editMessageReplyMarkup", after=mark)
    assert [c.params["message_id"] for c in edit] == [menu.result["message_id"]]  # can't tap twice
    kept = worker.api.messages[(worker.user_id, menu.result["message_id"])]
    assert "reply_markup" not in kept and kept["text"].startswith(MENU)
    options = buttons_of(question)
    assert all(len(data.encode()) <= 64 for data in options.values())

    mark = await worker.tap_title(question, "Zeer wantrouwig en afwerend")
    advice = await worker.answer_with("Mijn voorstel: Nut bewijzen", after=mark)
    assert "Bron: Schema voortraject" in advice.params["text"]

    mark = await worker.tap_title(advice, "Andere strategie bekijken")
    listing = await worker.answer_with("Over welke wil je meer weten?", after=mark)
    mark = await worker.tap_title(listing, "Quid pro quo")
    await worker.answer_with("Quid pro quo", after=mark)

    mark = await worker.send("mevrouw is erg wantrouwig en doet de deur niet open")
    await worker.answer_with("Mijn voorstel: Nut bewijzen", after=mark)
    mark = await worker.send("/stop")
    await worker.answer_with("we stoppen hiermee", after=mark)

    incoming = [m for m in worker.transcript() if m.direction == "in"]
    taps = [m for m in incoming if m.kind == "button"]
    assert [m.text for m in taps][:2] == ["Contactstrategie kiezen", "Zeer wantrouwig en afwerend"]
    assert [m.intent for m in taps][:2] == ["ask_strategy", "describe_situation"]
    assert {m.flow for m in taps} == {"strategy"}
    assert all(m.status == "answered" for m in incoming)
    outgoing = [m for m in worker.transcript() if m.direction == "out"]
    assert all(m.status == "sent" for m in outgoing)
    assert any(m.text and "Mijn voorstel: Nut bewijzen" in m.text for m in outgoing)
    answer_to_tap = next(m for m in outgoing if m.reply_to_id == taps[1].id)
    assert answer_to_tap.flow == "strategy"


async def test_a_second_tap_on_the_same_keyboard_is_ignored(worker: TelegramUser) -> None:
    mark = await worker.send("/menu")
    menu = await worker.answer_with(MENU, after=mark)
    mark = worker.api.mark()
    worker.api.push_callback(worker.user_id, menu.result["message_id"], "/ask_strategy")
    worker.api.push_callback(worker.user_id, menu.result["message_id"], "/ask_help")
    await worker.answer_with("Wat past het best bij je cliënt?", after=mark)
    await worker.api.async_wait_idle(1.0)

    assert len(worker.api.calls_of("answerCallbackQuery", after=mark)) == 2  # both spinners stop
    assert len([m for m in worker.transcript() if m.kind == "button"]) == 1


async def test_typed_details_are_scrubbed_before_storing_and_before_rasa(
    worker: TelegramUser, rasa_stack: RasaStack
) -> None:
    mark = await worker.send("mevrouw Jansen belt me steeds vanaf 0612345678, ze is erg wantrouwig")
    await worker.answer_with("Mijn voorstel", after=mark)

    typed = [m for m in worker.transcript() if m.kind == "text"][-1]
    assert "Jansen" not in typed.text and "0612345678" not in typed.text
    assert "[telefoon]" in typed.text
    assert said_to_rasa(rasa_stack, worker.pseudonym)[-1] == typed.text  # Rasa got the scrubbed text too


# --- messages that aren't text --------------------------------------------------------------

STICKER = {
    "file_id": "s1",
    "file_unique_id": "u2",
    "type": "regular",
    "width": 512,
    "height": 512,
    "is_animated": False,
    "is_video": False,
}


@pytest.mark.parametrize(
    "content",
    [
        {"photo": [{"file_id": "p1", "file_unique_id": "u1", "width": 90, "height": 60}], "caption": "kijk"},
        {"sticker": STICKER},
        {"voice": {"file_id": "v1", "file_unique_id": "u3", "duration": 3}},
        {"document": {"file_id": "d1", "file_unique_id": "u4", "file_name": "verslag.pdf"}},
        {"location": {"latitude": 52.37, "longitude": 4.89}},
        {"contact": {"phone_number": "+31612345678", "first_name": "Piet"}},
    ],
    ids=["photo", "sticker", "voice", "document", "location", "contact"],
)
async def test_non_text_messages_get_the_typed_text_only_answer(
    worker: TelegramUser, content: dict[str, Any]
) -> None:
    mark = await worker.push({"message": worker.api.user_message(worker.user_id, **content)})
    answer = await worker.answer_with(ONLY_TEXT, after=mark)

    assert answer.params["text"].startswith("Ik kan alleen getypte tekst lezen.")
    assert len(worker.api.calls_of("sendMessage", after=mark)) == 1
    stored = [m for m in worker.transcript() if m.kind == "not_text"]
    assert len(stored) == 1 and stored[0].text is None  # that it came, not what it was
    assert "+31612345678" not in json.dumps([m.text for m in worker.transcript()])


async def test_an_edited_message_is_not_sent_to_rasa_and_live_locations_are_silent(
    worker: TelegramUser,
) -> None:
    edited = worker.api.user_message(worker.user_id, text="mevrouw is wantrouwig", edit_date=1)
    mark = await worker.push({"edited_message": edited})
    await worker.answer_with("aangepaste berichten zie ik niet", after=mark)

    live = worker.api.user_message(worker.user_id, location={"latitude": 52.1, "longitude": 4.3}, edit_date=2)
    mark = await worker.push({"edited_message": live})
    await worker.api.async_wait_idle(1.0)
    assert worker.api.calls_of("sendMessage", after=mark) == []
    assert [m.kind for m in worker.transcript() if m.direction == "in"][-1] == "edited"


async def test_an_unknown_command_lists_the_commands(worker: TelegramUser) -> None:
    mark = await worker.send("/foo")
    answer = await worker.answer_with("Die opdracht ken ik niet", after=mark)
    assert all(f"/{name}" in answer.params["text"] for name in ALL_COMMANDS)


async def test_garbled_callback_data_gets_a_friendly_answer_and_the_menu(worker: TelegramUser) -> None:
    mark = await worker.tap(4242, "knop-van-een-oude-versie")
    answer = await worker.answer_with("Deze knop werkt niet meer", after=mark)

    assert len(worker.api.calls_of("answerCallbackQuery", after=mark)) == 1
    assert buttons_of(answer) == {"Menu": "/ask_capabilities"}
    mark = await worker.tap(answer.result["message_id"], "/ask_capabilities")  # and the menu works
    await worker.answer_with(MENU, after=mark)


async def test_the_help_line_button_opens_the_full_crisis_answer(worker: TelegramUser) -> None:
    # An unsure message: the help numbers in one line, with a button, and the normal answer.
    mark = await worker.send("hij heeft wel eens gezegd dat het leven zwaar is")
    line = await worker.answer_with(safety_line(), after=mark)
    assert buttons_of(line) == {safety_button(): "bot:crisis:suicide"}
    mark = await worker.tap(line.result["message_id"], "bot:crisis:suicide")
    full = await worker.answer_with(OPENINGS["suicide"], after=mark)
    assert "0800-0113" in full.params["text"] and "Ik ben een coach" in full.params["text"]
    assert len(worker.api.calls_of("answerCallbackQuery", after=mark)) == 1
    # An altered button still gets help: every line and the meldcode. (A second tap on the
    # same keyboard is ignored, so this one is on a message the bot doesn't know.)
    mark = await worker.tap(4243, "bot:crisis:iets-anders")
    general = await worker.answer_with(OPENINGS["general"], after=mark)
    assert "0800-2000" in general.params["text"] and "meldcode in vijf stappen" in general.params["text"]


# --- privacy commands -----------------------------------------------------------------------


async def test_privacy_says_what_is_stored_for_how_long_and_who_sees_it(worker: TelegramUser) -> None:
    mark = await worker.send("/privacy")
    answer = await worker.answer_with("Zo ga ik om met je gegevens", after=mark)
    text = answer.params["text"]
    for fragment in ("Wat ik bewaar", "Hoe lang", "Wie het ziet", "/mijngegevens", "/verwijder"):
        assert fragment in text


async def test_mijngegevens_sends_everything_as_a_json_file(worker: TelegramUser) -> None:
    mark = await worker.send("mevrouw is erg wantrouwig")
    await worker.answer_with("Mijn voorstel", after=mark)
    mark = await worker.send("/mijngegevens")
    sent = (await worker.api.async_wait_for("sendDocument", after=mark))[0]

    document = sent.params["document"]
    assert document["filename"] == "mijngegevens.json"
    data = json.loads(document["data"])
    assert data["gebruiker"]["team"] == "Wijkteam Noord" and data["gebruiker"]["rol"] == "worker"
    said = [m["tekst"] for m in data["berichten"] if m["richting"] == "van jou"]
    assert "mevrouw is erg wantrouwig" in said
    assert any(m["herkende_bedoeling"] == "describe_situation" for m in data["berichten"])


async def test_verwijder_asks_first_then_erases_everything_everywhere(
    worker: TelegramUser, rasa_stack: RasaStack
) -> None:
    mark = await worker.send("/verwijder")
    question = await worker.answer_with("Weet je het zeker?", after=mark)
    mark = await worker.tap_title(question, "Nee, bewaar alles")
    await worker.answer_with("ik heb niets gewist", after=mark)
    assert worker.account() is not None

    mark = await worker.send("/verwijder")
    question = await worker.answer_with("Weet je het zeker?", after=mark)
    assert said_to_rasa(rasa_stack, worker.pseudonym) != []
    mark = await worker.tap_title(question, "Ja, wis alles")
    await worker.answer_with("Alles is gewist", after=mark)

    assert worker.account() is None and worker.transcript() == []
    assert said_to_rasa(rasa_stack, worker.pseudonym) == []  # gone from Rasa's tracker store too
    mark = await worker.send("hoi")  # a stranger again now
    await worker.answer_with(NOT_INVITED, after=mark)
