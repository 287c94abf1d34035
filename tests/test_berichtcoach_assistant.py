"""The contact message coach end to end: through the real Rasa and action servers (REST
channel), and once through Telegram (the real bot against the fake Bot API), where the bot
scrubs the draft before Rasa reads it."""

from __future__ import annotations

import pytest

from coach.scrubber import scrub
from scripts.message_report import load
from tests.bot_harness import TelegramUser, buttons_of
from tests.test_assistant import button_titles, say, texts
from tests.test_telegram import bot_user, worker  # noqa: F401  (fixtures: a registered worker)

pytestmark = pytest.mark.integration


def buttons(messages: list[dict]) -> dict[str, str]:
    return {b["title"]: b["payload"] for m in messages for b in m.get("buttons", [])}


ANSWERS = [
    "de wijkverpleegkundige van het wijkteam",
    "uw wond aan uw been",
    "de huisarts zag u drie weken niet",
    "de wond moet verzorgd worden",
    "wanneer ik kom en wie er komt",
    "u houdt de zalf zelf goed bij",
    "dinsdag om 10 uur",
]


def test_drafting_a_message_in_seven_questions_gives_three_tones_and_timing(
    rasa_url: str, sender: str
) -> None:
    first = say(rasa_url, sender, "help me een berichtje sturen")
    assert "Ik verstuur zelf niets" in texts(first)
    assert "Wie ben jij voor je cliënt?" in texts(first)
    messages = first
    for answer in ANSWERS:
        messages = say(rasa_url, sender, answer)
    text = texts(messages)
    assert "Hier is mijn voorstel" in text
    main = messages[1]["text"]  # the proposal alone, easy to copy
    assert main.startswith("Goedendag,") and "over uw wond aan uw been" in main
    assert "Mijn voorstel: dinsdag om 10 uur." in main
    assert "Formeler:" in text and "Persoonlijker:" in text and "over je wond aan je been" in text
    assert "Wanneer stuur je het?" in text and "Niet op het laatste moment" in text
    assert "Ik verstuur zelf niets naar je cliënt" in text
    assert "Let op" not in text  # the answers tripped nothing
    assert {"Mijn versie checken", "Bericht opstellen", "Menu"} <= set(button_titles(messages))

    # the worker edits the draft and has it checked
    asked = say(rasa_url, sender, buttons(messages)["Mijn versie checken"])
    assert "Plak of typ je bericht" in texts(asked)
    checked = say(rasa_url, sender, main.replace("Past dat niet?", "U moet er altijd zijn."))
    feedback = texts(checked)
    assert '"U moet" kan klinken als een verwijt' in feedback
    assert '"altijd" is een absoluut woord' in feedback


def test_a_skipped_question_and_a_stop_in_the_middle(rasa_url: str, sender: str) -> None:
    first = say(rasa_url, sender, "kun je me helpen met een sms aan een cliënt")
    skipped = say(rasa_url, sender, buttons(first)["Overslaan"])
    assert "Waarover neem je contact op?" in texts(skipped)
    stopped = say(rasa_url, sender, "stop")
    assert "we stoppen hiermee" in texts(stopped)


def test_check_a_draft_in_the_same_message(rasa_url: str, sender: str) -> None:
    messages = say(
        rasa_url,
        sender,
        "check mijn bericht: Beste mevrouw [naam], u heeft weer niet opengedaan. "
        "Dit is onverantwoord. Bel mij op [telefoon].",
    )
    text = texts(messages)
    assert "Ik zag een naam in je concept" in text
    assert "al uit je bericht gehaald" in text
    assert '"u heeft weer" en "onverantwoord" kunnen klinken als een verwijt' in text
    assert "Geen concrete volgende stap" not in text  # "bel mij" is a next step
    assert "Een voorstel, pas het gerust aan:" in text
    rewrite = messages[-1]["text"]
    assert "[naam]" not in rewrite and "weer" not in rewrite and "zorgelijk" in rewrite
    assert "Nog een bericht checken" in button_titles(messages)


def test_check_a_draft_asked_for_next(rasa_url: str, sender: str) -> None:
    asked = say(rasa_url, sender, "kun je mijn sms checken?")
    assert "Plak of typ je bericht" in texts(asked)
    messages = say(
        rasa_url,
        sender,
        "Goedemiddag, ik stuur u dit bericht omdat uw huisarts zich zorgen maakt over uw been. "
        "Fijn dat u de zalf zelf bijhoudt. Ik kom dinsdag om 10 uur langs.",
    )
    assert "Je bericht ziet er goed uit" in texts(messages)
    # the form is done: the next message is an ordinary one again
    assert "Hiermee kan ik je helpen" in texts(say(rasa_url, sender, "menu"))


def test_long_drafts_after_check_mijn_bericht_reach_the_checker(rasa_url: str, sender: str) -> None:
    """Every draft of the test set, typed after a request as a worker would: the NLU must not
    mistake the draft's content (GGZ, huur, thuiszorg ...) for a question."""
    requests = ["check mijn bericht: ", "kun je dit checken: ", "check mn sms\n", "is dit appje ok? "]
    cases = load("drafts") + load("held_out")
    missed = []
    for index, case in enumerate(cases):
        text = scrub(case.text).text  # as the bot passes it on
        answer = texts(say(rasa_url, f"{sender}-{index}", requests[index % len(requests)] + text))
        if "Ik heb je bericht bekeken" not in answer and "Je bericht ziet er goed uit" not in answer:
            missed.append(case.id)
    assert len(missed) <= len(cases) * 0.05, missed


def test_stop_while_asked_for_a_draft(rasa_url: str, sender: str) -> None:
    say(rasa_url, sender, "check mijn bericht")
    assert "we stoppen hiermee" in texts(say(rasa_url, sender, "stop"))


# --- Telegram -------------------------------------------------------------------------------


async def test_on_telegram_a_phone_number_in_a_draft_is_scrubbed_then_named(
    worker: TelegramUser,  # noqa: F811  (the fixture imported above)
) -> None:
    mark = await worker.send(
        "check mijn bericht: Goedemiddag, ik stuur u dit bericht over de huur. "
        "Fijn dat u belde. Bel mij op 06-12345678, dan maken we een afspraak."
    )
    await worker.answer_with("Ik zag een telefoonnummer in je concept", after=mark)
    text = worker.texts(mark)
    assert "Is het je eigen werknummer, dan kan het." in text
    assert "06-12345678" not in text
    last = worker.api.calls_of("sendMessage", after=mark)[-1]  # long answers come in parts
    assert "Nog een bericht checken" in buttons_of(last)
    stored = [m.text or "" for m in worker.transcript()]
    assert any("[telefoon]" in t for t in stored) and not any("06-12345678" in t for t in stored)

    mark = await worker.send("help me een berichtje sturen")
    await worker.answer_with("Wie ben jij voor je cliënt?", after=mark)
    for answer in ANSWERS:
        mark = await worker.send(answer)
        await worker.api.async_wait_idle(0.5)
    await worker.answer_with("Wanneer stuur je het?", after=mark)
    assert "Mijn versie checken" in buttons_of(worker.api.calls_of("sendMessage", after=mark)[-1])
    assert "Mijn voorstel: dinsdag om 10 uur." in worker.texts(mark)
