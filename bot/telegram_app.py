"""The Telegram adapter: python-telegram-bot in front of `Conversation`.

Thin on purpose. The intake queue (bot/telegram_intake.py) turns each update into a stored
message before Telegram hears it arrived; the one handler here answers the button's query,
retires a tapped keyboard, and lets the conversation answer — the dialogue itself lives in
Rasa. This module is also the one place that builds the Application and runs it (long
polling by default, a webhook when TELEGRAM_WEBHOOK_URL is set).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import secrets
from datetime import timedelta
from typing import Any
from urllib.parse import urlsplit

from telegram import Bot, BotCommand, Update
from telegram.error import TelegramError
from telegram.ext import AIORateLimiter, Application, ApplicationBuilder, ContextTypes, TypeHandler

from bot import retention
from bot.conversation import Conversation, open_conversation
from bot.inbound import COMMANDS, Local
from bot.models import User
from bot.nudge_dispatch import install as install_nudges
from bot.replies import Reply
from bot.settings import Settings
from bot.telegram_intake import IntakeQueue, TelegramEvent
from bot.telegram_render import send_reply, typing, with_retries
from bot.texts import EXPORT_CAPTION, EXPORT_FILENAME, SOMETHING_WENT_WRONG

log = logging.getLogger(__name__)

CHANNEL = "telegram"
ALLOWED_UPDATES = [Update.MESSAGE, Update.EDITED_MESSAGE, Update.CALLBACK_QUERY]
RECOVERY_GRACE = timedelta(seconds=10)  # younger messages are still with their own handler


class TelegramOutlet:
    """Delivers a user's answers to their Telegram chat."""

    def __init__(self, application: Application) -> None:
        self._application = application

    async def send(self, user: User, reply: Reply) -> None:
        if user.chat_id is not None:
            await send_reply(self._application.bot, user.chat_id, reply)

    async def send_export(self, user: User, data: dict[str, Any]) -> None:
        if user.chat_id is None:
            return
        content = json.dumps(data, ensure_ascii=False, indent=2).encode()
        bot, chat_id = self._application.bot, user.chat_id
        await with_retries(
            lambda: bot.send_document(
                chat_id=chat_id, document=content, filename=EXPORT_FILENAME, caption=EXPORT_CAPTION
            )
        )


