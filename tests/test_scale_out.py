"""Scale-out: two action servers, two Rasa servers and two bot processes in webhook mode behind
nginx, all state in PostgreSQL and Redis (tests/cluster.py). Workers talk through the fake Bot
API; one replica of each kind is killed (SIGKILL) while they talk. Every message must be
answered exactly once, each worker's answers in the order of their messages.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select

from bot import transcript
from bot.db import Database
from bot.models import Direction, Message, Status, User
from bot.telegram_render import BUTTONS_ONLY, keyboard, split_text
from tests.cluster import Cluster, nginx_binary
from tests.conftest import postgres_database, redis_up
from tests.fake_bot_api import FakeBotApi
from tests.workload import SCRIPTS, Tally, TelegramWorkers, Turn

WORKERS = 12
REDIS = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
# Two lines typed right after each other: nginx hands them to different bots.
BURST = [Turn("wat is nut bewijzen?", "Bron:"), Turn("en wat houdt quid pro quo in?", "Bron:")]


@pytest.fixture
def cluster(tmp_path: Path, api: FakeBotApi) -> Iterator[Cluster]:
    if nginx_binary() is None:
        pytest.fail("nginx is missing: `make test` installs Debian's nginx-light")
    if not redis_up():
        pytest.skip("Redis is not running on 127.0.0.1:6379 (.ci/run starts it)")
    with (
        postgres_database() as app_db,
        postgres_database() as tracker_db,
        Cluster(tmp_path, api.url, api.token, app_db, tracker_db, REDIS) as running,
    ):
        yield running


def _telegram_texts(row: Message) -> list[str]:
    """The Telegram messages one stored answer becomes (as bot/telegram_render.py sends it)."""
    reply = transcript.as_reply(row)
    return split_text(reply.text or (BUTTONS_ONLY if keyboard(reply.buttons) else ""))


def _without_repeats(texts: list[str]) -> list[str]:
    return [t for i, t in enumerate(texts) if i == 0 or t != texts[i - 1]]


def _transcript(database_url: str) -> tuple[list[Message], dict[int, int]]:
    """Every stored message, and the user id of each Telegram chat."""
    db = Database(database_url)
    try:
        with db.session() as session:
            messages = list(session.scalars(select(Message).order_by(Message.id)))
            users = {chat: user for user, chat in session.execute(select(User.id, User.chat_id))}
            return messages, users
    finally:
        db.dispose()


async def _burst(workers: TelegramWorkers, user_id: int, tally: Tally) -> None:
    """Two lines at once; both answered, the first answer before the second."""
    first, second = BURST
    mark = workers.mark()
    await workers.send(user_id, first.text)
    await workers.send(user_id, second.text)
    answer_one = await workers.answer(user_id, Turn("", "Nut bewijzen\nPast als"), mark)
    answer_two = await workers.answer(user_id, Turn("", "Quid pro quo\nPast als"), mark)
    if answer_one.index > answer_two.index:
        tally.errors.append(f"{user_id}: the answers to the burst came in the wrong order")


async def _run(cluster: Cluster, api: FakeBotApi) -> tuple[Tally, list[int]]:
    workers = TelegramWorkers(api, cluster.webhook_url, cluster.database_url)
    tally = Tally()
    users = [700_000 + i for i in range(WORKERS)]
    try:
        codes = workers.invites(WORKERS)
        await asyncio.gather(*(workers.register(u, c) for u, c in zip(users, codes, strict=True)))

        async def kill_one_of_each() -> None:
            # One replica of each kind dies while conversations are under way.
            for kind, after_turns in (("bot", 8), ("rasa", 20), ("actions", 32)):
                while len(tally.latencies) + len(tally.errors) < after_turns:
                    await asyncio.sleep(0.05)
                cluster.of(kind)[0].kill()

        async def worker(index: int, user_id: int) -> None:
            await workers.converse(user_id, SCRIPTS[index % len(SCRIPTS)], tally)
            await _burst(workers, user_id, tally)
            await workers.converse(user_id, SCRIPTS[(index + 1) % len(SCRIPTS)], tally)

        await asyncio.gather(kill_one_of_each(), *(worker(i, u) for i, u in enumerate(users)))
        await api.async_wait_idle(2.0, timeout=60)
        return tally, users
    finally:
        await workers.aclose()


@pytest.mark.timeout(1200)  # six processes load two models: minutes on a busy 2-core machine
def test_two_replicas_of_each_kind_answer_every_message_once_in_order_through_kills(
    cluster: Cluster, api: FakeBotApi
) -> None:
    assert len(api.webhook) and api.webhook["url"] == cluster.webhook_url
    try:
        tally, users = asyncio.run(_run(cluster, api))
    except TimeoutError as exc:  # show what the replicas said, for a run that can't be repeated
        raise AssertionError(f"{exc}\n{cluster.warnings_in_logs()}") from exc

    assert tally.errors == []
    assert [p.name for p in cluster.processes if not p.alive()] == ["actions-0", "rasa-0", "bot-0"]

    # Every message a worker sent is answered; none pending, lost or failed.
    stored, user_of_chat = _transcript(cluster.database_url)
    incoming = [m for m in stored if m.direction == Direction.IN.value]
    assert len(incoming) == WORKERS * (1 + 2 * 4 + 2)  # /start, two conversations, the burst
    assert {m.status for m in incoming} == {Status.ANSWERED.value}
    assert all(m.status == Status.SENT.value for m in stored if m.direction == Direction.OUT.value)

    # Exactly once, in order: what each worker received is what was stored for them, message
    # for message, and the stored answers follow the order of the worker's messages. The one
    # allowed difference: a message the killed bot had just sent when it died (before it could
    # mark it sent) is sent again by the bot that takes over — Telegram has no way to ask.
    for user_id in users:
        rows = [m for m in stored if m.user_id == user_of_chat[user_id]]
        expected = [
            part for row in rows if row.direction == Direction.OUT.value for part in _telegram_texts(row)
        ]
        received = [str(call.params.get("text")) for call in api.per_chat().get(user_id, [])]
        assert _without_repeats(received) == _without_repeats(expected), f"worker {user_id}"
        # At most the one message the killed bot was sending to this worker when it died.
        assert len(received) - len(expected) in (0, 1), f"worker {user_id}: {received}"
        answered = [m.reply_to_id for m in rows if m.direction == Direction.OUT.value and m.reply_to_id]
        assert answered == sorted(answered), f"worker {user_id}: answers out of order"

    # The survivors logged no errors (a killed replica's log is left out).
    survivors = [p for p in cluster.processes if p.alive()]
    assert [e for e in cluster.errors_in_logs() if e.split(":")[0] in {p.name for p in survivors}] == []
