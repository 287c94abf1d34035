"""Sending due reflection nudges: claimed in the database, rate-limited, recorded, never twice.

Every `interval` seconds (a job in the Telegram process, or `python -m bot.nudge_dispatch`
on its own) a dispatcher:

1. gives new workers with an open case the default schedule, and records the nudges of
   schedules that fell due (`bot.nudges.materialize`) — everything comes from the database,
   so after a restart every schedule is armed again; a nudge that fell due while the bot was
   down is sent once if it is less than 12 hours late, otherwise recorded as skipped;
2. claims due nudges with one atomic `UPDATE ... WHERE claimed_by IS NULL` (on PostgreSQL the
   candidates are picked `FOR UPDATE SKIP LOCKED`), so two dispatchers never take the same one;
3. sends them within Telegram's limits — paced at `max_rate` messages a second and never
   more than `max_per_second` started in any sliding second (`Pacer`), one a second per chat
   (aiolimiter) — waiting out a 429's `retry_after` for all sends;
4. records each as sent, together with the message in the worker's transcript.

A nudge is marked `sending` just before it goes to Telegram and `sent` right after. A crash
in between leaves it `sending`; such a nudge is not sent again (it may have arrived) but
recorded as failed. Nudges only claimed by a process that died are released after
`claim_ttl`; a dispatcher that stops normally releases what it did not send at once.

The rate limit is per dispatcher: run one (the plan of record), or divide `NUDGE_MAX_RATE` and
`NUDGE_MAX_PER_SECOND` over the processes that dispatch. In the Telegram process the bot's
other messages share Telegram's limit; PTB's AIORateLimiter keeps all of them at 30 a second.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib.util
import logging
import math
import os
import socket
import sys
import uuid
from collections import OrderedDict, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from aiolimiter import AsyncLimiter
from sqlalchemy import bindparam, insert, select, update
from sqlalchemy.exc import OperationalError
from telegram import Bot
from telegram.error import BadRequest, Forbidden, NetworkError, RetryAfter, TelegramError, TimedOut
from telegram.ext import Application, ContextTypes
from telegram.request import HTTPXRequest

from bot import nudges
from bot.db import Database
from bot.models import DispatchStatus, Message, NudgeDispatch, Status, User
from bot.models.message import Direction
from bot.telegram_render import keyboard

log = logging.getLogger(__name__)

Clock = Callable[[], datetime]
CHAT_LIMITERS_KEPT = 10_000
PREPARE_EVERY_SECONDS = 30.0  # during a long round, record newly due nudges this often

# httpcore looks for `sniffio` on every request; it isn't installed (anyio 4 no longer needs
# it), and each failed import searches sys.path again: measured, a sixth of a nudge's CPU
# time. Recording it as absent (a None entry: "import sniffio" fails at once) saves that.
if "sniffio" not in sys.modules and importlib.util.find_spec("sniffio") is None:
    sys.modules["sniffio"] = None  # type: ignore[assignment]

# The statements of the hot path, built once (a send costs two short transactions).
_DISPATCHES = NudgeDispatch.__table__
_MOVE = update(_DISPATCHES).where(
    _DISPATCHES.c.id == bindparam("nudge_id"),
    _DISPATCHES.c.claimed_by == bindparam("owner"),
    _DISPATCHES.c.status == bindparam("from_status"),
)
_TO_SENDING = _MOVE.values(
    status=DispatchStatus.SENDING.value, claimed_at=bindparam("at"), attempts=_DISPATCHES.c.attempts + 1
)
_TO_SENT = (
    update(_DISPATCHES)
    .where(_DISPATCHES.c.id == bindparam("nudge_id"))
    .values(status=DispatchStatus.SENT.value, sent_at=bindparam("at"))
)
_TRANSCRIBE = insert(Message.__table__)


@dataclass(frozen=True)
class DispatchConfig:
    interval: float = 2.0  # seconds between rounds
    max_rate: float = 28.0  # messages a second overall, evenly spaced (Telegram: about 30 per bot)
    # Hard cap on sends started in any sliding second (default: max_rate). Below Telegram's 30
    # with room for the network: requests started 27 in a second may arrive a little closer.
    max_per_second: int | None = 27
    per_chat_seconds: float = 1.0  # at least this long between two messages to one chat
    batch: int = 60  # nudges claimed at a time (about two seconds of sending)
    concurrency: int = 2  # requests in flight at once: arrivals bunch up by one at the most
    send_attempts: int = 4  # per nudge, for 429s and network errors, before it is released
    claim_ttl: timedelta = timedelta(minutes=5)  # then a dead dispatcher's claims are released
    late_limit: timedelta = nudges.LATE_LIMIT
    defaults_every: timedelta = timedelta(minutes=1)  # how often new workers get a schedule

    @classmethod
    def from_env(cls) -> DispatchConfig:
        env = os.environ
        return cls(
            interval=float(env.get("NUDGE_INTERVAL_SECONDS", cls.interval)),
            max_rate=float(env.get("NUDGE_MAX_RATE", cls.max_rate)),
            max_per_second=int(env.get("NUDGE_MAX_PER_SECOND") or cls.max_per_second or 0) or None,
        )


@dataclass
class Stats:
    sent: int = 0
    failed: int = 0
    released: int = 0
    retry_after: int = 0  # 429s waited out
    due: int = 0  # nudges that fell due this round

    def add(self, other: Stats) -> None:
        for name in ("sent", "failed", "released", "retry_after", "due"):
            setattr(self, name, getattr(self, name) + getattr(other, name))


@dataclass(frozen=True)
class Claimed:
    id: int
    user_id: int
    chat_id: int


class Pacer:
    """Evenly spaced sends, `rate` a second, and never more than `cap` in any second.

    Sends go one after another on a timeline `1 / rate` apart; a sender held up (a busy
    event loop) may make up the slots it missed in the last `credit` intervals, so the
    sustained rate stays at `rate`. The actual start times of the last `cap` sends are kept:
    a send waits until the one `cap` sends back is a full second ago, so no 1-second window
    (sliding, as Telegram counts) ever holds more than `cap` of them, catching up included.
    """

    def __init__(self, rate: float, cap: int, credit: int = 14) -> None:
        self.interval = 1 / rate
        self.cap = cap
        self._credit = credit * self.interval
        self._next = float("-inf")
        self._starts: deque[float] = deque(maxlen=cap)
        self._lock = asyncio.Lock()

    async def wait(self) -> None:
        async with self._lock:  # one sender at a time takes the next slot
            loop = asyncio.get_running_loop()
            while True:
                now = loop.time()
                # Behind the timeline by less than the credit: catch up; idle (or stalled longer):
                # start afresh now, without a burst.
                slot = self._next if self._next >= now - self._credit else now
                if len(self._starts) == self.cap:
                    slot = max(slot, self._starts[0] + 1.0)
                if slot <= now:
                    break
                await asyncio.sleep(slot - now)
            self._starts.append(now)
            self._next = slot + self.interval


@dataclass
class _Limits:
    """Telegram's limits for one dispatcher: evenly spaced overall, one a second per chat."""

    config: DispatchConfig
    overall: Pacer = field(init=False)
    chats: OrderedDict[int, AsyncLimiter] = field(default_factory=OrderedDict)
    resume_at: float = 0.0  # loop time before which nothing is sent (a 429's retry_after)

    def __post_init__(self) -> None:
        cap = self.config.max_per_second or max(1, math.floor(self.config.max_rate))
        self.overall = Pacer(self.config.max_rate, cap)

    def chat(self, chat_id: int) -> AsyncLimiter:
        limiter = self.chats.pop(chat_id, None) or AsyncLimiter(1, self.config.per_chat_seconds)
        self.chats[chat_id] = limiter
        if len(self.chats) > CHAT_LIMITERS_KEPT:
            self.chats.popitem(last=False)
        return limiter

    async def turn(self) -> None:
        """Wait for the next overall slot that no 429's retry_after holds back."""
        while True:
            await self._wait_out_retry_after()
            await self.overall.wait()
            if asyncio.get_running_loop().time() >= self.resume_at:
                return  # else a 429 came in while this one waited: wait again

    async def _wait_out_retry_after(self) -> None:
        loop = asyncio.get_running_loop()
        while (left := self.resume_at - loop.time()) > 0:
            await asyncio.sleep(left)

    def pause(self, seconds: float) -> None:
        loop = asyncio.get_running_loop()
        self.resume_at = max(self.resume_at, loop.time() + seconds)