class TelegramAdapter:
    """The handler for stored updates, and the retry job, bound to one `Conversation`."""

    def __init__(self, conversation: Conversation, application: Application) -> None:
        self._conversation = conversation
        self._outlet = TelegramOutlet(application)

    async def on_event(self, event: TelegramEvent, context: ContextTypes.DEFAULT_TYPE) -> None:
        tap = asyncio.create_task(self._acknowledge_tap(event, context.bot))  # alongside the answer
        try:
            await self._answer(event, context.bot)
        finally:
            await tap

    async def _acknowledge_tap(self, event: TelegramEvent, bot: Bot) -> None:
        """Stop the spinner on a tapped button, and retire its keyboard so it can't be tapped twice."""
        if event.callback_id is not None:
            with contextlib.suppress(TelegramError):
                await bot.answer_callback_query(event.callback_id)
        if event.keyboard_message_id is None or event.inbound is None:
            return
        if event.inbound.payload == Local.STALE_BUTTON:
            return
        try:  # keep the text, drop the buttons: the chat history shows what was asked
            await bot.edit_message_reply_markup(
                chat_id=event.chat_id, message_id=event.keyboard_message_id, reply_markup=None
            )
        except TelegramError as exc:  # too old, already removed, ...: not worth failing over
            log.debug("Could not remove the inline keyboard: %s", exc)

    async def _answer(self, event: TelegramEvent, bot: Bot) -> None:
        if event.inbound is None:  # a second tap on a used keyboard
            return
        ticket = event.ticket
        if ticket is None:  # the intake failed (logged there)
            await bot.send_message(chat_id=event.chat_id, text=SOMETHING_WENT_WRONG)
            return
        if ticket.user is None:  # a stranger: one explanation, nothing stored
            if ticket.notice:
                await with_retries(lambda: bot.send_message(chat_id=event.chat_id, text=ticket.notice))
            return
        async with typing(bot, event.chat_id):
            await self._conversation.drain(ticket.user, self._outlet)

    async def recover(self, context: ContextTypes.DEFAULT_TYPE) -> None:
        """The retry job: pending, crashed-over and unsent messages (all of them at start)."""
        first = context.job is not None and context.job.data == "start"
        await self._conversation.recover(self._outlet, grace=timedelta(0) if first else RECOVERY_GRACE)

    async def purge(self, context: ContextTypes.DEFAULT_TYPE) -> None:
        """The retention job (at start, then daily): old transcripts, cases and Rasa events go."""
        self._conversation.purge_old()

    async def on_error(self, update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
        """Log every error with its stack trace; tell the user only that something went wrong."""
        log.error("Error while handling a Telegram update", exc_info=context.error)
        if isinstance(update, TelegramEvent):
            try:
                await context.bot.send_message(chat_id=update.chat_id, text=SOMETHING_WENT_WRONG)
            except TelegramError:
                log.warning("Could not tell the user about the error either", exc_info=True)


async def _post_init(application: Application) -> None:
    """Publish the command menu (with Dutch descriptions) when the bot starts."""
    await application.bot.set_my_commands(
        [BotCommand(name, command.description) for name, command in COMMANDS.items()]
    )


def build_application(settings: Settings, conversation: Conversation) -> Application:
    """The python-telegram-bot Application with every handler registered (in this one place)."""
    if not settings.telegram_token:
        raise ValueError("TELEGRAM_BOT_TOKEN is not set")
    builder = (
        ApplicationBuilder()
        .token(settings.telegram_token)
        .update_queue(IntakeQueue(conversation))
        .concurrent_updates(True)  # users don't wait for each other; each user's order is kept
        .post_init(_post_init)
    )
    if settings.telegram_rate_limit > 0:  # Telegram's flood limit, and its 429s retried
        limiter = AIORateLimiter(overall_max_rate=settings.telegram_rate_limit, max_retries=3)
        builder = builder.rate_limiter(limiter)
    if settings.telegram_api_base_url:  # e.g. a local Bot API server, or a fake one in tests
        url = settings.telegram_api_base_url.rstrip("/")
        builder = builder.base_url(f"{url}/bot").base_file_url(f"{url}/file/bot")
    application = builder.build()

    adapter = TelegramAdapter(conversation, application)
    application.add_handler(TypeHandler(TelegramEvent, adapter.on_event))
    application.add_error_handler(adapter.on_error)
    assert application.job_queue is not None, "python-telegram-bot[job-queue] is required"
    application.job_queue.run_once(adapter.recover, when=0, data="start", name="recover at start")
    application.job_queue.run_repeating(
        adapter.recover, interval=settings.retry_interval, first=settings.retry_interval, name="retry"
    )
    application.job_queue.run_repeating(adapter.purge, interval=retention.DAILY, first=1, name="retention")
    install_nudges(application, conversation.db)  # reflection nudges: due ones sent every few seconds
    return application


def run(settings: Settings) -> None:
    """Run the Telegram bot until SIGINT/SIGTERM: a webhook if a public URL is set, else polling."""
    if not settings.telegram_token:
        raise SystemExit("TELEGRAM_BOT_TOKEN is not set: create a bot with @BotFather and set its token.")
    conversation, rasa, db = open_conversation(settings, CHANNEL)
    application = build_application(settings, conversation)

    async def close(_: Application) -> None:
        await rasa.aclose()
        db.dispose()

    application.post_shutdown = close
    if settings.telegram_webhook_url:
        path = urlsplit(settings.telegram_webhook_url).path.strip("/")
        log.info(
            "Telegram bot receiving updates at %s (Rasa at %s)",
            settings.telegram_webhook_url,
            settings.rasa_url,
        )
        application.run_webhook(
            listen=settings.telegram_webhook_listen,
            port=settings.telegram_webhook_port,
            url_path=path,
            webhook_url=settings.telegram_webhook_url,
            secret_token=settings.telegram_webhook_secret or secrets.token_urlsafe(32),
            allowed_updates=ALLOWED_UPDATES,
        )
    else:
        log.info("Telegram bot polling for updates (Rasa at %s)", settings.rasa_url)
        application.run_polling(allowed_updates=ALLOWED_UPDATES)
