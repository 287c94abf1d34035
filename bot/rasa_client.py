"""Talk to the Rasa server over its REST channel."""

from __future__ import annotations

import logging

import httpx

from bot.replies import Reply

log = logging.getLogger(__name__)


class RasaUnavailable(Exception):
    """Rasa (or its action server) did not answer in time or answered with an error."""


class RasaClient:
    def __init__(self, base_url: str, timeout: float = 10.0) -> None:
        self._client = httpx.AsyncClient(base_url=base_url.rstrip("/"), timeout=timeout)

    async def send(self, sender: str, text: str) -> list[Reply]:
        """Send one user message and return the assistant's replies, in order."""
        try:
            response = await self._client.post(
                "/webhooks/rest/webhook", json={"sender": sender, "message": text}
            )
            response.raise_for_status()
            return [Reply.from_rasa(m) for m in response.json()]
        except (httpx.HTTPError, ValueError) as exc:
            log.warning("Rasa did not answer: %s", exc)
            raise RasaUnavailable(str(exc)) from exc

    async def is_up(self) -> bool:
        try:
            return (await self._client.get("/")).status_code == 200
        except httpx.HTTPError:
            return False

    async def aclose(self) -> None:
        await self._client.aclose()
