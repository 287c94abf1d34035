"""Bad input, fuzzed (issue 5): generated messages through scrubbing, the input check, the
crisis detector, Rasa and rendering — no crash, no unescaped formatting, every message
answered exactly once.

The messages come from scripts/fuzz_report.py (seeded, only what the Bot API can deliver).
By default a CI-sized slice runs; `make fuzz` sets the full numbers (10,000 in-process and
through Rasa's `/model/parse`, 300 through the whole bot) and writes results/fuzz-report.md.
"""

from __future__ import annotations

import asyncio
import collections
import dataclasses
import os
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import pytest_asyncio
from sqlalchemy import select

from bot import access
from bot.conversation import Conversation
from bot.db import Database
from bot.inbound import typed
from bot.models import Direction, Message, Status
from bot.rasa_client import RasaClient
from bot.replies import MENU_BUTTON, Reply
from bot.telegram_render import send_reply, split_text
from coach import input_check
from coach.cases import clean_label
from scripts.fuzz_report import (
    GENERATORS,
    TELEGRAM_MAX,
    Figures,
    check_in_process,
    deliverable,
    formatting_errors,
    messages,
    part_errors,
    utf16_len,
    write_report,
)
from storage.cases import CaseRepository
from tests.bot_harness import TelegramUser, make_settings, running_bot
from tests.fake_bot_api import FakeBotApi
from tests.rasa_stack import RasaStack

# CI-sized by default (about a minute in-process, plus Rasa's start); `make fuzz` sets more.
IN_PROCESS = int(os.environ.get("FUZZ_MESSAGES", "1200"))
VIA_RASA = int(os.environ.get("FUZZ_RASA_MESSAGES", "300"))
VIA_BOT = int(os.environ.get("FUZZ_BOT_MESSAGES", "30"))
REPORT = os.environ.get("FUZZ_REPORT")  # set by `make fuzz`
RASA_CONCURRENCY = 8
BOT_WORKERS = 3

# Figures gathered by the tests, for the report (written after the last test, if asked for).
FIGURES: dict[str, Any] = {}


@pytest.fixture(scope="module")
def fuzz() -> list[tuple[str, str]]:
    return messages(max(IN_PROCESS, VIA_RASA, VIA_BOT))


@pytest.fixture(scope="module", autouse=True)
def report() -> Iterator[None]:
    yield
    if REPORT and {"in_process", "rasa", "bot"} <= FIGURES.keys():
        write_report(Path(REPORT), Figures(**FIGURES["in_process"], **FIGURES["rasa"], **FIGURES["bot"]))


# --- the generator -----------------------------------------------------------------------


def test_the_messages_cover_every_kind_and_only_what_telegram_can_deliver(
    fuzz: list[tuple[str, str]],
) -> None:
    kinds = collections.Counter(kind for kind, _ in fuzz)
    assert set(kinds) == set(GENERATORS) and min(kinds.values()) >= len(fuzz) // len(GENERATORS)
    texts = [text for _, text in fuzz]
    assert all(deliverable(text) for text in texts)
    assert any(utf16_len(text) == TELEGRAM_MAX for text in texts)  # Telegram's longest message
    assert any("\x00" in text for text in texts)
    assert any("\u202e" in text for text in texts)  # right-to-left override
    assert any(ord(ch) > 0xFFFF for text in texts for ch in text)  # beyond the BMP
    assert any("<b>" in text for text in texts) and any("||" in text for text in texts)
    assert messages(50) == messages(50)  # seeded: a failure can be replayed


