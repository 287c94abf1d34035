"""Simulated workers: realistic multi-turn conversations, through Telegram or straight to Rasa.

Used by the multi-replica test (tests/test_scale_out.py) and the serving benchmark
(scripts/bench_serving.py). A worker types a line, waits for the whole answer (the message
that ends it contains the turn's `expect` fragment), reads for `think` seconds, and types the
next one; each turn's latency is measured from sending to the end of the answer.
"""

from __future__ import annotations

import asyncio
import itertools
import random
import time
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import httpx

from bot import access
from bot.db import Database
from bot.models import Role
from tests.cluster import deliver
from tests.fake_bot_api import ApiCall, FakeBotApi


class Pauses:
    """A worker's pauses between turns, `think` seconds on average.

    Without a seed every pause is exactly `think` and all workers start at once: they type in
    lockstep, the worst burst. With one, like people on phones: the start is spread over the
    first pause and each pause varies ±50 % at random. Seeded, so stock serving and the full
    path see the same pauses.
    """

    def __init__(self, think: float, seed: int | None = None) -> None:
        self.think = think
        self._random = random.Random(seed) if seed is not None else None

    async def start(self) -> None:
        if self.think and self._random is not None:
            await asyncio.sleep(self._random.uniform(0, self.think))

    async def between(self) -> None:
        if self.think:
            spread = self._random.uniform(0.5, 1.5) if self._random is not None else 1.0
            await asyncio.sleep(self.think * spread)


@dataclass(frozen=True)
class Turn:
    text: str
    expect: str  # a fragment of the answer's last message; "a|b": either

    def answered_by(self, text: object) -> bool:
        return any(fragment in str(text) for fragment in self.expect.split("|"))


MENU = "Hiermee kan ik je helpen"  # a greeting ends with the menu
THANKS = "Graag gedaan|Fijn dat ik kon helpen"

# Phone-typed conversations between visits: a greeting, a situation, questions, thanks.
SCRIPTS: list[list[Turn]] = [
    [
        Turn("hoi", MENU),
        Turn("mevrouw is erg wantrouwig en doet de deur niet open", "Bron:"),
        Turn("wat houdt quid pro quo in?", "Bron:"),
        Turn("bedankt!", THANKS),
    ],
    [
        Turn("goedemorgen", MENU),
        Turn("welke signalen zie je bij ouderen?", "Bron:"),
        Turn("wat als de cliënt alles ontkent?", "Bron:"),
        Turn("dank je wel", THANKS),
    ],
    [
        Turn("hallo", MENU),
        Turn("wat is nut bewijzen?", "Bron:"),
        Turn("hoe leg ik contact met een zorgmijder?", "Bron:"),
        Turn("top, bedankt", THANKS),
    ],
]


@dataclass
class Tally:
    """What the simulated workers saw."""

    latencies: list[float] = field(default_factory=list)  # seconds per answered turn
    errors: list[str] = field(default_factory=list)
    started: float = field(default_factory=time.monotonic)
    ended: float = 0.0

    @property
    def seconds(self) -> float:
        return (self.ended or time.monotonic()) - self.started

    @property
    def throughput(self) -> float:
        return len(self.latencies) / self.seconds if self.seconds else 0.0

    def percentile(self, share: float) -> float:
        ordered = sorted(self.latencies)
        if not ordered:
            return float("nan")
        return ordered[min(len(ordered) - 1, max(0, round(share * (len(ordered) - 1))))]


# --- through Telegram (fake Bot API -> nginx -> bots -> Rasa -> actions) -----------------------


