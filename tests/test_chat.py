"""`make chat`: the terminal chat, along the same path a Telegram message takes."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import select

from bot.chat import render, resolve
from bot.db import Database
from bot.inbound import Kind
from bot.models import Message, User
from bot.replies import Button, Reply
from tests.conftest import ROOT, free_port
from tests.rasa_stack import RasaStack


def test_buttons_are_numbered_and_a_number_taps_one() -> None:
    text, buttons = render([Reply("Kies:", (Button("Ja", "/affirm"), Button("Nee", "/deny")))])
    assert text == "Kies:\n  [1] Ja\n  [2] Nee"
    tapped = resolve("2", buttons)
    assert (tapped.kind, tapped.text, tapped.payload) == (Kind.BUTTON, "Nee", "/deny")
    assert (resolve("3", buttons).kind, resolve("3", buttons).text) == (Kind.TEXT, "3")
    assert resolve("hoi", buttons).text == "hoi"
    assert resolve("/privacy", buttons).kind == Kind.COMMAND


def _chat(tmp_path: Path, rasa: RasaStack | str, typed: str, expected_exit: int = 0) -> str:
    env = os.environ | {"DEUROPENER_DATA_DIR": str(tmp_path)}
    if isinstance(rasa, RasaStack):
        env |= {"RASA_URL": rasa.url, "RASA_AUTH_TOKEN": rasa.token, "ACTION_SERVER_URL": rasa.action_url}
    else:
        env |= {"RASA_URL": rasa, "ACTION_SERVER_URL": rasa + "/webhook"}
    done = subprocess.run(
        [sys.executable, "-m", "bot", "chat"],
        cwd=ROOT,
        env=env,
        input=typed.encode(),
        capture_output=True,
        timeout=120,
    )
    assert done.returncode == expected_exit, done.stderr.decode()[-2000:]
    return done.stdout.decode()


@pytest.mark.integration
def test_a_local_chat_session_needs_no_invite_and_keeps_a_transcript(
    tmp_path: Path, rasa_stack: RasaStack
) -> None:
    output = _chat(tmp_path, rasa_stack, "hoi\n1\n2\n\n/privacy\nexit\n")
    assert "ik ben een coach" in output  # no invite asked: the local user is a registered worker
    assert "[1] Contactstrategie kiezen" in output
    assert "Wat past het best bij je cliënt?" in output  # "1" tapped "Contactstrategie kiezen"
    assert "Mijn voorstel: Quid pro quo" in output  # "2" tapped the second situation
    assert "Ik zie geen tekst in je bericht" in output  # the empty line
    assert "Zo ga ik om met je gegevens" in output

    db = Database(f"sqlite:///{tmp_path / 'deuropener.db'}")
    with db.session() as session:
        user = session.scalars(select(User)).one()
        assert (user.channel, user.role, user.team.name) == ("local", "worker", "lokaal")
        incoming = session.scalars(
            select(Message).where(Message.direction == "in").order_by(Message.id)
        ).all()
        assert len(incoming) == 5 and all(m.status == "answered" for m in incoming)
        assert [incoming[0].text, incoming[1].text, incoming[4].text] == [
            "hoi",
            "Contactstrategie kiezen",
            "/privacy",
        ]
        assert incoming[1].intent == "ask_strategy" and incoming[1].flow == "strategy"
    db.dispose()


def test_chat_says_how_to_start_the_assistant_when_it_is_not_running(tmp_path: Path) -> None:
    output = _chat(tmp_path, f"http://127.0.0.1:{free_port()}", "hoi\n", expected_exit=1)
    assert "make run" in output
