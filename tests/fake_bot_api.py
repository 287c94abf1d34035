"""A fake Telegram Bot API server on loopback, for end-to-end tests of the real PTB Application.

It speaks the Bot API's HTTP protocol (`/bot<token>/<method>`, form, JSON or multipart
parameters, `{"ok": true, "result": ...}` answers), so python-telegram-bot runs unchanged
against it via `ApplicationBuilder().base_url(f"{api.url}/bot")`. Tests push updates the way
Telegram would deliver them and inspect every call the bot made.

Standard library only; it runs in a background thread:

    with FakeBotApi() as api:
        api.push_text(user_id=42, text="/start")
        calls = api.wait_for("sendMessage", count=3)
"""

from __future__ import annotations

import asyncio
import email.parser
import email.policy
import itertools
import json
import threading
import time
import uuid
from collections import deque
from dataclasses import dataclass
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

JSON = dict[str, Any]

BOT_USER: JSON = {
    "id": 7000001,
    "is_bot": True,
    "first_name": "Deuropener",
    "username": "deuropener_test_bot",
    "can_join_groups": False,
    "can_read_all_group_messages": False,
    "supports_inline_queries": False,
}
# Parameters that are plain strings even when they look like JSON (e.g. a text "123").
STRING_PARAMS = {"text", "caption", "callback_query_id", "photo", "action", "url", "inline_message_id"}


@dataclass(frozen=True)
class ApiCall:
    """One request the bot made: the method name and its decoded parameters."""

    index: int
    method: str
    params: JSON
    result: Any = None  # what the fake answered (None after an error)
    error: str | None = None  # the Bot API error description, if the call failed
    at: float = 0.0  # time.monotonic() when it was answered


class BotApiError(Exception):
    """Answered as `{"ok": false, ...}` with this HTTP status, like the real Bot API."""

    def __init__(self, status: int, description: str, retry_after: int | None = None) -> None:
        super().__init__(description)
        self.status = status
        self.description = description
        self.retry_after = retry_after


def _decode_value(name: str, value: str) -> Any:
    """PTB sends non-string parameters JSON-encoded inside form fields; decode those."""
    if name in STRING_PARAMS:
        return value
    try:
        return json.loads(value)
    except ValueError:
        return value


def _parse_multipart(content_type: str, body: bytes) -> JSON:
    """Decode multipart/form-data: plain fields as values, files as {"filename", "size"}."""
    message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(
        f"Content-Type: {content_type}\r\n\r\n".encode() + body
    )
    params: JSON = {}
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        if not name:
            continue
        payload = part.get_payload(decode=True) or b""
        filename = part.get_filename()
        if filename is not None:
            params[name] = {"filename": filename, "size": len(payload), "data": payload}
        else:
            params[name] = _decode_value(name, payload.decode("utf-8"))
    return params


def parse_params(content_type: str, body: bytes, query: str = "") -> JSON:
    """The request's parameters, whichever way PTB (or anyone) sent them."""
    params: JSON = {name: _decode_value(name, value) for name, value in parse_qsl(query)}
    kind = content_type.split(";")[0].strip().lower()
    if not body:
        return params
    if kind == "application/json":
        params.update(json.loads(body))
    elif kind == "multipart/form-data":
        params.update(_parse_multipart(content_type, body))
    else:  # application/x-www-form-urlencoded (PTB's default)
        params.update({name: _decode_value(name, value) for name, value in parse_qsl(body.decode("utf-8"))})
    # Files attached by PTB are referenced as "attach://<name>": resolve to the uploaded part.
    for name, value in list(params.items()):
        if isinstance(value, str) and value.startswith("attach://"):
            params[name] = params.get(value.removeprefix("attach://"), value)
    return params


def peak_per_second(times: list[float]) -> int:
    """The most moments within any 1-second window (sliding, half-open), e.g. of answered calls."""
    times = sorted(times)
    peak, start = 0, 0
    for end, at in enumerate(times):
        while at - times[start] >= 1.0:
            start += 1
        peak = max(peak, end - start + 1)
    return peak


