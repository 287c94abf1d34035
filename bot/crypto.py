"""Encryption at rest for what workers write about clients: message text and case answers.

Fernet (AES-128-CBC with HMAC-SHA256: authenticated, so altered data is refused, never
returned garbled) over a key ring for rotation without downtime. The keys come from
DEUROPENER_DATA_KEYS (comma-separated; the first encrypts, all decrypt), else from the key
file `data.keys` in the data dir, made on first use so `make run` needs no configuration
(the launcher makes it before it starts the action server and the bot; both read the same
data dir). See "Keys and retention" in the README for rotating them.

A stored value is "fernet:" + a Fernet token. A value without that prefix was written before
encryption existed: it is read as it is, and `python -m bot admin reencrypt` encrypts it.

Each process configures the ring once at start (`configure`); one that didn't (a script, a
test reading a database) gets it from the environment on first use, the same way.
"""

from __future__ import annotations

import binascii
import logging
from collections.abc import Sequence
from typing import TYPE_CHECKING

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from sqlalchemy import Text, select, type_coerce

from bot.settings import DATA_KEYS_FILE, Settings, data_keys

if TYPE_CHECKING:
    from sqlalchemy import Engine

log = logging.getLogger(__name__)

PREFIX = "fernet:"
HOW_TO_MAKE_A_KEY = "make one with `python -m bot admin rotate-key`"


class DataKeyError(RuntimeError):
    """The data keys are missing or invalid, or stored data can't be decrypted with them."""


def is_encrypted(stored: str) -> bool:
    return stored.startswith(PREFIX)


def split_keys(keys: str | Sequence[str]) -> list[str]:
    listed = keys.split(",") if isinstance(keys, str) else list(keys)
    return [key.strip() for key in listed if key.strip()]


class KeyRing:
    """The data keys: the first encrypts, every one decrypts."""

    def __init__(self, keys: str | Sequence[str]) -> None:
        self.keys = split_keys(keys)
        if not self.keys:
            raise DataKeyError(f"no data keys: set DEUROPENER_DATA_KEYS ({HOW_TO_MAKE_A_KEY})")
        fernets = []
        for number, key in enumerate(self.keys, start=1):
            try:
                fernets.append(Fernet(key))
            except (ValueError, binascii.Error):
                raise DataKeyError(
                    f"data key {number} of {len(self.keys)} (DEUROPENER_DATA_KEYS or {DATA_KEYS_FILE}) "
                    f"is not a valid key: 44 characters of URL-safe base64; {HOW_TO_MAKE_A_KEY}"
                ) from None
        self._first = fernets[0]
        self._all = MultiFernet(fernets)

    def encrypt(self, text: str) -> str:
        return PREFIX + self._first.encrypt(text.encode()).decode()

    def decrypt(self, stored: str) -> str:
        """The plain text; a legacy (never encrypted) value as it is."""
        if not is_encrypted(stored):
            return stored
        try:
            return self._all.decrypt(self._token(stored)).decode()
        except InvalidToken:
            raise DataKeyError(
                "stored data can't be decrypted with the configured data keys: the key it was "
                "encrypted with is not in DEUROPENER_DATA_KEYS (or the key file), or the data was "
                "altered. Put the old key back after the new one."
            ) from None

    def is_current(self, stored: str) -> bool:
        """Encrypted with the first key (so the other keys aren't needed for it)."""
        if not is_encrypted(stored):
            return False
        try:
            self._first.decrypt(self._token(stored))
        except InvalidToken:
            return False
        return True

    def reencrypt(self, stored: str) -> str:
        """The same plain text, encrypted with the first key (legacy plain text encrypted)."""
        if not is_encrypted(stored):
            return self.encrypt(stored)
        try:
            return PREFIX + self._all.rotate(self._token(stored)).decode()
        except InvalidToken:
            self.decrypt(stored)  # raises the explanation
            raise

    @staticmethod
    def _token(stored: str) -> bytes:
        return stored.removeprefix(PREFIX).encode()


_ring: KeyRing | None = None


def configure(keys: str | Sequence[str]) -> KeyRing:
    """Use these keys in this process from now on (at process start)."""
    global _ring
    _ring = KeyRing(keys)
    return _ring


def configure_from(settings: Settings) -> KeyRing:
    """The keys of these settings; without explicit keys, the environment or the data dir's key file."""
    return configure(settings.data_keys or data_keys(settings.data_dir))


def ring() -> KeyRing:
    """The process's key ring; configured from the environment if nothing configured it."""
    if _ring is None:
        log.debug("data keys not configured at start: reading them from the environment")
        return configure_from(Settings.from_env())
    return _ring


def verify(engine: Engine) -> None:
    """Refuse to start with keys that can't read what is stored (rather than write with them):
    the oldest and the newest value of every encrypted column must decrypt."""
    from bot.models import Base  # here: the models' column types import this module
    from bot.models.base import Encrypted

    keys = ring()
    with engine.connect() as connection:
        for table in Base.metadata.sorted_tables:
            encrypted = [column for column in table.columns if isinstance(column.type, Encrypted)]
            for column in encrypted:
                (key,) = table.primary_key.columns
                raw = type_coerce(column, Text())
                for order in (key.asc(), key.desc()):
                    query = select(raw).where(column.is_not(None)).order_by(order).limit(1)
                    stored = connection.execute(query).scalar()
                    if stored is None:
                        break  # an empty table
                    try:
                        keys.decrypt(stored)
                    except DataKeyError as exc:
                        raise DataKeyError(f"{table.name}.{column.name}: {exc} Not starting.") from None
