"""Encryption at rest (bot.crypto): message text and case answers are stored encrypted, legacy
plain rows still read, and keys rotate without downtime (`python -m bot admin rotate-key`,
`reencrypt`, `drop-old-keys`)."""

from __future__ import annotations

import asyncio
import dataclasses
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select, text

from bot import access, crypto, transcript
from bot.access import LOCAL_CHANNEL
from bot.admin import reencrypt
from bot.conversation import open_conversation
from bot.db import Database
from bot.inbound import typed
from bot.models import Case, Message, Role, User
from bot.settings import DATA_KEYS_FILE, Settings, new_data_key
from tests.conftest import ROOT

SECRET = "cliënt A opent de deur niet en heeft schulden"
ANSWERS = {"verzamelen": {"step": 3, "answers": {"zorgen": "woont alleen, vervuilde woning"}}}


@pytest.fixture(autouse=True)
def restore_ring() -> Iterator[None]:
    """Tests here configure their own keys; the session's keys come back afterwards."""
    yield
    crypto.configure(os.environ["DEUROPENER_DATA_KEYS"])


def _db(url: str) -> Database:
    db = Database(url)
    db.migrate()
    return db


def _store(db: Database, pseudonym: str = "p1") -> tuple[int, int]:
    """A worker's message and case, through the code that stores them; their ids."""
    with db.session() as session:
        user = access.local_user(session, pseudonym)
        message = transcript.receive(session, user, typed(SECRET), SECRET)
        case = Case(owner=pseudonym, label="cliënt A", flows=ANSWERS)
        session.add(case)
        session.flush()
        assert message is not None
        return message.id, case.id


def _read(db: Database, message_id: int, case_id: int) -> tuple[str | None, object]:
    with db.session() as session:
        message, case = session.get(Message, message_id), session.get(Case, case_id)
        assert message is not None and case is not None
        return message.text, case.flows


def _raw(db: Database) -> list[str]:
    """What is really in the database: message texts and case answers, undecrypted."""
    with db.engine.connect() as connection:
        texts = connection.execute(text("SELECT text FROM messages WHERE text IS NOT NULL")).scalars()
        flows = connection.execute(text("SELECT flows FROM cases")).scalars()
        return [*texts, *flows]


@pytest.fixture
def db(tmp_path: Path) -> Iterator[Database]:
    database = _db(f"sqlite:///{tmp_path / 'app.db'}")
    yield database
    database.dispose()


def test_message_text_and_case_answers_are_stored_encrypted_and_read_back(db: Database) -> None:
    crypto.configure(new_data_key())
    ids = _store(db)
    raw = _raw(db)
    assert len(raw) == 2 and all(value.startswith(crypto.PREFIX) for value in raw)
    assert not any("cliënt" in value or "schulden" in value or "vervuilde" in value for value in raw)
    assert _read(db, *ids) == (SECRET, ANSWERS)
    with db.session() as session:  # the export a worker gets is readable
        user = access.find_user(session, "p1")
        assert user is not None
        exported = transcript.export(session, user)
    assert exported["berichten"][0]["tekst"] == SECRET and exported["cliënten"][0]["voortgang"] == ANSWERS


def test_the_same_text_never_looks_the_same_stored(db: Database) -> None:
    crypto.configure(new_data_key())
    _store(db, "p1")
    _store(db, "p2")
    texts = _raw(db)
    assert len(set(texts)) == 4  # two equal messages, two equal answer sets: four different ciphertexts
    with db.session() as session, pytest.raises(TypeError, match="compare in Python"):
        session.scalars(select(Message).where(Message.text == SECRET))


def test_rows_written_before_encryption_still_read_and_reencrypt_encrypts_them(db: Database) -> None:
    crypto.configure(new_data_key())
    ids = _store(db)
    with db.engine.begin() as connection:  # as migration 0003 left them: plain text, plain JSON
        connection.execute(text("UPDATE messages SET text = :t"), {"t": SECRET})
        connection.execute(text("UPDATE cases SET flows = :f"), {"f": '{"verzamelen": {"step": 1}}'})
    assert _read(db, *ids) == (SECRET, {"verzamelen": {"step": 1}})

    done = reencrypt(db, crypto.ring(), batch_size=1)
    assert (done.rewritten, done.plaintext, done.changed) == (2, 2, 0)
    assert all(value.startswith(crypto.PREFIX) for value in _raw(db))
    assert _read(db, *ids) == (SECRET, {"verzamelen": {"step": 1}})