class FakeBotApi:
    """A Telegram Bot API stand-in that records calls and serves queued updates."""

    def __init__(self, token: str = "123456:TEST-TOKEN", max_poll_wait: float = 1.0) -> None:
        self.token = token
        self.max_poll_wait = max_poll_wait  # long polls return after at most this long
        self.calls: list[ApiCall] = []
        self.commands: list[JSON] = []
        self.messages: dict[tuple[int, int], JSON] = {}  # (chat_id, message_id) -> Message
        self._updates: deque[JSON] = deque()
        self._update_ids = itertools.count(1)
        self._message_ids = itertools.count(1)
        self._changed = threading.Condition()
        self._stopping = False
        self._last_busy = 0.0  # time.monotonic() of the last call other than getUpdates
        self._failures: dict[str, deque[BotApiError]] = {}  # method -> errors to answer next
        self._failures_at: dict[tuple[str, int], BotApiError] = {}  # (method, nth call) -> error
        self._method_counts: dict[str, int] = {}  # calls per method so far
        self.webhook: JSON = {}  # what setWebhook was given
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler_class())
        self._server.daemon_threads = True
        self._thread: threading.Thread | None = None

    # --- lifecycle ------------------------------------------------------------------------

    @property
    def url(self) -> str:
        """Base URL for Settings.telegram_api_base_url (the bot adds "/bot<token>")."""
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> FakeBotApi:
        self._thread = threading.Thread(target=self._server.serve_forever, name="fake-bot-api", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        with self._changed:
            self._stopping = True
            self._changed.notify_all()  # release waiting long polls
        self._server.shutdown()
        self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def __enter__(self) -> FakeBotApi:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # --- pushing updates (what a Telegram user does) ----------------------------------------

    @staticmethod
    def user(user_id: int) -> JSON:
        return {"id": user_id, "is_bot": False, "first_name": "Test", "language_code": "nl"}

    @staticmethod
    def private_chat(user_id: int) -> JSON:
        return {"id": user_id, "type": "private", "first_name": "Test"}

    def user_message(self, user_id: int, **content: Any) -> JSON:
        """A Message object as if the user sent it (text, photo, sticker, ... in `content`)."""
        return {
            "message_id": next(self._message_ids),
            "from": self.user(user_id),
            "chat": self.private_chat(user_id),
            "date": int(time.time()),
            **content,
        }

    def push_update(self, update: JSON) -> JSON:
        """Queue a raw update (an update_id is added when missing); returns it."""
        with self._changed:
            update = {"update_id": next(self._update_ids), **update}
            self._updates.append(update)
            self._changed.notify_all()
        return update

    def push_text(self, user_id: int, text: str) -> JSON:
        """The user types `text` (a leading "/command" gets its bot_command entity, as in Telegram)."""
        content: JSON = {"text": text}
        if text.startswith("/"):
            command = text.split()[0]
            content["entities"] = [{"type": "bot_command", "offset": 0, "length": len(command)}]
        return self.push_update({"message": self.user_message(user_id, **content)})

    def push_callback(self, user_id: int, message_id: int, data: str) -> JSON:
        """The user taps an inline button with callback `data` under the bot's message `message_id`."""
        stored = self.messages.get((user_id, message_id))
        message = (
            dict(stored)
            if stored
            else {
                "message_id": message_id,
                "from": BOT_USER,
                "chat": self.private_chat(user_id),
                "date": int(time.time()),
                "text": "",
            }
        )
        return self.push_update(
            {
                "callback_query": {
                    "id": uuid.uuid4().hex,
                    "from": self.user(user_id),
                    "message": message,
                    "chat_instance": f"ci-{user_id}",
                    "data": data,
                }
            }
        )

    def fail_next(self, method: str, error: BotApiError, times: int = 1) -> None:
        """Answer the next `times` calls of `method` with `error` (e.g. a 429 with retry_after)."""
        with self._changed:
            self._failures.setdefault(method, deque()).extend([error] * times)

    def fail_at(self, method: str, nth: int, error: BotApiError) -> None:
        """Answer the `nth` call of `method` (counting from 1, all calls so far included) with `error`."""
        with self._changed:
            self._failures_at[(method, nth)] = error

    # --- inspecting calls -------------------------------------------------------------------

    def mark(self) -> int:
        """A position in the call log: pass it as `after` to look only at later calls."""
        with self._changed:
            return len(self.calls)

    def calls_of(self, method: str, after: int = 0) -> list[ApiCall]:
        with self._changed:
            return [c for c in self.calls[after:] if c.method == method]

    def wait_for(self, method: str, count: int = 1, timeout: float = 30.0, after: int = 0) -> list[ApiCall]:
        """Block until `count` calls of `method` were made (after `after`); return all of them."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while True:
                found = [c for c in self.calls[after:] if c.method == method]
                if len(found) >= count:
                    return found
                left = deadline - time.monotonic()
                if left <= 0:
                    seen = [c.method for c in self.calls[after:] if c.method != "getUpdates"]
                    raise TimeoutError(f"{len(found)}/{count} {method} calls after {timeout} s; saw {seen}")
                self._changed.wait(left)

    async def async_wait_for(
        self, method: str, count: int = 1, timeout: float = 30.0, after: int = 0
    ) -> list[ApiCall]:
        """`wait_for` without blocking the event loop the bot runs in."""
        return await asyncio.to_thread(self.wait_for, method, count, timeout, after)

    def wait_for_text(self, fragment: str, timeout: float = 30.0, after: int = 0) -> ApiCall:
        """Block until the bot sent a message containing `fragment`; return that sendMessage call."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while True:
                for c in self.calls[after:]:
                    if c.method == "sendMessage" and fragment in str(c.params.get("text", "")):
                        return c
                left = deadline - time.monotonic()
                if left <= 0:
                    sent = [c.params.get("text") for c in self.calls[after:] if c.method == "sendMessage"]
                    raise TimeoutError(f"no message with {fragment!r} after {timeout} s; sent: {sent}")
                self._changed.wait(left)

    async def async_wait_for_text(self, fragment: str, timeout: float = 30.0, after: int = 0) -> ApiCall:
        return await asyncio.to_thread(self.wait_for_text, fragment, timeout, after)

    def wait_idle(self, quiet: float = 0.5, timeout: float = 30.0) -> None:
        """Block until the bot made no call (other than polling) for `quiet` seconds."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while True:
                now = time.monotonic()
                since = now - self._last_busy
                if since >= quiet:
                    return
                if now >= deadline:
                    raise TimeoutError(f"the bot kept calling the API for {timeout} s")
                self._changed.wait(min(quiet - since, deadline - now))

    async def async_wait_idle(self, quiet: float = 0.5, timeout: float = 30.0) -> None:
        await asyncio.to_thread(self.wait_idle, quiet, timeout)

    def per_second_peak(self, method: str = "sendMessage", after: int = 0) -> int:
        """The most calls of `method` answered within any 1-second window (sliding, half-open)."""
        return peak_per_second([c.at for c in self.calls_of(method, after)])

    def per_chat(
        self, method: str = "sendMessage", after: int = 0, ok_only: bool = True
    ) -> dict[int, list[ApiCall]]:
        """Calls of `method` by chat id (by default only those that succeeded)."""
        chats: dict[int, list[ApiCall]] = {}
        for c in self.calls_of(method, after):
            if ok_only and c.error is not None:
                continue
            chats.setdefault(int(c.params.get("chat_id", 0)), []).append(c)
        return chats

    def sent_texts(self, after: int = 0) -> list[str]:
        return [c.params.get("text", "") for c in self.calls_of("sendMessage", after)]

    # --- the Bot API itself ---------------------------------------------------------------

    def call(self, method: str, params: JSON) -> Any:
        """Answer and record one Bot API call; raises BotApiError for Bot API errors."""
        handler = getattr(self, f"_api_{method}", None)
        result: Any = None
        try:
            with self._changed:
                failures = self._failures.get(method)
                failure = failures.popleft() if failures else None
                nth = self._method_counts[method] = self._method_counts.get(method, 0) + 1
                failure = failure or self._failures_at.pop((method, nth), None)
            if failure is not None:
                raise failure
            if handler is None:
                raise BotApiError(HTTPStatus.NOT_FOUND, "Not Found: method not found")
            result = handler(params)
        except BotApiError as exc:
            self._record(method, params, None, exc.description)
            raise
        self._record(method, params, result, None)
        return result

    def _record(self, method: str, params: JSON, result: Any, error: str | None) -> None:
        with self._changed:
            self.calls.append(ApiCall(len(self.calls), method, params, result, error, time.monotonic()))
            if method != "getUpdates":
                self._last_busy = time.monotonic()
            self._changed.notify_all()

    def _api_getMe(self, params: JSON) -> JSON:
        return BOT_USER

    def _api_setWebhook(self, params: JSON) -> bool:
        self.webhook = dict(params)
        return True

    def _api_getWebhookInfo(self, params: JSON) -> JSON:
        return {
            "url": self.webhook.get("url", ""),
            "has_custom_certificate": False,
            "pending_update_count": 0,
        }

    def _api_deleteWebhook(self, params: JSON) -> bool:
        if params.get("drop_pending_updates"):
            with self._changed:
                self._updates.clear()
        return True

    def _api_getUpdates(self, params: JSON) -> list[JSON]:
        offset = int(params.get("offset") or 0)
        limit = int(params.get("limit") or 100)
        wait = min(float(params.get("timeout") or 0), self.max_poll_wait)
        deadline = time.monotonic() + wait
        with self._changed:
            while self._updates and self._updates[0]["update_id"] < offset:
                self._updates.popleft()  # confirmed by the offset: never delivered again
            while not self._updates and not self._stopping:
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                self._changed.wait(left)
            return list(itertools.islice(self._updates, limit))

    def _api_setMyCommands(self, params: JSON) -> bool:
        self.commands = list(params.get("commands") or [])
        return True

    def _api_getMyCommands(self, params: JSON) -> list[JSON]:
        return self.commands

    def _api_deleteMyCommands(self, params: JSON) -> bool:
        self.commands = []
        return True

    def _new_message(self, params: JSON, **content: Any) -> JSON:
        chat_id = self._chat_id(params)
        message: JSON = {
            "message_id": next(self._message_ids),
            "from": BOT_USER,
            "chat": {"id": chat_id, "type": "private" if chat_id > 0 else "group", "first_name": "Test"},
            "date": int(time.time()),
            **content,
        }
        if params.get("reply_markup"):
            message["reply_markup"] = params["reply_markup"]
        with self._changed:
            self.messages[(chat_id, message["message_id"])] = message
        return message

    @staticmethod
    def _chat_id(params: JSON) -> int:
        try:
            return int(params["chat_id"])
        except (KeyError, TypeError, ValueError):
            raise BotApiError(HTTPStatus.BAD_REQUEST, "Bad Request: chat not found") from None

    def _api_sendMessage(self, params: JSON) -> JSON:
        text = params.get("text")
        if not isinstance(text, str) or not text.strip():
            raise BotApiError(HTTPStatus.BAD_REQUEST, "Bad Request: message text is empty")
        if len(text.encode("utf-16-le")) // 2 > 4096:
            raise BotApiError(HTTPStatus.BAD_REQUEST, "Bad Request: message is too long")
        for row in (params.get("reply_markup") or {}).get("inline_keyboard", []):
            for button in row:
                if len(str(button.get("callback_data", "")).encode()) > 64:
                    raise BotApiError(HTTPStatus.BAD_REQUEST, "Bad Request: BUTTON_DATA_INVALID")
        return self._new_message(params, text=text)

    def _api_sendPhoto(self, params: JSON) -> JSON:
        photo = params.get("photo")
        if not photo:
            raise BotApiError(HTTPStatus.BAD_REQUEST, "Bad Request: there is no photo in the request")
        sizes = [
            {
                "file_id": f"photo-{uuid.uuid4().hex}",
                "file_unique_id": uuid.uuid4().hex[:16],
                "width": width,
                "height": width * 3 // 4,
                "file_size": width * 100,
            }
            for width in (90, 320, 800)
        ]
        content: JSON = {"photo": sizes}
        if params.get("caption"):
            content["caption"] = params["caption"]
        return self._new_message(params, **content)

    def _api_sendDocument(self, params: JSON) -> JSON:
        document = params.get("document")
        if not isinstance(document, dict):
            raise BotApiError(HTTPStatus.BAD_REQUEST, "Bad Request: there is no document in the request")
        content: JSON = {
            "document": {
                "file_id": f"doc-{uuid.uuid4().hex}",
                "file_unique_id": uuid.uuid4().hex[:16],
                "file_name": document["filename"],
                "file_size": document["size"],
            }
        }
        if params.get("caption"):
            content["caption"] = params["caption"]
        return self._new_message(params, **content)

    def _api_sendChatAction(self, params: JSON) -> bool:
        self._chat_id(params)
        return True

    def _api_answerCallbackQuery(self, params: JSON) -> bool:
        if not params.get("callback_query_id"):
            raise BotApiError(HTTPStatus.BAD_REQUEST, "Bad Request: query is too old or query ID is invalid")
        return True

    def _edited(self, params: JSON) -> JSON | bool:
        if params.get("inline_message_id"):
            return True
        key = (self._chat_id(params), int(params.get("message_id") or 0))
        with self._changed:
            message = self.messages.get(key)
            if message is None:
                raise BotApiError(HTTPStatus.BAD_REQUEST, "Bad Request: message to edit not found")
            return message

    def _api_editMessageReplyMarkup(self, params: JSON) -> JSON | bool:
        message = self._edited(params)
        if isinstance(message, dict):
            markup = params.get("reply_markup")
            if markup == message.get("reply_markup") or (not markup and "reply_markup" not in message):
                raise BotApiError(HTTPStatus.BAD_REQUEST, "Bad Request: message is not modified")
            with self._changed:
                if markup:
                    message["reply_markup"] = markup
                else:
                    message.pop("reply_markup", None)
                message["edit_date"] = int(time.time())
        return message

    def _api_editMessageText(self, params: JSON) -> JSON | bool:
        message = self._edited(params)
        if isinstance(message, dict):
            with self._changed:
                message["text"] = params.get("text", "")
                if params.get("reply_markup"):
                    message["reply_markup"] = params["reply_markup"]
                else:
                    message.pop("reply_markup", None)
                message["edit_date"] = int(time.time())
        return message

    def _api_logOut(self, params: JSON) -> bool:
        return True

    def _api_close(self, params: JSON) -> bool:
        return True

    # --- HTTP -----------------------------------------------------------------------------

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        api = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            # Headers and body go out in separate writes: without this, Nagle's algorithm and
            # delayed ACKs hold each answer back ~40 ms on a kept-alive connection.
            disable_nagle_algorithm = True

            def do_POST(self) -> None:
                self._serve()

            def do_GET(self) -> None:
                self._serve()

            def _serve(self) -> None:
                url = urlsplit(self.path)
                prefix = f"/bot{api.token}/"
                if not url.path.startswith(prefix):
                    self._answer(
                        HTTPStatus.UNAUTHORIZED,
                        {"ok": False, "error_code": 401, "description": "Unauthorized"},
                    )
                    return
                method = url.path.removeprefix(prefix)
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                try:
                    params = parse_params(self.headers.get("Content-Type", ""), body, url.query)
                    result = api.call(method, params)
                except BotApiError as exc:
                    answer: JSON = {
                        "ok": False,
                        "error_code": int(exc.status),
                        "description": exc.description,
                    }
                    if exc.retry_after is not None:
                        answer["parameters"] = {"retry_after": exc.retry_after}
                    self._answer(exc.status, answer)
                    return
                except Exception as exc:  # a bug in the fake: make it visible, never hang the bot
                    self._answer(
                        HTTPStatus.INTERNAL_SERVER_ERROR,
                        {"ok": False, "error_code": 500, "description": f"fake: {exc!r}"},
                    )
                    return
                self._answer(HTTPStatus.OK, {"ok": True, "result": result})

            def _answer(self, status: int, payload: JSON) -> None:
                data = json.dumps(payload).encode()
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                except (BrokenPipeError, ConnectionResetError):  # the bot cancelled a long poll
                    self.close_connection = True

            def log_message(self, format: str, *args: Any) -> None:  # keep test output quiet
                pass

        return Handler
