"""From a Telegram update to a stored message, before Telegram hears it was received.

python-telegram-bot confirms updates to Telegram (the next getUpdates offset; in webhook mode
the HTTP 200) as soon as `update_queue.put(update)` returns — before any handler has run. So
the bot's queue does the intake inside `put`: access check, scrubbing and storing the message
as "received". Only then does the update count as received; handlers answer it afterwards,
and whatever a crash interrupted is answered on the next start from the database.
"""

from __future__ import annotations

import asyncio
import logging
from collections import OrderedDict
from dataclasses import dataclass, replace

from sqlalchemy.exc import SQLAlchemyError
from telegram import Message, Update
from telegram.constants import ChatType

from bot import inbound
from bot.conversation import Conversation, Ticket
from bot.inbound import Inbound, Local

log = logging.getLogger(__name__)

PRESSED_KEYBOARDS_KEPT = 10_000
MAX_DB_RETRY_SECONDS = 30.0


@dataclass(frozen=True)
class TelegramEvent:
    """What the bot keeps of one Telegram update (no names, no file ids, no raw text)."""

    update_id: int
    user_id: int
    chat_id: int
    inbound: Inbound | None  # None: nothing to answer (a second tap on a used keyboard)
    callback_id: str | None = None  # a tapped button's query, to be answered
    keyboard_message_id: int | None = None  # the message whose button was tapped
    ticket: Ticket | None = None  # filled in by the intake


def _button_title(message: Message | None, data: str) -> str | None:
    markup = message.reply_markup if isinstance(message, Message) else None
    for row in markup.inline_keyboard if markup else ():
        for button in row:
            if button.callback_data == data:
                return button.text
    return None


def event_from(update: Update) -> TelegramEvent | None:
    """Classify an update; None for updates the assistant ignores."""
    user, chat = update.effective_user, update.effective_chat
    if user is None or chat is None or chat.type != ChatType.PRIVATE:
        return None  # only private chats: a group would mix other people's messages in
    base = TelegramEvent(update.update_id, user.id, chat.id, None)
    if (query := update.callback_query) is not None:
        data = query.data or ""
        message = query.message if isinstance(query.message, Message) else None
        return replace(
            base,
            inbound=inbound.tapped(data, _button_title(message, data)),
            callback_id=query.id,
            keyboard_message_id=message.message_id if message else None,
        )
    if (edited := update.edited_message) is not None:
        return None if edited.location else replace(base, inbound=inbound.EDITED)  # live locations: silent
    if (message := update.message) is not None:
        if message.text is not None:
            return replace(base, inbound=inbound.typed(message.text))
        return replace(base, inbound=inbound.NOT_TEXT)
    return None


class IntakeQueue(asyncio.Queue[object]):
    """The Application's update queue: stores each update's message before it counts as received."""

    def __init__(self, conversation: Conversation) -> None:
        super().__init__()
        self._conversation = conversation
        self._pressed: OrderedDict[tuple[int, int], None] = OrderedDict()

    def intake(self, update: Update) -> TelegramEvent | None:
        event = event_from(update)
        if event is None or event.inbound is None:
            return event
        if event.keyboard_message_id is not None and event.inbound.payload != Local.STALE_BUTTON:
            key = (event.chat_id, event.keyboard_message_id)
            if key in self._pressed:  # tapped twice before the keyboard was removed
                return replace(event, inbound=None)
            self._pressed[key] = None
            if len(self._pressed) > PRESSED_KEYBOARDS_KEPT:
                self._pressed.popitem(last=False)
        ticket = self._conversation.receive(
            str(event.user_id), event.inbound, chat_id=event.chat_id, update_id=event.update_id
        )
        return replace(event, ticket=ticket)

    async def put(self, item: object) -> None:
        if isinstance(item, Update):
            event = await self._intake_until_stored(item)
            if event is None:
                log.debug("Ignored update %s", item.update_id)
                return
            item = event
        await super().put(item)

    async def _intake_until_stored(self, update: Update) -> TelegramEvent | None:
        """Intake, retried while the database is unreachable: until then nothing is confirmed."""
        delay = 1.0
        while True:
            try:
                return self.intake(update)
            except SQLAlchemyError as exc:
                log.error("Could not store update %s (retrying in %.0f s): %s", update.update_id, delay, exc)
                await asyncio.sleep(delay)
                delay = min(delay * 2, MAX_DB_RETRY_SECONDS)
            except Exception:  # a bug: don't block every later update on it
                log.exception("Intake of update %s failed", update.update_id)
                event = event_from(update)
                return replace(event, ticket=None) if event else None
