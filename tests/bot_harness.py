"""Running the real Telegram bot against the fake Bot API, for the end-to-end tests.

`running_bot` starts the Application from `build_application` exactly as `run` does (minus
signal handling) with its own SQLite database; `TelegramUser` is one person tapping and
typing in Telegram.
"""

from __future__ import annotations

import contextlib
import dataclasses
import secrets
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import select

from bot import access
from bot.conversation import open_conversation
from bot.db import Database
from bot.models import Message, Role, User
from bot.settings import Settings
from bot.telegram_app import CHANNEL, build_application
from tests.fake_bot_api import ApiCall, FakeBotApi
from tests.rasa_stack import RasaStack


def make_settings(tmp_path: Path, api: FakeBotApi, rasa: RasaStack | str, **overrides: Any) -> Settings:
    """Settings for one test: its own SQLite file and pseudonym key, the fake Bot API, and
    the real Rasa stack (or just a URL where no Rasa runs)."""
    settings = Settings(
        data_dir=tmp_path,
        database_url=f"sqlite:///{tmp_path / 'deuropener.db'}",
        rasa_url=rasa.url if isinstance(rasa, RasaStack) else rasa,
        rasa_timeout=30.0,
        telegram_token=api.token,
        telegram_api_base_url=api.url,
        pseudonym_secret=secrets.token_bytes(16),
        rasa_auth_token=rasa.token if isinstance(rasa, RasaStack) else None,
        action_server_url=rasa.action_url if isinstance(rasa, RasaStack) else "",
        rasa_tracker_db_url=f"sqlite:///{rasa.tracker_db}" if isinstance(rasa, RasaStack) else None,
        retry_interval=0.5,
    )
    return dataclasses.replace(settings, **overrides)


def invite(
    settings: Settings,
    role: Role = Role.WORKER,
    team: str = "Wijkteam Noord",
    hours: float = 24,
    created_hours_ago: float = 0,
) -> str:
    """A fresh invite code, as `python -m bot admin invite` makes it."""
    db = Database(settings.database_url)
    db.migrate()
    created = datetime.now(UTC) - timedelta(hours=created_hours_ago)
    try:
        with db.session() as session:
            return access.create_invite(session, role, team, timedelta(hours=hours), now=created)
    finally:
        db.dispose()


def buttons_of(call: ApiCall) -> dict[str, str]:
    """The inline buttons under a sent message: title -> callback data."""
    rows = (call.params.get("reply_markup") or {}).get("inline_keyboard", [])
    return {button["text"]: button["callback_data"] for row in rows for button in row}


@dataclass
class TelegramUser:
    """One Telegram user chatting with the running bot."""

    api: FakeBotApi
    db: Database
    settings: Settings
    user_id: int

    async def send(self, text: str) -> int:
        """Type `text`; returns the call-log mark from before it was sent."""
        mark = self.api.mark()
        self.api.push_text(self.user_id, text)
        return mark

    async def tap(self, message_id: int, data: str) -> int:
        """Tap the button with callback `data` under the bot's message `message_id`."""
        mark = self.api.mark()
        self.api.push_callback(self.user_id, message_id, data)
        return mark

    async def tap_title(self, call: ApiCall, title: str) -> int:
        """Tap the button titled `title` under the message of `call`."""
        return await self.tap(call.result["message_id"], buttons_of(call)[title])

    async def push(self, update: dict[str, Any]) -> int:
        mark = self.api.mark()
        self.api.push_update(update)
        return mark

    async def answer_with(self, fragment: str, after: int, timeout: float = 60) -> ApiCall:
        """Wait for a message containing `fragment`, then until the bot is done answering."""
        call = await self.api.async_wait_for_text(fragment, timeout=timeout, after=after)
        await self.api.async_wait_idle(0.5)
        return call

    def texts(self, after: int) -> str:
        return "\n".join(self.api.sent_texts(after))

    @property
    def pseudonym(self) -> str:
        return access.Pseudonyms(self.settings.pseudonym_secret).of(CHANNEL, str(self.user_id))

    def account(self) -> User | None:
        with self.db.session() as session:
            return access.find_user(session, self.pseudonym)

    def transcript(self) -> list[Message]:
        with self.db.session() as session:
            user = access.find_user(session, self.pseudonym)
            if user is None:
                return []
            return list(
                session.scalars(select(Message).where(Message.user_id == user.id).order_by(Message.id))
            )

    async def register(self, role: Role = Role.WORKER, team: str = "Wijkteam Noord") -> None:
        """Redeem a fresh invite with /start CODE and wait for the menu."""
        code = invite(self.settings, role, team)
        mark = await self.send(f"/start {code}")
        await self.answer_with("Welkom bij Deuropener", after=mark)
        await self.api.async_wait_for("sendMessage", count=2, after=mark)
        await self.api.async_wait_idle(1.0)


@contextlib.asynccontextmanager
async def running_bot(settings: Settings, api: FakeBotApi) -> AsyncIterator[TelegramUser]:
    """The real Application polling the fake Bot API, as `run` runs it (minus signals)."""
    conversation, rasa, db = open_conversation(settings, CHANNEL)
    application = build_application(settings, conversation)
    try:
        async with application:
            assert application.post_init is not None
            await application.post_init(application)  # run_polling would call it
            assert application.updater is not None
            await application.updater.start_polling(poll_interval=0.0, timeout=1)
            await application.start()
            try:
                yield TelegramUser(api, db, settings, user_id=secrets.randbelow(10**9) + 1000)
            finally:
                await application.updater.stop()
                await application.stop()
    finally:
        await rasa.aclose()
        db.dispose()
