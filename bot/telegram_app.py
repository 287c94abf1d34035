"""The Telegram adapter: python-telegram-bot in front of `Conversation`.

Thin on purpose: every typed message and button tap goes through `Conversation.handle`
(input check, pseudonymous sender, Rasa, turn records); this module only translates
between Telegram updates and `Reply` objects. The dialogue itself lives in Rasa.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import re
import weakref
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Sequence

from telegram import BotCommand, InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.constants import ChatAction, InlineKeyboardButtonLimit, MessageLimit
from telegram.error import TelegramError
from telegram.ext import (
    AIORateLimiter,
    Application,
    ApplicationBuilder,
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
    MessageHandler,
    filters,
)

from bot.conversation import Conversation
from bot.rasa_client import RasaClient
from bot.replies import MENU_BUTTON, Button, Reply
from bot.settings import Settings
from bot.store import TurnStore

log = logging.getLogger(__name__)

CHANNEL = "telegram"
MAX_TEXT = int(MessageLimit.MAX_TEXT_LENGTH)  # 4096
MAX_CALLBACK_BYTES = int(InlineKeyboardButtonLimit.MAX_CALLBACK_DATA)  # 64
TYPING_REFRESH_SECONDS = 4.0  # Telegram shows "typing…" for about 5 s per chat action

# Commands: name -> (Dutch description for the command menu, payload sent to Rasa).
COMMANDS: dict[str, tuple[str, str]] = {
    "start": ("Begin (opnieuw) een gesprek", "/greet"),
    "menu": ("Laat zien waarmee ik kan helpen", "/ask_capabilities"),
    "help": ("Uitleg: zo werkt Deuropener", "/ask_help"),
    "stop": ("Stop met waar we mee bezig zijn", "/stop"),
}

ONLY_TEXT = (
    "Ik kan alleen getypte tekst lezen. Foto's, spraakberichten, stickers en bestanden "
    "begrijp ik niet. Typ je vraag gerust in een paar woorden."
)
EDITED = (
    "Ik kan alleen getypte tekst lezen, en aangepaste berichten zie ik niet. "
    "Stuur je aanpassing gerust als nieuw bericht."
)
UNKNOWN_COMMAND = (
    "Die opdracht ken ik niet. Deze kun je gebruiken:\n"
    + "\n".join(f"/{name} – {description}" for name, (description, _) in COMMANDS.items())
    + "\n\nOf typ gewoon je vraag in je eigen woorden."
)
STALE_BUTTON = "Deze knop werkt niet meer. Kies hieronder opnieuw uit het menu."
SOMETHING_WENT_WRONG = (
    "Sorry, er ging bij mij iets mis. Probeer het zo nog eens, of typ /menu om opnieuw te beginnen."
)
BUTTONS_ONLY = "Kies een optie:"

# A button payload as Rasa's actions build it: "/intent" plus optional JSON entities.
_PAYLOAD = re.compile(r"/[A-Za-z_][A-Za-z0-9_]*(?P<entities>\{.*\})?", re.DOTALL)

# Where a long text may be cut, best first: paragraph, line, sentence end, word.
_BREAKS = (
    re.compile(r"\n\s*\n"),
    re.compile(r"\n"),
    re.compile(r"(?<=[.!?…])[\"')\]]*\s+"),
    re.compile(r"\s+"),
)


# --- pure helpers (unit-tested) -----------------------------------------------------------


def _utf16_len(text: str) -> int:
    """Telegram counts message length in UTF-16 code units (an emoji can count as two)."""
    return len(text.encode("utf-16-le")) // 2


def _fitting_prefix(text: str, limit: int) -> int:
    """The number of leading characters of `text` whose UTF-16 length is at most `limit`."""
    if _utf16_len(text) <= limit:
        return len(text)
    end = min(len(text), limit)
    while end > 0 and _utf16_len(text[:end]) > limit:
        end -= 1
    return end


def _best_cut(head: str, window: int) -> int:
    """Where to cut: the last break of the best kind in the second half of the window.

    A paragraph end near the start would leave a tiny first part, so a break only counts
    from half the window on; failing that, any last break; failing that, a hard cut.
    """
    fallback = 0
    for pattern in _BREAKS:
        starts = [m.start() for m in pattern.finditer(head) if 0 < m.start() <= window]
        if not starts:
            continue
        if starts[-1] >= window // 2:
            return starts[-1]
        fallback = fallback or starts[-1]
    return fallback or window


def split_text(text: str, limit: int = MAX_TEXT) -> list[str]:
    """Split `text` into Telegram-sized parts, cutting at paragraph, line or sentence ends.

    Each part is at most `limit` long (as Telegram counts); a word is only cut when a single
    "word" is longer than the limit. Whitespace at the cuts is dropped.
    """
    parts: list[str] = []
    rest = text.strip()
    while rest:
        window = _fitting_prefix(rest, limit)
        if window == len(rest):
            parts.append(rest)
            break
        cut = _best_cut(rest[: window + 1], window)  # +1: a break may sit right at the limit
        parts.append(rest[:cut].rstrip())
        rest = rest[cut:].lstrip()
    return [part for part in parts if part]


def is_payload(data: str | None) -> bool:
    """True for callback data shaped like an intent payload: "/intent" or "/intent{json}"."""
    if not data or len(data.encode()) > MAX_CALLBACK_BYTES:
        return False
    match = _PAYLOAD.fullmatch(data)
    if match is None:
        return False
    if entities := match.group("entities"):
        try:
            return isinstance(json.loads(entities), dict)
        except ValueError:
            return False
    return True


def keyboard(buttons: Iterable[Button]) -> InlineKeyboardMarkup | None:
    """One inline button per row (easy to tap on a phone); payloads over 64 bytes are skipped."""
    rows: list[list[InlineKeyboardButton]] = []
    for button in buttons:
        if len(button.payload.encode()) > MAX_CALLBACK_BYTES or not button.payload:
            log.warning(
                "Skipped button %r: payload of %d bytes does not fit Telegram's %d-byte callback data",
                button.title,
                len(button.payload.encode()),
                MAX_CALLBACK_BYTES,
            )
            continue
        rows.append([InlineKeyboardButton(button.title or button.payload, callback_data=button.payload)])
    return InlineKeyboardMarkup(rows) if rows else None


# --- sending ------------------------------------------------------------------------------


async def send_replies(context: ContextTypes.DEFAULT_TYPE, chat_id: int, replies: Sequence[Reply]) -> None:
    """Send replies in order: images as photos, texts split to fit, buttons under the last part."""
    bot = context.bot
    for reply in replies:
        if reply.image:
            try:
                await bot.send_photo(chat_id=chat_id, photo=reply.image)
            except TelegramError as exc:  # e.g. an unreachable image URL: the text still matters
                log.warning("Could not send image %s: %s", reply.image, exc)
        markup = keyboard(reply.buttons)
        text = reply.text or (BUTTONS_ONLY if markup else "")
        parts = split_text(text)
        for index, part in enumerate(parts):
            last = index == len(parts) - 1
            await bot.send_message(chat_id=chat_id, text=part, reply_markup=markup if last else None)


@contextlib.asynccontextmanager
async def typing(context: ContextTypes.DEFAULT_TYPE, chat_id: int) -> AsyncIterator[None]:
    """Show "typing…" in the chat while the body runs (renewed: Telegram drops it after ~5 s)."""

    async def send_action() -> None:
        try:
            await context.bot.send_chat_action(chat_id=chat_id, action=ChatAction.TYPING)
        except TelegramError as exc:  # cosmetic only: never let it stop the answer
            log.debug("Could not send the typing action: %s", exc)

    async def keep_typing() -> None:
        while True:
            await asyncio.sleep(TYPING_REFRESH_SECONDS)
            await send_action()

    await send_action()
    task = asyncio.create_task(keep_typing())
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


# --- handlers -------------------------------------------------------------------------------


class TelegramAdapter:
    """The handlers, bound to one `Conversation`. Answers per user stay in order."""

    def __init__(self, conversation: Conversation) -> None:
        self._conversation = conversation
        # One lock per user, so a quick second message is answered after the first one.
        self._locks: weakref.WeakValueDictionary[int, asyncio.Lock] = weakref.WeakValueDictionary()

    def _lock(self, user_id: int) -> asyncio.Lock:
        lock = self._locks.get(user_id)
        if lock is None:
            lock = asyncio.Lock()
            self._locks[user_id] = lock
        return lock

    async def _converse(self, update: Update, context: ContextTypes.DEFAULT_TYPE, text: str) -> None:
        """Pass `text` through the conversation and send what comes back."""
        user, chat = update.effective_user, update.effective_chat
        if user is None or chat is None:
            return
        lock = self._lock(user.id)
        async with lock:
            async with typing(context, chat.id):
                replies = await self._conversation.handle(str(user.id), text)
            await send_replies(context, chat.id, replies)

    def command(self, payload: str) -> Callable[[Update, ContextTypes.DEFAULT_TYPE], Awaitable[None]]:
        """A handler for a known command: send its intent `payload` to Rasa."""

        async def on_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
            await self._converse(update, context, payload)

        return on_command

    async def on_unknown_command(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """A command we don't have: list the ones we do, without bothering Rasa."""
        if update.effective_message is not None:
            await update.effective_message.reply_text(UNKNOWN_COMMAND)

    async def on_text(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """A typed message: the conversation does the rest."""
        message = update.effective_message
        if message is not None:
            await self._converse(update, context, message.text or "")

    async def on_not_text(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """Photos, voice, stickers, files, locations, ... and edited messages: typed text only."""
        chat = update.effective_chat
        if chat is None:
            return
        answer = EDITED if update.edited_message is not None else ONLY_TEXT
        await context.bot.send_message(chat_id=chat.id, text=answer)

    async def on_button(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """A tapped inline button: answer the query, retire the keyboard, continue the dialogue."""
        query = update.callback_query
        if query is None:
            return
        await query.answer()
        message = query.message
        chat = update.effective_chat
        if message is None or chat is None:  # a button in an inline message: nowhere to answer
            return
        if not is_payload(query.data):
            log.info("Ignored callback data that is not an intent payload")
            await context.bot.send_message(
                chat_id=chat.id, text=STALE_BUTTON, reply_markup=keyboard([MENU_BUTTON])
            )
            return
        try:  # keep the text, drop the buttons: the chat history shows what was asked
            await context.bot.edit_message_reply_markup(
                chat_id=chat.id, message_id=message.message_id, reply_markup=None
            )
        except TelegramError as exc:  # too old, already removed, ...: not worth failing over
            log.debug("Could not remove the inline keyboard: %s", exc)
        await self._converse(update, context, query.data or "")

    async def on_error(self, update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
        """Log every error with its stack trace; tell the user only that something went wrong."""
        log.error("Error while handling a Telegram update", exc_info=context.error)
        if isinstance(update, Update) and update.effective_chat is not None:
            try:
                await context.bot.send_message(chat_id=update.effective_chat.id, text=SOMETHING_WENT_WRONG)
            except TelegramError:
                log.warning("Could not tell the user about the error either", exc_info=True)


# --- application --------------------------------------------------------------------------


async def _post_init(application: Application) -> None:
    """Publish the command menu (with Dutch descriptions) when the bot starts."""
    await application.bot.set_my_commands(
        [BotCommand(name, description) for name, (description, _) in COMMANDS.items()]
    )


def build_application(settings: Settings, conversation: Conversation) -> Application:
    """The python-telegram-bot Application with every handler registered (in this one place)."""
    if not settings.telegram_token:
        raise ValueError("TELEGRAM_BOT_TOKEN is not set")
    builder = (
        ApplicationBuilder()
        .token(settings.telegram_token)
        .concurrent_updates(True)  # users don't wait for each other; each user's order is kept
        .rate_limiter(AIORateLimiter(max_retries=3))  # respects Telegram's flood limits and 429s
        .post_init(_post_init)
    )
    if settings.telegram_api_base_url:  # e.g. a local Bot API server, or a fake one in tests
        url = settings.telegram_api_base_url.rstrip("/")
        builder = builder.base_url(f"{url}/bot").base_file_url(f"{url}/file/bot")
    application = builder.build()

    adapter = TelegramAdapter(conversation)
    not_text = (
        filters.PHOTO
        | filters.VOICE
        | filters.AUDIO
        | filters.VIDEO
        | filters.VIDEO_NOTE
        | filters.ANIMATION
        | filters.Sticker.ALL
        | filters.Document.ALL
        | filters.LOCATION
        | filters.VENUE
        | filters.CONTACT
        | filters.POLL
        | filters.Dice.ALL
    )
    application.add_handlers(
        [
            # Edits are not sent to Rasa (it has already answered the original). Live locations
            # arrive as a stream of edits: those get no answer at all.
            MessageHandler(filters.UpdateType.EDITED_MESSAGE & ~filters.LOCATION, adapter.on_not_text),
            *(
                CommandHandler(name, adapter.command(payload), filters=filters.UpdateType.MESSAGE)
                for name, (_, payload) in COMMANDS.items()
            ),
            MessageHandler(filters.UpdateType.MESSAGE & filters.COMMAND, adapter.on_unknown_command),
            MessageHandler(filters.UpdateType.MESSAGE & filters.TEXT, adapter.on_text),
            MessageHandler(filters.UpdateType.MESSAGE & not_text, adapter.on_not_text),
            CallbackQueryHandler(adapter.on_button),
        ]
    )
    application.add_error_handler(adapter.on_error)
    return application


def run_polling(settings: Settings) -> None:
    """Run the Telegram bot with long polling until SIGINT/SIGTERM."""
    if not settings.telegram_token:
        raise SystemExit("TELEGRAM_BOT_TOKEN is not set: create a bot with @BotFather and set its token.")
    rasa = RasaClient(settings.rasa_url, timeout=settings.rasa_timeout)
    store = TurnStore(settings.database_url, settings.pseudonym_secret)
    conversation = Conversation(rasa, store, channel=CHANNEL)
    application = build_application(settings, conversation)

    async def close_rasa(_: Application) -> None:
        await rasa.aclose()

    application.post_shutdown = close_rasa
    log.info("Telegram bot polling for updates (Rasa at %s)", settings.rasa_url)
    application.run_polling(allowed_updates=[Update.MESSAGE, Update.EDITED_MESSAGE, Update.CALLBACK_QUERY])
