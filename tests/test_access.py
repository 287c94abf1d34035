"""Access control and the transcript store, on a real (SQLite) database: no Rasa needed."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, time, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from bot import access, transcript
from bot.db import Database
from bot.inbound import typed
from bot.models import Case, Invite, Role, Stranger, User
from bot.models.dashboard import AuditEntry, Comment, SharedCase, Sharing
from bot.models.nudge import NudgeSchedule
from bot.replies import Button, Reply
from tests.conftest import ROOT

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)


@pytest.fixture
def db(tmp_path: Path) -> Iterator[Database]:
    database = Database(f"sqlite:///{tmp_path / 'app.db'}")
    database.migrate()
    yield database
    database.dispose()


def _redeem(db: Database, code: str, who: str, when: datetime = NOW) -> User | None:
    with db.session() as session:
        return access.redeem(session, code, pseudonym=who, channel="telegram", chat_id=1, now=when)


def test_an_invite_registers_once_with_its_role_and_team(db: Database) -> None:
    with db.session() as session:
        code = access.create_invite(
            session, Role.SUPERVISOR, "  Wijkteam   Noord ", timedelta(hours=2), now=NOW
        )
    assert len(code) == 12 and code.replace("-", "").replace("_", "").isalnum()  # deep-link safe

    user = _redeem(db, code, "alice")
    assert user is not None and (user.role, user.team.name) == ("supervisor", "Wijkteam Noord")
    assert _redeem(db, code, "bob") is None  # single use
    with db.session() as session:
        invite = session.scalars(select(Invite)).one()
        assert invite.used_by_id == user.id and invite.code_hash != code  # only a hash is stored


def test_an_expired_or_unknown_code_registers_nobody(db: Database) -> None:
    with db.session() as session:
        code = access.create_invite(session, Role.WORKER, "Team", timedelta(hours=1), now=NOW)
    assert _redeem(db, code, "late", when=NOW + timedelta(hours=1, seconds=1)) is None
    assert _redeem(db, "geen-echte-code", "guess") is None
    assert _redeem(db, code, "in-time", when=NOW + timedelta(minutes=59)) is not None


def test_invites_need_a_team_and_some_time(db: Database) -> None:
    with db.session() as session, pytest.raises(ValueError):
        access.create_invite(session, Role.WORKER, "   ", timedelta(hours=1))
    with db.session() as session, pytest.raises(ValueError):
        access.create_invite(session, Role.WORKER, "Team", timedelta(0))
    with db.session() as session, pytest.raises(ValueError):
        access.create_invite(session, "beheerder", "Team", timedelta(hours=1))  # type: ignore[arg-type]


def test_strangers_are_only_counted_and_forgotten_once_registered(db: Database) -> None:
    with db.session() as session:
        assert [access.count_stranger(session, "carol") for _ in range(3)] == [1, 2, 3]
        code = access.create_invite(session, Role.WORKER, "Team", timedelta(hours=1))
    assert _redeem(db, code, "carol", when=datetime.now(UTC)) is not None
    with db.session() as session:
        assert session.get(Stranger, "carol") is None


def test_pseudonyms_are_stable_per_key_and_reveal_no_id() -> None:
    one, other = access.Pseudonyms(b"key-1"), access.Pseudonyms(b"key-2")
    assert one.of("telegram", "123456") == one.of("telegram", "123456")
    assert one.of("telegram", "123456") != one.of("local", "123456") != other.of("telegram", "123456")
    assert "123456" not in one.of("telegram", "123456") and len(one.of("telegram", "123456")) == 32


def test_the_local_user_is_a_registered_worker_without_invite(db: Database) -> None:
    with db.session() as session:
        first = access.local_user(session, "dev")
        again = access.local_user(session, "dev")
        assert first.id == again.id and (first.role, first.team.name, first.chat_id) == (
            "worker",
            "lokaal",
            None,
        )


def test_export_holds_everything_and_erase_removes_everything(db: Database) -> None:
    with db.session() as session:
        user = access.local_user(session, "dev")
        session.add(Case(owner=user.pseudonym, label="cliënt A", flows={"verzamelen": {"step": 2}}))
        session.add(Case(owner="someone else", label="cliënt B", flows={}))
        incoming = transcript.receive(session, user, typed("mevrouw is wantrouwig"), "mevrouw is wantrouwig")
        assert incoming is not None
        transcript.queue(
            session,
            user.id,
            [Reply("Mijn voorstel", (Button("Menu", "/ask_capabilities"),))],
            reply_to=incoming,
        )
        transcript.label_turn(session, incoming.id, "describe_situation", 0.97, "strategy")
        session.flush()
        case_a = session.scalars(select(Case).where(Case.label == "cliënt A")).one()
        session.add_all(
            [
                Sharing(user_id=user.id, mode="cases"),
                SharedCase(user_id=user.id, case_id=case_a.id),
                Comment(worker_id=user.id, message_id=incoming.id, text="Mooi gevraagd!", reply="Dank je"),
                AuditEntry(
                    actor_role="supervisor", action="view_transcript", worker_id=user.id, what="gesprek 1"
                ),
                NudgeSchedule(user_id=user.id, rhythm="weekly", weekday=4, local_time=time(15, 0)),
            ]
        )
    with db.session() as session:
        stored = session.get(User, user.id)
        assert stored is not None
        data = transcript.export(session, stored)
    assert data["delen_met_begeleider"] == {"keuze": "cases", "gedeelde_cliënten": ["cliënt A"]}
    assert data["feedback_van_begeleider"][0]["tekst"] == "Mooi gevraagd!"
    assert data["feedback_van_begeleider"][0]["jouw_reactie"] == "Dank je"
    assert data["wie_je_gesprekken_bekeek"][0]["rol"] == "supervisor"
    assert data["herinneringen"]["ritme"] == "weekly" and data["herinneringen"]["tijd"] == "15:00"
    assert data["gebruiker"]["team"] == "lokaal"
    assert [(m["richting"], m["tekst"], m["onderwerp"]) for m in data["berichten"]] == [
        ("van jou", "mevrouw is wantrouwig", "strategy"),
        ("van Deuropener", "Mijn voorstel", "strategy"),
    ]
    assert data["berichten"][0]["zekerheid"] == 0.97 and data["berichten"][1]["knoppen"] == ["Menu"]
    assert [(c["label"], c["voortgang"]) for c in data["cliënten"]] == [
        ("cliënt A", {"verzamelen": {"step": 2}})
    ]

    with db.session() as session:
        stored = session.get(User, user.id)
        assert stored is not None
        transcript.erase(session, stored)
    with db.session() as session:
        assert session.get(User, user.id) is None and transcript.count(session) == 0
        assert session.scalars(select(Case.label)).all() == ["cliënt B"]  # only their own cases go


def test_a_redelivered_update_is_stored_once(db: Database) -> None:
    with db.session() as session:
        user = access.local_user(session, "dev")
        assert transcript.receive(session, user, typed("hoi"), "hoi", update_id=41) is not None
        assert transcript.receive(session, user, typed("hoi"), "hoi", update_id=41) is None
        assert transcript.count(session, user.id) == 1


def test_the_admin_command_makes_invites_and_lists_teams(tmp_path: Path) -> None:
    def admin(*args: str, exit_code: int = 0) -> subprocess.CompletedProcess[str]:
        done = subprocess.run(
            [sys.executable, "-m", "bot", "admin", *args],
            cwd=ROOT,
            env=os.environ | {"DEUROPENER_DATA_DIR": str(tmp_path)},
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert done.returncode == exit_code, done.stderr
        return done

    made = admin("invite", "--role", "supervisor", "--team", "Jeugdteam West", "--expires-hours", "2").stdout
    code = made.split("Invite code: ", 1)[1].split()[0]
    assert f"/start {code}" in made and "team Jeugdteam West" in made and "works once" in made
    assert "Jeugdteam West: 0 member(s), 1 open invite(s)" in admin("teams").stdout
    assert "invalid choice" in admin("invite", "--role", "beheerder", "--team", "X", exit_code=2).stderr
