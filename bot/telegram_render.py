"""Rendering replies for Telegram: split long texts, inline keyboards, "typing…", sending.

Texts are sent as plain text (no parse_mode), so nothing a worker or the content writes can
break the formatting: there is nothing to escape.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from typing import TypeVar

from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup
from telegram.constants import ChatAction, MessageLimit
from telegram.error import BadRequest, Forbidden, NetworkError, RetryAfter, TelegramError

from bot.conversation import DeliveryFailed
from bot.inbound import MAX_CALLBACK_BYTES
from bot.replies import Button, Reply
from bot.texts import BUTTONS_ONLY

log = logging.getLogger(__name__)

MAX_TEXT = int(MessageLimit.MAX_TEXT_LENGTH)  # 4096
TYPING_REFRESH_SECONDS = 4.0  # Telegram shows "typing…" for about 5 s per chat action
# "typing…" only for an answer that takes longer than this: a quicker one is there before the
# indicator would show, and every chat action counts against Telegram's ~30 requests a second.
TYPING_DELAY_SECONDS = 0.5
SEND_ATTEMPTS = 4
BACKOFF_SECONDS = 1.0  # doubled after each failed attempt: 1, 2, 4 s

# Where a long text may be cut, best first: paragraph, line, sentence end, word.
_BREAKS = (
    re.compile(r"\n\s*\n"),
    re.compile(r"\n"),
    re.compile(r"(?<=[.!?…])[\"')\]]*\s+"),
    re.compile(r"\s+"),
)

T = TypeVar("T")


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


async def with_retries(call: Callable[[], Awaitable[T]]) -> T:
    """One Bot API call, retried with backoff on network errors and after a 429's retry_after.

    (The rate limiter already waits out most 429s.) Raises DeliveryFailed when it gives up,
    permanent when Telegram refused the message itself (blocked bot, bad request).
    """
    delay = BACKOFF_SECONDS
    for attempt in range(1, SEND_ATTEMPTS + 1):
        try:
            return await call()
        except (BadRequest, Forbidden) as exc:  # BadRequest is a NetworkError subclass: first
            raise DeliveryFailed(str(exc), permanent=True) from exc
        except RetryAfter as exc:
            wait = (
                exc.retry_after.total_seconds()
                if hasattr(exc.retry_after, "total_seconds")
                else exc.retry_after
            )
            if attempt == SEND_ATTEMPTS:
                raise DeliveryFailed(str(exc)) from exc
            await asyncio.sleep(float(wait))
        except NetworkError as exc:  # includes TimedOut
            if attempt == SEND_ATTEMPTS:
                raise DeliveryFailed(str(exc)) from exc
            log.info("Telegram call failed (%s); retrying in %.0f s", exc, delay)
            await asyncio.sleep(delay)
            delay *= 2
        except TelegramError as exc:  # anything else Telegram refuses won't work next time either
            raise DeliveryFailed(str(exc), permanent=True) from exc
    raise AssertionError("unreachable")


async def send_reply(bot: Bot, chat_id: int, reply: Reply) -> None:
    """Send one reply: the image as a photo, the text split to fit, buttons under the last part."""
    photo = reply.photo or reply.image  # the bot's own picture (bytes, uploaded) or a URL
    if photo:
        try:
            await with_retries(lambda: bot.send_photo(chat_id=chat_id, photo=photo))
        except DeliveryFailed as exc:  # e.g. an unreachable image URL: the text still matters
            log.warning("Could not send image %s: %s", reply.image or "(chart)", exc)
    markup = keyboard(reply.buttons)
    text = reply.text or (BUTTONS_ONLY if markup else "")
    parts = split_text(text)
    for index, part in enumerate(parts):
        last = index == len(parts) - 1
        await with_retries(
            lambda part=part, last=last: bot.send_message(  # type: ignore[misc]
                chat_id=chat_id, text=part, reply_markup=markup if last else None
            )
        )


@contextlib.asynccontextmanager
async def typing(bot: Bot, chat_id: int, delay: float = TYPING_DELAY_SECONDS) -> AsyncIterator[None]:
    """Show "typing…" in the chat while the body runs, once it has run `delay` seconds (renewed:
    Telegram drops it after ~5 s)."""

    async def send_action() -> None:
        try:
            await bot.send_chat_action(chat_id=chat_id, action=ChatAction.TYPING)
        except TelegramError as exc:  # cosmetic only: never let it stop the answer
            log.debug("Could not send the typing action: %s", exc)

    async def keep_typing() -> None:
        await asyncio.sleep(delay)
        while True:
            await send_action()
            await asyncio.sleep(TYPING_REFRESH_SECONDS)

    task = asyncio.create_task(keep_typing())  # in the background: the answer doesn't wait for it
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