def test_rotation_old_rows_read_with_both_keys_and_after_reencrypt_the_old_key_can_go(db: Database) -> None:
    old, new = new_data_key(), new_data_key()
    crypto.configure(old)
    old_ids = _store(db, "p1")
    crypto.configure([new, old])  # step 1: the new key first, the old one after it
    assert _read(db, *old_ids) == (SECRET, ANSWERS)
    new_ids = _store(db, "p2")  # written with the new key
    with pytest.raises(crypto.DataKeyError):
        crypto.configure(old)
        _read(db, *new_ids)

    crypto.configure([new, old])
    assert reencrypt(db, crypto.ring(), dry_run=True).rewritten == 2  # the old message and case
    done = reencrypt(db, crypto.ring(), batch_size=1)  # step 2
    assert (done.rewritten, done.current, done.plaintext) == (2, 2, 0)
    assert reencrypt(db, crypto.ring(), dry_run=True).rewritten == 0

    crypto.configure(new)  # step 3: the old key dropped
    assert _read(db, *old_ids) == (SECRET, ANSWERS) and _read(db, *new_ids) == (SECRET, ANSWERS)


def test_a_wrong_key_or_altered_data_is_a_clear_error_not_garbage(db: Database) -> None:
    crypto.configure(new_data_key())
    ids = _store(db)
    crypto.configure(new_data_key())
    with pytest.raises(crypto.DataKeyError, match="not in DEUROPENER_DATA_KEYS"):
        _read(db, *ids)

    crypto.configure(crypto.ring().keys)
    stored = crypto.ring().encrypt(SECRET)
    altered = stored[:-6] + ("A" if stored[-6] != "A" else "B") + stored[-5:]
    with pytest.raises(crypto.DataKeyError, match="altered"):
        crypto.ring().decrypt(altered)
    with pytest.raises(crypto.DataKeyError, match=r"key 2 of 2 .* is not a valid key"):
        crypto.configure(f"{new_data_key()}, not-a-key")
    with pytest.raises(crypto.DataKeyError, match="no data keys"):
        crypto.configure(" , ")


def test_the_bot_refuses_to_start_with_keys_that_cannot_read_the_stored_data(tmp_path: Path) -> None:
    """Say the operator drops the old key too early, or sets a wrong one: nothing is written with it."""
    old = new_data_key()
    settings = Settings(
        data_dir=tmp_path,
        database_url=f"sqlite:///{tmp_path / 'app.db'}",
        rasa_url="http://127.0.0.1:1",
        rasa_timeout=1.0,
        telegram_token=None,
        telegram_api_base_url=None,
        pseudonym_secret=b"pseudonyms",
        data_keys=old,
    )
    crypto.configure(old)
    db = _db(settings.database_url)
    _store(db)
    db.dispose()
    with pytest.raises(
        crypto.DataKeyError, match=r"(messages\.text|cases\.flows): .*not in DEUROPENER_DATA_KEYS.*Not start"
    ):
        open_conversation(dataclasses.replace(settings, data_keys=new_data_key()), LOCAL_CHANNEL)
    _, rasa, db = open_conversation(
        dataclasses.replace(settings, data_keys=f"{new_data_key()},{old}"), LOCAL_CHANNEL
    )
    asyncio.run(rasa.aclose())
    db.dispose()


def test_encryption_works_on_postgresql(postgres_url: str) -> None:
    crypto.configure(new_data_key())
    db = _db(postgres_url)
    try:
        ids = _store(db)
        assert all(value.startswith(crypto.PREFIX) for value in _raw(db))
        assert _read(db, *ids) == (SECRET, ANSWERS)
        crypto.configure([new_data_key(), *crypto.ring().keys])
        assert reencrypt(db, crypto.ring()).rewritten == 2
        crypto.configure(crypto.ring().keys[:1])
        assert _read(db, *ids) == (SECRET, ANSWERS)
    finally:
        db.dispose()


# --- processes share the keys -------------------------------------------------------------------


def _env(data_dir: Path) -> dict[str, str]:
    """A process's environment with no DEUROPENER_DATA_KEYS: keys from the data dir's key file."""
    env = {k: v for k, v in os.environ.items() if k not in {"DEUROPENER_DATA_KEYS", "DATABASE_URL"}}
    return env | {"DEUROPENER_DATA_DIR": str(data_dir), "PYTHONPATH": str(ROOT)}


def _python(code: str, env: dict[str, str]) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env=env,
        text=True,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )


def test_processes_started_together_make_and_share_one_key_file(tmp_path: Path) -> None:
    """The launcher, the bot and the action server each read the key file; the first makes it."""
    code = "from bot.settings import Settings; print(Settings.from_env().data_keys)"
    processes = [_python(code, _env(tmp_path)) for _ in range(4)]
    keys = {process.communicate(timeout=60)[0].strip() for process in processes}
    assert len(keys) == 1 and (tmp_path / DATA_KEYS_FILE).read_text() == keys.pop()
    assert oct((tmp_path / DATA_KEYS_FILE).stat().st_mode & 0o777) == "0o600"


