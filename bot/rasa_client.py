"""Talk to the Rasa server: its REST channel for messages, its HTTP API for the tracker.

The HTTP API (`rasa run --enable-api --auth-token ...`, bound to 127.0.0.1) is only read:
after each turn, the tracker tells which intent Rasa recognised, how sure it was and which
flow was running. Without the token the bot still works; the transcript then lacks those.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import httpx

from bot.replies import Reply

log = logging.getLogger(__name__)

# Metadata key on each user message, so a turn can be found back in Rasa's tracker.
MESSAGE_REF = "deuropener_message"


class RasaUnavailable(Exception):
    """Rasa (or its action server) did not answer in time or answered with an error."""


class RasaUnreachable(RasaUnavailable):
    """The message never reached Rasa (no connection): sending it again is safe."""


@dataclass(frozen=True)
class TurnInfo:
    """What Rasa made of the latest user message, from its tracker."""

    message_ref: str | None
    intent: str | None
    confidence: float | None
    active_loop: str | None
    slots: dict[str, Any]


class RasaClient:
    def __init__(
        self,
        base_url: str,
        timeout: float = 120.0,
        auth_token: str | None = None,
        action_server_url: str | None = None,
    ) -> None:
        self._client = httpx.AsyncClient(base_url=base_url.rstrip("/"), timeout=timeout)
        self._token = auth_token
        self._action_health = _health_url(action_server_url) if action_server_url else None

    async def send(self, sender: str, text: str, message_ref: str | None = None) -> list[Reply]:
        """Send one user message and return the assistant's replies, in order."""
        body: dict[str, Any] = {"sender": sender, "message": text}
        if message_ref is not None:
            body["metadata"] = {MESSAGE_REF: message_ref}
        try:
            response = await self._client.post("/webhooks/rest/webhook", json=body)
            response.raise_for_status()
            return [Reply.from_rasa(m) for m in response.json()]
        except (httpx.ConnectError, httpx.ConnectTimeout) as exc:
            log.warning("Rasa is not reachable: %s", exc)
            raise RasaUnreachable(str(exc)) from exc
        except (httpx.HTTPError, ValueError) as exc:
            log.warning("Rasa did not answer: %r", exc)
            raise RasaUnavailable(str(exc)) from exc

    async def trigger_intent(self, sender: str, intent: str) -> list[Reply]:
        """Start something in Rasa without a user message (an externally triggered intent).

        `POST /conversations/{sender}/trigger_intent` on Rasa's HTTP API; without an output
        channel Rasa collects the bot's messages and returns them in the answer.
        """
        params = {"token": self._token} if self._token else None
        try:
            response = await self._client.post(
                f"/conversations/{quote(sender, safe='')}/trigger_intent",
                params=params,
                json={"name": intent},
            )
            response.raise_for_status()
            return [Reply.from_rasa(m) for m in response.json().get("messages") or []]
        except (httpx.ConnectError, httpx.ConnectTimeout) as exc:
            log.warning("Rasa is not reachable: %s", exc)
            raise RasaUnreachable(str(exc)) from exc
        except (httpx.HTTPError, ValueError, AttributeError) as exc:
            log.warning("Rasa did not trigger %s: %r", intent, exc)
            raise RasaUnavailable(str(exc)) from exc

    async def _tracker(self, sender: str, events: str, strict: bool = False) -> dict[str, Any] | None:
        """The sender's tracker; None if it can't be read (`strict`: raise RasaUnavailable)."""
        if not self._token:
            if strict:
                raise RasaUnavailable("no token for Rasa's HTTP API")
            return None
        try:
            response = await self._client.get(
                f"/conversations/{quote(sender, safe='')}/tracker",
                params={"include_events": events, "token": self._token},
                timeout=10,
            )
            response.raise_for_status()
            return response.json()
        except (httpx.HTTPError, ValueError) as exc:
            log.warning("Could not read the Rasa tracker: %r", exc)
            if strict:
                raise RasaUnavailable(str(exc)) from exc
            return None

    async def turn(self, sender: str) -> TurnInfo | None:
        """Intent, confidence and running flow of the sender's latest message (None if unknown)."""
        tracker = await self._tracker(sender, "NONE")
        if tracker is None:
            return None
        latest = tracker.get("latest_message") or {}
        intent = latest.get("intent") or {}
        metadata = latest.get("metadata") or {}
        confidence = intent.get("confidence")
        return TurnInfo(
            message_ref=metadata.get(MESSAGE_REF),
            intent=intent.get("name"),
            confidence=float(confidence) if confidence is not None else None,
            active_loop=(tracker.get("active_loop") or {}).get("name"),
            slots=tracker.get("slots") or {},
        )

    async def replies_to(self, sender: str, message_ref: str, strict: bool = False) -> list[Reply] | None:
        """The replies Rasa gave to one message, from its tracker; None if it never got it.

        For a message whose answer got lost on the way back (a timeout, a dropped connection).
        Without `strict` an unreadable tracker also gives None; with it, RasaUnavailable.
        """
        tracker = await self._tracker(sender, "AFTER_RESTART", strict)
        if tracker is None:
            return None
        events = tracker.get("events") or []
        for index in range(len(events) - 1, -1, -1):
            event = events[index]
            if event.get("event") == "user" and (event.get("metadata") or {}).get(MESSAGE_REF) == message_ref:
                return [_reply_from_event(e) for e in events[index + 1 :] if e.get("event") == "bot"]
        return None

    async def is_up(self) -> bool:
        """Rasa and (if known) the action server both answer their health checks."""
        checks = [self._healthy(self._client.base_url.join("/"))]
        if self._action_health:
            checks.append(self._healthy(httpx.URL(self._action_health)))
        return all(await asyncio.gather(*checks))

    async def _healthy(self, url: httpx.URL) -> bool:
        try:
            return (await self._client.get(url, timeout=3)).status_code == 200
        except httpx.HTTPError:
            return False

    async def aclose(self) -> None:
        await self._client.aclose()


def _health_url(action_server_url: str) -> str:
    """http://host:5055/webhook -> http://host:5055/health"""
    url = httpx.URL(action_server_url)
    return str(url.copy_with(path="/health", query=None))


def _reply_from_event(event: dict[str, Any]) -> Reply:
    data = event.get("data") or {}
    return Reply.from_rasa(
        {"text": event.get("text"), "buttons": data.get("buttons"), "image": data.get("image")}
    )