class TelegramWorkers:
    """Workers on Telegram: updates go to the webhook, answers are read at the fake Bot API."""

    def __init__(self, api: FakeBotApi, webhook_url: str, database_url: str) -> None:
        self._api = api
        self._webhook = webhook_url
        self._database_url = database_url
        self._update_ids = itertools.count(10_000)
        self._client = httpx.AsyncClient(limits=httpx.Limits(max_connections=200))

    async def aclose(self) -> None:
        await self._client.aclose()

    def invites(self, count: int, team: str = "Wijkteam Noord") -> list[str]:
        db = Database(self._database_url)
        try:
            with db.session() as session:
                return [
                    access.create_invite(session, Role.WORKER, team, timedelta(hours=2)) for _ in range(count)
                ]
        finally:
            db.dispose()

    def _update(self, user_id: int, text: str) -> dict[str, Any]:
        content: dict[str, Any] = {"text": text}
        if text.startswith("/"):
            content["entities"] = [{"type": "bot_command", "offset": 0, "length": len(text.split()[0])}]
        return {"update_id": next(self._update_ids), "message": self._api.user_message(user_id, **content)}

    async def say(self, user_id: int, turn: Turn, timeout: float = 90.0) -> tuple[float, ApiCall]:
        """Send one line; wait for the answer's closing message; (latency, that call)."""
        mark = self._api.mark()
        sent = time.monotonic()
        await self.send(user_id, turn.text)
        call = await self.answer(user_id, turn, mark, timeout)
        return call.at - sent, call

    def mark(self) -> int:
        """A position in the fake Bot API's call log."""
        return self._api.mark()

    async def send(self, user_id: int, text: str) -> None:
        await deliver(self._client, self._webhook, self._update(user_id, text))

    async def answer(self, user_id: int, turn: Turn, after: int, timeout: float = 90.0) -> ApiCall:
        """The first message to the worker after `after` that answers `turn`."""
        deadline = time.monotonic() + timeout
        while True:
            for call in self._api.calls_of("sendMessage", after):
                if call.params.get("chat_id") in (user_id, str(user_id)) and turn.answered_by(
                    call.params.get("text")
                ):
                    return call
            if time.monotonic() > deadline:
                texts = [c.params.get("text") for c in self.chat(user_id, after)]
                raise TimeoutError(f"worker {user_id}: no {turn.expect!r} within {timeout} s; got {texts}")
            await asyncio.sleep(0.01)

    def chat(self, user_id: int, after: int = 0) -> list[ApiCall]:
        """Every message the bot sent to this worker (successful calls only)."""
        return self._api.per_chat(after=after).get(user_id, [])

    async def register(self, user_id: int, code: str) -> None:
        await self.say(user_id, Turn(f"/start {code}", "Welkom bij Deuropener"))

    async def converse(
        self,
        user_id: int,
        script: list[Turn],
        tally: Tally,
        rounds: int = 1,
        think: float = 0.0,
        seed: int | None = None,
    ) -> None:
        pauses = Pauses(think, seed)
        await pauses.start()
        for _ in range(rounds):
            for turn in script:
                try:
                    latency, _ = await self.say(user_id, turn)
                    tally.latencies.append(latency)
                except Exception as exc:  # counted, and the worker goes on
                    tally.errors.append(f"{user_id} {turn.text!r}: {exc}")
                await pauses.between()


# --- straight to Rasa's REST channel (stock serving) -------------------------------------------


async def converse_rest(
    client: httpx.AsyncClient, rasa_url: str, sender: str, script: list[Turn], tally: Tally, rounds: int = 1
) -> None:
    """The same conversation as a REST client of `rasa run` would have it."""
    for _ in range(rounds):
        for turn in script:
            sent = time.monotonic()
            try:
                response = await client.post(
                    f"{rasa_url}/webhooks/rest/webhook",
                    json={"sender": sender, "message": turn.text},
                    timeout=120,
                )
                response.raise_for_status()
                texts = " ".join(str(m.get("text")) for m in response.json())
                if not turn.answered_by(texts):
                    tally.errors.append(f"{sender} {turn.text!r}: no {turn.expect!r} in {texts[:200]!r}")
                    continue
                tally.latencies.append(time.monotonic() - sent)
            except (httpx.HTTPError, ValueError) as exc:
                tally.errors.append(f"{sender} {turn.text!r}: {exc!r}")