def test_the_action_server_reads_case_answers_the_bot_wrote(tmp_path: Path) -> None:
    """The actions reach cases through storage/cases.py in their own process, with the same keys."""
    bot_side = _python(
        "from bot.conversation import open_conversation; from bot.settings import Settings\n"
        "from bot.models import Case\n"
        "conversation, rasa, db = open_conversation(Settings.from_env(), 'local')\n"
        f"with db.session() as s: s.add(Case(owner='w1', label='cliënt A', flows={ANSWERS!r}))",
        _env(tmp_path),
    )
    assert bot_side.wait(120) == 0, bot_side.communicate()[1]
    action_side = _python(
        "from storage.cases import CaseRepository; print(CaseRepository('w1').list()[0].flows)",
        _env(tmp_path),
    )
    out, err = action_side.communicate(timeout=120)
    assert action_side.returncode == 0, err
    assert out.strip() == repr(ANSWERS)
    stored = Database(f"sqlite:///{tmp_path / 'deuropener.db'}")
    try:
        assert all(value.startswith(crypto.PREFIX) for value in _raw(stored))
    finally:
        stored.dispose()


# --- the admin commands, as an operator runs them ---------------------------------------------


def _admin(tmp_path: Path, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "bot", "admin", *args],
        cwd=ROOT,
        env=env or _env(tmp_path),
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_rotating_the_key_file_with_the_admin_commands(tmp_path: Path) -> None:
    key_file = tmp_path / DATA_KEYS_FILE
    url = f"sqlite:///{tmp_path / 'deuropener.db'}"
    assert _admin(tmp_path, "teams").returncode == 0  # first use: the key file is made
    first = key_file.read_text()
    crypto.configure(first)
    db = _db(url)
    try:
        ids = _store(db)
        rotated = _admin(tmp_path, "rotate-key")
        assert rotated.returncode == 0 and "restart the processes one by one" in rotated.stdout.lower()
        keys = key_file.read_text().split(",")
        assert len(keys) == 2 and keys[1] == first and keys[0] != first

        early = _admin(tmp_path, "drop-old-keys")  # refused: the rows still need the old key
        assert early.returncode == 1 and "2 value(s) still need an older key" in early.stdout
        done = _admin(tmp_path, "reencrypt")
        assert done.returncode == 0, done.stdout + done.stderr
        assert "Re-encrypted 2 value(s)" in done.stdout and "drop-old-keys` is safe" in done.stdout
        dropped = _admin(tmp_path, "drop-old-keys")
        assert dropped.returncode == 0 and key_file.read_text() == keys[0]

        crypto.configure(keys[0])  # only the new key: everything reads
        assert _read(db, *ids) == (SECRET, ANSWERS)
    finally:
        db.dispose()


def test_rotating_keys_set_in_the_environment(tmp_path: Path) -> None:
    old = new_data_key()
    env = _env(tmp_path) | {"DEUROPENER_DATA_KEYS": old}
    rotated = _admin(tmp_path, "rotate-key", env=env)
    assert rotated.returncode == 0
    line = next(line for line in rotated.stdout.splitlines() if "DEUROPENER_DATA_KEYS=" in line)
    keys = line.split("=", 1)[1].split(",")
    assert len(keys) == 2 and keys[1] == old
    assert not (tmp_path / DATA_KEYS_FILE).exists()  # nothing written: the operator sets the variable

    bad = _admin(tmp_path, "teams", env=env | {"DEUROPENER_DATA_KEYS": "geheim"})
    assert bad.returncode == 1 and "is not a valid key" in bad.stderr and "Traceback" not in bad.stderr


def test_every_user_row_still_reads_after_a_rotation_with_many_rows(db: Database) -> None:
    """Batches: more rows than one batch, old and new keys and plain text mixed."""
    old, new = new_data_key(), new_data_key()
    crypto.configure(old)
    with db.session() as session:
        user = access.local_user(session, "p1")
        for number in range(120):
            transcript.receive(session, user, typed(f"bericht {number}"), f"bericht {number}")
    with db.engine.begin() as connection:
        connection.execute(text("UPDATE messages SET text = 'oud ' || id WHERE id % 3 = 0"))
    crypto.configure([new, old])
    done = reencrypt(db, crypto.ring(), batch_size=25)
    assert (done.rewritten, done.plaintext) == (120, 40)
    crypto.configure(new)
    with db.session() as session:
        texts = [m.text or "" for m in session.scalars(select(Message).order_by(Message.id))]
        assert session.scalar(select(User.role)) == Role.WORKER.value
    assert len(texts) == 120 and all(t.startswith(("bericht ", "oud ")) for t in texts)
