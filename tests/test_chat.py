"""`make chat`: the terminal chat, along the same path a Telegram message takes."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from bot.chat import render, resolve
from bot.replies import Button, Reply
from tests.conftest import ROOT, free_port


def test_buttons_are_numbered_and_a_number_taps_one() -> None:
    text, buttons = render([Reply("Kies:", (Button("Ja", "/affirm"), Button("Nee", "/deny")))])
    assert text == "Kies:\n  [1] Ja\n  [2] Nee"
    assert resolve("2", buttons) == "/deny"
    assert resolve("3", buttons) == "3"
    assert resolve("hoi", buttons) == "hoi"


def _chat(tmp_path: Path, rasa_url: str, typed: str, expected_exit: int = 0) -> str:
    env = os.environ | {"RASA_URL": rasa_url, "DEUROPENER_DATA_DIR": str(tmp_path)}
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
def test_a_local_chat_session(tmp_path: Path, rasa_url: str) -> None:
    output = _chat(tmp_path, rasa_url, "hoi\n1\n2\n\nexit\n")
    assert "ik ben een coach" in output
    assert "[1] Contactstrategie kiezen" in output
    assert "Wat past het best bij je cliënt?" in output  # "1" tapped "Contactstrategie kiezen"
    assert "Mijn voorstel: Quid pro quo" in output  # "2" tapped the second situation
    assert "Ik zie geen tekst in je bericht" in output  # the empty line


def test_chat_says_how_to_start_the_assistant_when_it_is_not_running(tmp_path: Path) -> None:
    output = _chat(tmp_path, f"http://127.0.0.1:{free_port()}", "hoi\n", expected_exit=1)
    assert "make run" in output