def test_telegram_cannot_deliver_lone_surrogates_empty_or_over_long_texts() -> None:
    assert not deliverable("a\ud800b")
    assert not deliverable("")
    assert not deliverable(" \n ")
    assert not deliverable("😀" * (TELEGRAM_MAX // 2 + 1))  # each emoji is two UTF-16 units
    assert deliverable("😀" * (TELEGRAM_MAX // 2))


# --- the formatting check itself ---------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "mode", "ok"),
    [
        ("a <b>vet</b> &amp; &lt;3", "HTML", True),
        ("x < y", "HTML", False),
        ("<b>open", "HTML", False),
        ("<script>x</script>", "HTML", False),
        ("Tom & Jerry", "HTML", False),
        ("<b><i>x</b></i>", "HTML", False),
        ("Prijs: 5\\.00 \\(ex\\)", "MarkdownV2", True),
        ("Prijs: 5.00", "MarkdownV2", False),
        ("*vet*", "MarkdownV2", False),
        ("<b>*alles mag*</b> & [zo](x)", None, True),
    ],
)
def test_the_formatting_check_knows_telegrams_parse_modes(text: str, mode: str | None, ok: bool) -> None:
    assert (formatting_errors(text, mode) == []) is ok


# --- in-process: scrubbing, input check, crisis detector, rendering ---------------------


def test_every_message_survives_scrubbing_checks_and_rendering(fuzz: list[tuple[str, str]]) -> None:
    check_in_process("hallo")  # loads the language data, so the timing below is per message
    start = time.perf_counter()
    answers: collections.Counter[str] = collections.Counter()
    problems = []
    slowest = (0.0, "")
    for kind, text in fuzz[:IN_PROCESS]:
        began = time.perf_counter()
        outcome = check_in_process(text)
        slowest = max(slowest, (time.perf_counter() - began, f"{kind}, {utf16_len(text):,} units"))
        answers[outcome.answer] += 1
        problems += [f"{kind}: {text[:60]!r}: {p}" for p in outcome.problems]
    FIGURES["in_process"] = {
        "messages": IN_PROCESS,
        "by_kind": dict(collections.Counter(kind for kind, _ in fuzz[:IN_PROCESS])),
        "in_process_seconds": time.perf_counter() - start,
        "in_process_problems": problems,
        "answers": dict(answers),
        "slowest": slowest,
    }
    assert problems == []
    assert "crash" not in answers
    # Every kind of first answer occurs: nothing is silently dropped into one bucket.
    assert answers["rasa"] and answers["guard:no_words"] and answers["guard:too_long"]
    assert any(answer.startswith("crisis:") for answer in answers)


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("\x00", input_check.InputProblem.EMPTY),  # control characters are dropped on arrival
        ("\u200b\u200d\ufeff", input_check.InputProblem.NO_WORDS),  # invisible only
        ("\u202e\u2066", input_check.InputProblem.NO_WORDS),  # bidi controls only
        ("😀" * 2001, input_check.InputProblem.TOO_LONG),
        ("<b></b>", None),  # letters: the assistant answers it
        ("مرحبا", None),  # another script: Rasa's fallback answers it (in Dutch)
    ],
)
def test_unreadable_messages_get_the_friendly_guard_answer(text: str, problem: object) -> None:
    outcome = check_in_process(text)
    expected = "rasa" if problem is None else f"guard:{problem.value}"  # type: ignore[attr-defined]
    assert outcome.answer == expected and outcome.problems == []


def test_crisis_words_hidden_between_emoji_and_controls_are_still_found() -> None:
    assert check_in_process("hij staat 😱😱 met een mes\u200b in de gang").answer == "crisis:acute_danger"
    assert check_in_process("ze zei dat ze er niet meer wil zijn \x00\x00").answer == "crisis:suicide"


def test_control_characters_are_dropped_but_line_breaks_emoji_and_bidi_marks_stay() -> None:
    assert input_check.without_controls("a\x00b\x1b[31m\x85c\x7f") == "ab[31mc"
    kept = "regel 1\n\tregel 2\r\n👨\u200d👩\u200d👧 \u200fשלום"
    assert input_check.without_controls(kept) == kept


def test_a_nul_in_a_typed_case_label_is_dropped_before_it_reaches_postgresql(postgres_url: str) -> None:
    """Found by fuzzing: NUL went into the transcript and on to Rasa; a case label typed with
    one reached PostgreSQL, whose text columns refuse NUL (the action failed)."""
    db = Database(postgres_url)
    db.migrate()
    try:
        rasa = RasaClient("http://127.0.0.1:9")  # not reached: receiving only stores the message
        conversation = Conversation(db, rasa, access.Pseudonyms(b"k" * 16), "fuzz")
        ticket = conversation.receive("worker", typed("cliënt\x00 A"), register_local=True)
        assert ticket.user is not None
        with db.session() as session:
            stored = session.scalars(select(Message).where(Message.user_id == ticket.user.id)).one()
        assert stored.text == "cliënt A"  # what Rasa and the flow's label step get
        case = CaseRepository(ticket.user.pseudonym, postgres_url).create(clean_label(stored.text))
        assert case.label == "cliënt A"
    finally:
        db.dispose()


class _RecordingBot:
    """Stands in for telegram.Bot in send_reply: records what would go to the Bot API."""

    def __init__(self) -> None:
        self.sent: list[dict[str, Any]] = []

    async def send_message(self, **params: Any) -> None:
        self.sent.append(params)


def test_sending_a_fuzzed_text_keeps_it_plain_whole_and_within_telegrams_limits(
    fuzz: list[tuple[str, str]],
) -> None:
    async def render(text: str) -> list[dict[str, Any]]:
        bot = _RecordingBot()
        await send_reply(bot, 1, Reply(text, (MENU_BUTTON,)))  # type: ignore[arg-type]
        return bot.sent

    for kind, text in fuzz[:300]:
        sent = asyncio.run(render(text))
        parts = [call["text"] for call in sent]
        assert part_errors(parts) == [], (kind, text[:60])
        assert all(formatting_errors(call["text"], call.get("parse_mode")) == [] for call in sent)
        assert "".join("".join(parts).split()) == "".join(text.split()), (kind, text[:60])
        assert sent[-1]["reply_markup"] is not None  # the menu button under the last part
        assert parts == split_text(text)


# --- Rasa NLU --------------------------------------------------------------------------------


async def _parse_all(rasa: RasaStack, texts: list[str]) -> tuple[list[str], collections.Counter[str]]:
    errors: list[str] = []
    intents: collections.Counter[str] = collections.Counter()
    queue: asyncio.Queue[str] = asyncio.Queue()
    for text in texts:
        queue.put_nowait(text)

    async def worker(client: httpx.AsyncClient) -> None:
        while not queue.empty():
            text = queue.get_nowait()
            try:
                answer = await client.post(
                    f"{rasa.url}/model/parse", params={"token": rasa.token}, json={"text": text}
                )
                answer.raise_for_status()
                body = answer.json()
                intent = (body.get("intent") or {}).get("name")
                if not intent or body.get("text") != text.strip():  # Rasa strips the text
                    errors.append(f"{text[:60]!r}: no intent or text changed: {str(body)[:120]}")
                intents[intent or "-"] += 1
            except (httpx.HTTPError, ValueError) as exc:
                errors.append(f"{text[:60]!r}: {type(exc).__name__}: {exc}")

    async with httpx.AsyncClient(timeout=120) as client:
        await asyncio.gather(*(worker(client) for _ in range(RASA_CONCURRENCY)))
    return errors, intents


@pytest.mark.integration
def test_rasa_parses_every_fuzzed_message(fuzz: list[tuple[str, str]], rasa_stack: RasaStack) -> None:
    # What reaches Rasa: the scrubbed text, for messages the input check and crisis detector let through.
    texts = []
    for _, text in fuzz[:VIA_RASA]:
        outcome = check_in_process(text)
        texts.append(outcome.scrubbed if outcome.answer == "rasa" else text)
    start = time.perf_counter()
    errors, intents = asyncio.run(_parse_all(rasa_stack, texts))
    FIGURES["rasa"] = {
        "rasa_messages": len(texts),
        "rasa_seconds": time.perf_counter() - start,
        "rasa_concurrency": RASA_CONCURRENCY,
        "rasa_errors": errors,
        "intents": intents,
    }
    assert errors == []
    assert sum(intents.values()) == len(texts)


# --- the whole path: fake Bot API -> bot -> Rasa -> action server -> reply ----------------


@pytest_asyncio.fixture
async def workers(tmp_path: Path, rasa_stack: RasaStack) -> AsyncIterator[list[TelegramUser]]:
    with FakeBotApi() as api:
        settings = make_settings(tmp_path, api, rasa_stack)
        async with running_bot(settings, api) as first:
            users = [first] + [
                dataclasses.replace(first, user_id=first.user_id + n) for n in range(1, BOT_WORKERS)
            ]
            for user in users:
                await user.register()
            yield users


@pytest.mark.integration
async def test_every_fuzzed_message_through_the_bot_gets_exactly_one_answer(
    fuzz: list[tuple[str, str]], workers: list[TelegramUser]
) -> None:
    api = workers[0].api
    mark = api.mark()
    before = {user.user_id: max(m.id for m in user.transcript()) for user in workers}
    texts = [text for _, text in fuzz[:VIA_BOT]]
    start = time.perf_counter()
    for index, text in enumerate(texts):  # the workers type at the same time
        await workers[index % len(workers)].send(text)
    deadline = time.monotonic() + 60 + 3 * len(texts)
    first_new = min(before.values()) + 1
    while time.monotonic() < deadline and not _all_answered(workers[0], first_new, len(texts)):
        await asyncio.sleep(0.5)
    await api.async_wait_idle(1.0, timeout=120)
    seconds = time.perf_counter() - start

    problems = []
    outgoing_parts = 0
    for user in workers:
        stored = [m for m in user.transcript() if m.id > before[user.user_id]]
        inbound = [m for m in stored if m.direction == Direction.IN]
        replies: dict[int, list[Message]] = collections.defaultdict(list)
        for m in stored:
            if m.direction == Direction.OUT and m.reply_to_id is not None:
                replies[m.reply_to_id].append(m)
        for m in inbound:
            answers = replies.get(m.id, [])
            if m.status != Status.ANSWERED:
                problems.append(f"message {m.id} {m.text[:40]!r}: status {m.status}")
            if not answers:
                problems.append(f"message {m.id} {m.text[:40]!r}: no answer")
            if any(a.status != Status.SENT for a in answers):
                problems.append(f"message {m.id}: an answer was not sent")
            if any(a.text and a.text.startswith("Ik ben er weer") for a in answers):
                problems.append(f"message {m.id}: answered late (Rasa seemed away)")
            if any(a.text and "even niet bereikbaar" in a.text for a in answers):
                problems.append(f"message {m.id}: the worker was told the assistant was away")
        outgoing_parts += sum(len(split_text(m.text or "")) for m in stored if m.direction == Direction.OUT)
        if len(inbound) != sum(1 for t in texts[workers.index(user) :: len(workers)]):
            problems.append(f"worker {user.user_id}: {len(inbound)} messages stored of those sent")
    calls = api.calls_of("sendMessage", after=mark)
    parse_modes = collections.Counter(
        str(call.params.get("parse_mode", "none (plain text)")) for call in calls
    )
    for call in calls:
        if call.error:
            problems.append(f"sendMessage refused: {call.error}")
        problems += [
            f"sendMessage: {e}" for e in formatting_errors(call.params["text"], call.params.get("parse_mode"))
        ]
    if len(calls) != outgoing_parts:  # nothing sent twice, nothing sent that was not stored
        problems.append(f"{len(calls)} sendMessage calls for {outgoing_parts} stored answer parts")
    FIGURES["bot"] = {
        "bot_messages": len(texts),
        "bot_workers": len(workers),
        "bot_seconds": seconds,
        "bot_problems": problems,
        "sent_messages": len(calls),
        "parse_modes": dict(parse_modes),
    }
    assert problems == []
    assert sum(len(u.transcript()) for u in workers) > 2 * len(texts)


def _all_answered(user: TelegramUser, first_id: int, count: int) -> bool:
    """Whether `count` incoming messages from `first_id` on are stored and none waits any more."""
    with user.db.session() as session:
        statuses = session.scalars(
            select(Message.status).where(Message.direction == Direction.IN, Message.id >= first_id)
        ).all()
    return len(statuses) >= count and all(s not in (Status.RECEIVED, Status.PENDING) for s in statuses)