def _unsent(task: asyncio.Task[bool | None]) -> bool:
    """A finished send that gave its nudge back (a failed one stays claimed: the TTL decides)."""
    if task.exception() is not None:
        log.error("Sending a nudge failed", exc_info=task.exception())
        return False
    return task.result() is None


def _nudge_clock() -> datetime:
    return nudges.now()


def _seconds(value: object) -> float:
    total = getattr(value, "total_seconds", None)
    return float(total()) if callable(total) else float(value)  # type: ignore[arg-type]


class NudgeDispatcher:
    def __init__(
        self,
        db: Database,
        bot: Bot,
        config: DispatchConfig | None = None,
        clock: Clock | None = None,
        name: str | None = None,
    ) -> None:
        self._db = db
        self._bot = bot
        self.config = config or DispatchConfig()
        self._clock = clock or _nudge_clock  # tests pass their own, or replace nudges.now
        self.name = name or f"{socket.gethostname()[:30]}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self._limits = _Limits(self.config)
        self._in_flight = asyncio.Semaphore(self.config.concurrency)
        self._reply = nudges.nudge_reply()
        self._keyboard = keyboard(self._reply.buttons)
        self._defaults_at: datetime | None = None
        self._lock = asyncio.Lock()
        self._postgres = db.engine.dialect.name == "postgresql"
        self.total = Stats()

    @property
    def busy(self) -> bool:
        return self._lock.locked()

    # --- one round ----------------------------------------------------------------------

    async def run_once(self, keep_going: Callable[[], bool] = lambda: True) -> Stats:
        """Record what fell due, then claim and send until nothing is left (or told to stop).

        Claiming is topped up while sends are under way, so the pace never stalls on it.
        """
        stats = Stats()
        if self._lock.locked():  # the previous round is still sending
            return stats
        async with self._lock:
            sending: dict[asyncio.Task[bool | None], Claimed] = {}
            try:
                stats.due = self._prepare()
                prepared = asyncio.get_running_loop().time()
                while keep_going():
                    if asyncio.get_running_loop().time() - prepared > PREPARE_EVERY_SECONDS:
                        stats.due += self._prepare()  # a long round: what fell due meanwhile
                        prepared = asyncio.get_running_loop().time()
                    if len(sending) <= self.config.batch // 2:
                        taken = {c.id for c in sending.values()}
                        for nudge in self._claim(self.config.batch - len(sending), taken):
                            sending[asyncio.create_task(self._deliver(nudge, keep_going, stats))] = nudge
                    if not sending:
                        break
                    done, _ = await asyncio.wait(sending, return_when=asyncio.FIRST_COMPLETED)
                    finished = {task: sending.pop(task) for task in done}
                    self._release([nudge.id for task, nudge in finished.items() if _unsent(task)])
            except OperationalError as exc:  # the database is busy or away: the next round retries
                log.warning("Nudge dispatch round stopped by a database error: %s", exc)
            finally:  # stopping: sends under way finish, the others give their nudge back
                if sending:
                    await asyncio.wait(sending)
                    self._release([nudge.id for task, nudge in sending.items() if _unsent(task)])
        self.total.add(stats)
        if stats.sent or stats.failed:
            log.info("Nudges: %s", stats)
        return stats

    def _prepare(self) -> int:
        """New default schedules (now and then), stale claims, late nudges, what fell due."""
        at = self._clock()
        due = 0
        with self._db.session() as session:
            if self._defaults_at is None or at - self._defaults_at >= self.config.defaults_every:
                created = nudges.ensure_defaults(session, at)
                if created:
                    log.info("Gave %d workers the default nudge schedule", created)
                self._defaults_at = at
        while True:
            with self._db.session() as session:
                done = nudges.materialize(session, at, late_limit=self.config.late_limit)
            due += done.due
            if done.schedules < done.limit:
                break
        with self._db.session() as session:
            stale = at - self.config.claim_ttl
            session.execute(  # claimed by a dispatcher that died before sending: send it after all
                update(NudgeDispatch)
                .where(NudgeDispatch.status == DispatchStatus.CLAIMED.value, NudgeDispatch.claimed_at < stale)
                .values(status=DispatchStatus.DUE.value, claimed_by=None, claimed_at=None)
            )
            session.execute(  # handed to Telegram when a dispatcher died: it may have arrived
                update(NudgeDispatch)
                .where(NudgeDispatch.status == DispatchStatus.SENDING.value, NudgeDispatch.claimed_at < stale)
                .values(status=DispatchStatus.FAILED.value, note="uncertain")
            )
            session.execute(
                update(NudgeDispatch)
                .where(
                    NudgeDispatch.status == DispatchStatus.DUE.value,
                    NudgeDispatch.due_at <= at - self.config.late_limit,
                )
                .values(status=DispatchStatus.SKIPPED.value, note="late")
            )
        return due

    def _claim(self, limit: int, taken: set[int]) -> list[Claimed]:
        """Take up to `limit` more due nudges for this dispatcher, atomically (`taken`: ours already)."""
        at = self._clock()
        candidates = (
            select(NudgeDispatch.id)
            .where(NudgeDispatch.status == DispatchStatus.DUE.value, NudgeDispatch.claimed_by.is_(None))
            .order_by(NudgeDispatch.due_at, NudgeDispatch.id)
            .limit(limit)
        )
        with self._db.session() as session:
            if self._postgres:
                # Lock the candidates, skipping those another dispatcher is taking right now. (A
                # LIMIT ... SKIP LOCKED subquery inside the UPDATE may be rescanned and exceed
                # its limit on PostgreSQL, so the ids are fetched first.)
                ids = list(session.scalars(candidates.with_for_update(skip_locked=True)))
                chosen = NudgeDispatch.id.in_(ids)
            else:  # SQLite: one statement, which takes the write lock before it reads
                chosen = NudgeDispatch.id.in_(candidates.scalar_subquery())
            session.execute(
                update(NudgeDispatch)
                .where(chosen, NudgeDispatch.claimed_by.is_(None))
                .values(claimed_by=self.name, claimed_at=at, status=DispatchStatus.CLAIMED.value)
                .execution_options(synchronize_session=False)
            )
            rows = session.execute(
                select(NudgeDispatch.id, NudgeDispatch.user_id, User.chat_id)
                .join(User, User.id == NudgeDispatch.user_id)
                .where(
                    NudgeDispatch.claimed_by == self.name,
                    NudgeDispatch.status == DispatchStatus.CLAIMED.value,
                )
                .order_by(NudgeDispatch.due_at, NudgeDispatch.id)
            ).all()
        return [Claimed(id_, user_id, chat_id) for id_, user_id, chat_id in rows if id_ not in taken]

    def _release(self, ids: list[int]) -> None:
        if not ids:
            return
        with self._db.session() as session:
            session.execute(
                update(NudgeDispatch)
                .where(
                    NudgeDispatch.id.in_(ids),
                    NudgeDispatch.claimed_by == self.name,
                    NudgeDispatch.status == DispatchStatus.CLAIMED.value,
                )
                .values(status=DispatchStatus.DUE.value, claimed_by=None, claimed_at=None)
            )

    def _mark(
        self, nudge_id: int, status: DispatchStatus, from_status: DispatchStatus, **values: object
    ) -> bool:
        """Move one of this dispatcher's nudges on; False if it is no longer ours in that state."""
        with self._db.engine.begin() as connection:
            result = connection.execute(
                _MOVE.values(status=status.value, **values),
                {"nudge_id": nudge_id, "owner": self.name, "from_status": from_status.value},
            )
            return result.rowcount == 1

    # --- sending ------------------------------------------------------------------------

    async def _deliver(self, nudge: Claimed, keep_going: Callable[[], bool], stats: Stats) -> bool | None:
        """Send one claimed nudge: True sent, False given up (failed), None released (unsent)."""
        delay = 1.0
        for _ in range(self.config.send_attempts):
            if not keep_going():
                return None
            await self._limits.chat(nudge.chat_id).acquire()
            try:
                async with self._in_flight:  # first: the pace counts requests actually going out
                    await self._limits.turn()
                    if not keep_going():
                        return None
                    if not self._to_sending(nudge.id):
                        return False  # released as stale meanwhile: someone else sends it
                    await self._bot.send_message(
                        chat_id=nudge.chat_id, text=self._reply.text, reply_markup=self._keyboard
                    )
            except RetryAfter as exc:  # Telegram's flood control: everyone waits, then this again
                stats.retry_after += 1
                self._limits.pause(_seconds(exc.retry_after))
                self._mark(nudge.id, DispatchStatus.CLAIMED, DispatchStatus.SENDING)
                continue
            except (BadRequest, Forbidden) as exc:  # e.g. the worker blocked the bot
                self._give_up(nudge, str(exc)[:64], stats)
                return False
            except TimedOut:  # it may have arrived: never risk sending it twice
                self._give_up(nudge, "uncertain", stats)
                return False
            except NetworkError as exc:  # not sent: try again after a while
                log.info("Nudge %s not sent (%s); retrying in %.0f s", nudge.id, exc, delay)
                self._mark(nudge.id, DispatchStatus.CLAIMED, DispatchStatus.SENDING)
                await asyncio.sleep(delay)
                delay *= 2
                continue
            except TelegramError as exc:
                self._give_up(nudge, str(exc)[:64], stats)
                return False
            self._record_sent(nudge)
            stats.sent += 1
            return True
        stats.released += 1
        return None

    def _give_up(self, nudge: Claimed, note: str, stats: Stats) -> None:
        log.warning("Nudge %s for user %s not sent: %s", nudge.id, nudge.user_id, note)
        self._mark(nudge.id, DispatchStatus.FAILED, DispatchStatus.SENDING, note=note)
        stats.failed += 1

    def _to_sending(self, nudge_id: int) -> bool:
        """Claimed -> sending, just before the Bot API call (one short transaction)."""
        with self._db.engine.begin() as connection:
            result = connection.execute(
                _TO_SENDING,
                {"nudge_id": nudge_id, "owner": self.name, "from_status": DispatchStatus.CLAIMED.value}
                | {"at": self._clock()},
            )
            return result.rowcount == 1

    def _record_sent(self, nudge: Claimed) -> None:
        """Sending -> sent, and the nudge in the worker's transcript like any other message."""
        at = self._clock()
        with self._db.engine.begin() as connection:
            connection.execute(_TO_SENT, {"nudge_id": nudge.id, "at": at})
            connection.execute(
                _TRANSCRIBE,
                {
                    "user_id": nudge.user_id,
                    "direction": Direction.OUT.value,
                    "kind": "nudge",
                    "status": Status.SENT.value,
                    "text": self._reply.text,
                    "buttons": [[b.title, b.payload] for b in self._reply.buttons],
                    "flow": "nudge",
                    "notified": False,
                    "created_at": at,
                    "done_at": at,
                },
            )

    # --- running ------------------------------------------------------------------------

    async def run_forever(self, stop: asyncio.Event) -> None:
        """Rounds every `interval` seconds until `stop` is set (then unsent claims are released)."""
        while not stop.is_set():
            await self.run_once(keep_going=lambda: not stop.is_set())
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=self.config.interval)


