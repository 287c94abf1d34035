"""Conversation leases (bot/leases.py): one process at a time answers a worker, on SQLite and
PostgreSQL; a dead holder's lease runs out and another process takes over."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest

from bot import access
from bot.db import Database
from bot.leases import Leases
from bot.models import Role


def _worker(db: Database) -> int:
    with db.session() as session:
        code = access.create_invite(session, Role.WORKER, "Wijkteam Noord", timedelta(hours=1))
        user = access.redeem(session, code, pseudonym="p-1", channel="telegram", chat_id=1)
        assert user is not None
        return user.id


@pytest.fixture(params=["sqlite", "postgresql"])
def db(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Database]:
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'leases.db'}"
    else:
        url = request.getfixturevalue("postgres_url")
    database = Database(url)
    database.migrate()
    yield database
    database.dispose()


def test_a_second_process_cannot_take_a_held_lease_until_it_is_given_back(db: Database) -> None:
    user_id = _worker(db)
    one, two = Leases(db, owner="bot-1"), Leases(db, owner="bot-2")

    async def scenario() -> list[bool]:
        seen = []
        async with one.hold(user_id) as held_by_one:
            seen.append(held_by_one)
            async with two.hold(user_id) as held_by_two:
                seen.append(held_by_two)
        async with two.hold(user_id) as held_after:
            seen.append(held_after)
        return seen

    assert asyncio.run(scenario()) == [True, False, True]


def test_a_lease_whose_holder_died_runs_out(db: Database) -> None:
    user_id = _worker(db)
    dead = Leases(db, ttl=timedelta(milliseconds=300), owner="crashed")
    assert dead._take(user_id)  # it took the lease and then died: nothing renews or gives it back
    survivor = Leases(db, owner="bot-2")

    async def attempts() -> tuple[bool, bool]:
        async with survivor.hold(user_id) as at_once:
            pass
        await asyncio.sleep(0.5)
        async with survivor.hold(user_id) as later:
            pass
        return at_once, later

    assert asyncio.run(attempts()) == (False, True)


def test_the_holder_renews_its_lease_while_it_works(db: Database) -> None:
    user_id = _worker(db)
    slow = Leases(db, ttl=timedelta(milliseconds=300), owner="bot-1")
    other = Leases(db, owner="bot-2")

    async def scenario() -> bool:
        async with slow.hold(user_id) as held:
            assert held
            await asyncio.sleep(0.8)  # longer than the ttl: Rasa taking its time
            async with other.hold(user_id) as stolen:
                return stolen

    assert asyncio.run(scenario()) is False
