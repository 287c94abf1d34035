"""The one path every message takes, whatever the channel (Telegram or the local chat).

check the input -> pseudonymous sender -> Rasa -> replies; a turn record for each message.
"""

from __future__ import annotations

import logging

from bot.rasa_client import RasaClient, RasaUnavailable
from bot.replies import MENU_BUTTON, Reply
from bot.store import TurnStore
from coach import input_check

log = logging.getLogger(__name__)

UNAVAILABLE = (
    "Ik ben even niet bereikbaar. Probeer het over een paar minuten opnieuw; "
    "je bericht is niet verloren, je kunt het gewoon nog eens sturen."
)
EMPTY_RASA_ANSWER = "Daar heb ik even geen antwoord op. Kies iets uit het menu of stel je vraag anders."


class Conversation:
    def __init__(self, rasa: RasaClient, store: TurnStore, channel: str) -> None:
        self._rasa = rasa
        self._store = store
        self._channel = channel

    async def handle(self, user_key: str, text: str | None) -> list[Reply]:
        """Answer one message from the user known to this channel as `user_key`."""
        sender = self._store.pseudonym(self._channel, user_key)
        problem = input_check.check(text)
        if problem is not None:
            self._store.record(sender, self._channel, "in", problem.value)
            return self._answer(sender, [Reply(input_check.ANSWERS[problem], (MENU_BUTTON,))], "guard")

        message = (text or "").strip()
        self._store.record(sender, self._channel, "in", "button" if message.startswith("/") else "text")
        try:
            replies = await self._rasa.send(sender, message)
        except RasaUnavailable:
            return self._answer(sender, [Reply(UNAVAILABLE)], "unavailable")
        if not replies:
            log.warning("Rasa answered nothing for a %d-character message", len(message))
            replies = [Reply(EMPTY_RASA_ANSWER, (MENU_BUTTON,))]
        return self._answer(sender, replies, "assistant")

    def _answer(self, sender: str, replies: list[Reply], kind: str) -> list[Reply]:
        for _ in replies:
            self._store.record(sender, self._channel, "out", kind)
        return replies