BOT_DATA_KEY = "nudge_dispatcher"


def make_bot(token: str, api_base_url: str | None = None, config: DispatchConfig | None = None) -> Bot:
    """A Bot for a dispatcher of its own, with a connection for each request in flight."""
    url = (api_base_url or "https://api.telegram.org").rstrip("/")
    size = (config or DispatchConfig()).concurrency
    request = HTTPXRequest(connection_pool_size=size, pool_timeout=30.0)
    return Bot(token, base_url=f"{url}/bot", base_file_url=f"{url}/file/bot", request=request)


def install(application: Application, db: Database, config: DispatchConfig | None = None) -> NudgeDispatcher:
    """Run the dispatcher in the Telegram process: a round every `interval` seconds.

    Each round runs as an application task, so `Application.stop()` waits for it (and the
    round stops sending, releasing what it claimed, as soon as the application stops).
    """
    dispatcher = NudgeDispatcher(db, application.bot, config or DispatchConfig.from_env())
    application.bot_data[BOT_DATA_KEY] = dispatcher

    async def start_round(context: ContextTypes.DEFAULT_TYPE) -> None:
        if dispatcher.busy:
            return
        app = context.application
        app.create_task(dispatcher.run_once(keep_going=lambda: app.running), name="nudge dispatch")

    assert application.job_queue is not None, "python-telegram-bot[job-queue] is required"
    application.job_queue.run_repeating(
        start_round,
        interval=dispatcher.config.interval,
        first=min(1.0, dispatcher.config.interval),
        name="nudges",
    )
    return dispatcher


async def _standalone() -> None:
    """`python -m bot.nudge_dispatch`: the dispatcher without the rest of the bot."""
    import signal

    from bot.settings import Settings

    settings = Settings.from_env()
    if not settings.telegram_token:
        raise SystemExit("TELEGRAM_BOT_TOKEN is not set")
    db = Database(settings.database_url)
    db.migrate()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    config = DispatchConfig.from_env()
    async with make_bot(settings.telegram_token, settings.telegram_api_base_url, config) as bot:
        dispatcher = NudgeDispatcher(db, bot, config)
        log.info("Nudge dispatcher %s running", dispatcher.name)
        await dispatcher.run_forever(stop)
    db.dispose()


if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    asyncio.run(_standalone())
