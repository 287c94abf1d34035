"""The one path every message takes, whatever the channel (Telegram or the local chat).

`receive`  access check, scrubbing, storing — before the channel acknowledges the message;
`drain`    answering the user's stored messages in order (by Rasa or by the bot itself) and
           delivering the answers through the channel's `Outlet`;
`recover`  the retry job: messages left from a crash, pending while Rasa was away, unsent.

Rasa away (down, or slower than `patience`): the worker hears so at once, the message stays
pending and is answered when Rasa is back — or, after `pending_max_age`, the worker is told it
was not processed. Nothing is dropped silently.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
from collections import OrderedDict
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, Protocol

from sqlalchemy import update
from sqlalchemy.orm import Session

from bot import access, crypto, nudges, retention, texts, transcript
from bot.dashboard import commands as supervision
from bot.db import Database
from bot.flows import flow_of
from bot.inbound import COMMANDS, Inbound, Kind, Local, local_button
from bot.leases import Leases
from bot.models import Message, Status, User
from bot.rasa_client import RasaClient, RasaUnavailable, RasaUnreachable
from bot.rasa_tracker import RasaTrackerStore
from bot.replies import MENU_BUTTON, Button, Reply, crisis_reply
from bot.settings import Settings, dashboard_base_url
from coach import crisis, input_check
from coach.reflection import chart_case
from coach.reflection_text import no_reflections
from coach.scrubber import scrub

log = logging.getLogger(__name__)

KNOWN_NAMES_PER_USER = 50
KNOWN_NAMES_USERS = 10_000
# A message still "received" this long after it came in was taken over from an interrupted
# process (a crash, or another replica that died): ask Rasa's tracker before asking Rasa.
TAKEOVER_AGE = timedelta(seconds=5)


class DeliveryFailed(Exception):
    """The channel could not deliver a message; `permanent` if retrying can't help."""

    def __init__(self, reason: str, permanent: bool = False) -> None:
        super().__init__(reason)
        self.permanent = permanent


class Outlet(Protocol):
    """How a channel shows answers to a user. Raises DeliveryFailed."""

    async def send(self, user: User, reply: Reply) -> None: ...

    async def send_export(self, user: User, data: dict[str, Any]) -> None: ...


@dataclass(frozen=True)
class Ticket:
    """What `receive` decided about one incoming message."""

    user: User | None = None  # the registered sender; None for a stranger
    notice: str | None = None  # for a stranger: what to tell them (nothing is stored)


def for_rasa(message: Message) -> bool:
    return message.payload is None or message.payload.startswith("/")


class Conversation:
    def __init__(
        self,
        db: Database,
        rasa: RasaClient,
        pseudonyms: access.Pseudonyms,
        channel: str,
        *,
        patience: float = 10.0,
        pending_max_age: timedelta = timedelta(hours=1),
        tracker_store: RasaTrackerStore | None = None,
        dashboard_url: str = "http://127.0.0.1:8088",
        retention_days: int = texts.DEFAULT_RETENTION_DAYS,
        leases: Leases | None = None,
    ) -> None:
        self._db = db
        self.retention_days = retention_days
        self._rasa = rasa
        self._pseudonyms = pseudonyms
        self._channel = channel
        self._patience = patience
        self._pending_max_age = pending_max_age
        self._tracker_store = tracker_store
        self._dashboard_url = dashboard_url  # where sign-in links to the dashboard point
        # One lease per user, across processes: their messages are answered one at a time, in order.
        self._leases = leases or Leases(db)
        self._started = transcript.now()  # received before this: a crash interrupted it
        # Names a worker used, to recognise them again; kept in memory only, never stored.
        self._names: OrderedDict[int, list[str]] = OrderedDict()

    @property
    def db(self) -> Database:
        return self._db

    # --- receiving ------------------------------------------------------------------------

    def receive(
        self,
        user_key: str,
        inbound: Inbound,
        *,
        chat_id: int | None = None,
        update_id: int | None = None,
        register_local: bool = False,
    ) -> Ticket:
        """Check access and store the message (scrubbed). Synchronous: runs before the ack."""
        pseudonym = self._pseudonyms.of(self._channel, user_key)
        with self._db.session() as session:
            if register_local:
                user = access.local_user(session, pseudonym)
            else:
                user = access.find_user(session, pseudonym)
            if inbound.start_code:
                if user is None:
                    user = access.redeem(
                        session,
                        inbound.start_code,
                        pseudonym=pseudonym,
                        channel=self._channel,
                        chat_id=chat_id,
                    )
                    if user is None:
                        access.count_stranger(session, pseudonym)
                        return Ticket(notice=texts.CODE_NOT_VALID)
                    welcome = texts.welcome(user.role, user.team.name)
                else:
                    welcome = texts.ALREADY_REGISTERED
                transcript.queue(session, user.id, [Reply(welcome)], flow="access")
            if user is None:
                seen = access.count_stranger(session, pseudonym)
                asked = inbound.kind is Kind.COMMAND and inbound.text == "/start"
                return Ticket(notice=texts.NOT_INVITED if seen == 1 or asked else None)
            if chat_id is not None and user.chat_id != chat_id:
                user.chat_id = chat_id
            if inbound.kind is Kind.TEXT and inbound.text:  # NUL and the like: see input_check
                inbound = dataclasses.replace(inbound, text=input_check.without_controls(inbound.text))
            text = self._scrubbed(user.id, inbound.text) if inbound.kind is Kind.TEXT else inbound.text
            if inbound.kind is Kind.TEXT and supervision.awaiting_reply(session, user.id):
                inbound = Inbound(inbound.kind, inbound.text, Local.FEEDBACK_REPLY)  # a reply to feedback
            message = transcript.receive(session, user, inbound, text, update_id)
            if message is not None and text != inbound.text:
                self._tell_details_removed(session, user, message)
            return Ticket(user=user)

    def _tell_details_removed(self, session: Session, user: User, message: Message) -> None:
        """The first time scrubbing changed a worker's message: tell them once, kindly, why."""
        first = session.execute(
            update(User)
            .where(User.id == user.id, User.details_notice_at.is_(None))
            .values(details_notice_at=transcript.now())
        )
        if first.rowcount:  # atomic: two messages at once still give one notice
            notice = [Reply(texts.DETAILS_REMOVED)]
            transcript.queue(session, user.id, notice, reply_to=message, flow="privacy")

    def _scrubbed(self, user_id: int, text: str | None) -> str | None:
        if not text:
            return text
        names = self._names.pop(user_id, [])
        result = scrub(text, known_names=names)
        names = [*names, *(n for n in result.names if n not in names)][-KNOWN_NAMES_PER_USER:]
        self._names[user_id] = names
        if len(self._names) > KNOWN_NAMES_USERS:
            self._names.popitem(last=False)
        return result.text

    # --- answering ------------------------------------------------------------------------

    async def drain(self, user: User, outlet: Outlet, rasa_away: bool = False) -> None:
        """Answer all of the user's unanswered messages, oldest first, and deliver the answers.

        Only the holder of the user's lease answers. Another process's message that arrived
        while we held it (its own attempt found the lease taken) is picked up by the look
        after letting go; a holder that died is taken over by the retry job.
        """
        while True:
            async with self._leases.hold(user.id) as held:
                if not held:
                    return  # another process is answering this user, and will see this message
                last_id = await self._drain_held(user, outlet, rasa_away)
            if last_id is None:
                return
            with self._db.session() as session:
                if transcript.next_unanswered(session, user.id, last_id) is None:
                    return

    async def _drain_held(self, user: User, outlet: Outlet, rasa_away: bool) -> int | None:
        """The answering itself; the id of the last message looked at, None if it stopped early."""
        if not await self._flush(user, outlet):
            return None
        last_id, waiting = 0, []
        while True:
            with self._db.session() as session:
                message = transcript.next_unanswered(session, user.id, last_id)
            if message is None:
                break
            last_id = message.id
            if not for_rasa(message):
                if not await self._answer_locally(user, message, outlet):
                    return None  # the user is erased
            elif rasa_away or not await self._answer_with_rasa(user, message, outlet):
                rasa_away = True
                waiting.append(message)
        await self._wait_for_rasa(user, waiting, outlet)
        return None if waiting else last_id

    async def _wait_for_rasa(self, user: User, waiting: list[Message], outlet: Outlet) -> None:
        """Mark messages pending; tell the worker once about those they haven't heard of."""
        if not waiting:
            return
        unheard = [m for m in waiting if not m.notified]
        with self._db.session() as session:
            for message in waiting:
                transcript.set_status(session, message.id, Status.PENDING, notified=True)
            if unheard:
                transcript.queue(session, user.id, [Reply(texts.UNAVAILABLE)], reply_to=unheard[-1])
        await self._flush(user, outlet)

    async def _answer_with_rasa(self, user: User, message: Message, outlet: Outlet) -> bool:
        """Send one message to Rasa and deliver its answer; False if Rasa is away."""
        text = message.payload or message.text or ""
        problem = input_check.check(text) if message.payload is None else None
        if problem is not None:
            answer = [Reply(input_check.ANSWERS[problem], (MENU_BUTTON,))]
            await self._answered(user, message, answer, outlet, flow="guard")
            return True
        assessment = crisis.assess(text) if message.payload is None else crisis.Assessment()
        if assessment.kind is not None:  # a fixed answer at once; Rasa's flow stays where it was
            await self._answered(user, message, [crisis_reply(assessment.kind)], outlet, flow="crisis")
            return True

        replies = await self._answer_from_before_a_crash(user, message)
        if replies is None:
            replies = await self._ask_rasa(user, message, text, outlet)
        if replies is None:
            return False
        if not replies:
            if not await self._rasa.is_up():  # e.g. the action server is down
                return False
            log.warning("Rasa answered nothing for message %s", message.id)
            replies = [Reply(texts.EMPTY_RASA_ANSWER, (MENU_BUTTON,))]
        if assessment.possible:  # maybe a crisis: the help numbers first, then the answer
            replies = [safety_reply(assessment.likely), *replies]
        if message.notified:
            replies = [Reply(texts.late_answer(texts.quote(message.text))), *replies]
        await self._answered(user, message, replies, outlet)
        await self._label(user, message)
        return True

    async def _answer_from_before_a_crash(self, user: User, message: Message) -> list[Reply] | None:
        """For a message a crash interrupted: Rasa's answer if it got that far (don't ask twice)."""
        if message.status != Status.RECEIVED:
            return None
        if message.created_at >= self._started and message.created_at > transcript.now() - TAKEOVER_AGE:
            return None  # came in to this process just now: no one has asked Rasa yet
        return await self._rasa.replies_to(user.pseudonym, str(message.id))

    async def _ask_rasa(self, user: User, message: Message, text: str, outlet: Outlet) -> list[Reply] | None:
        """Rasa's replies; None if it is away. Slower than `patience`: the worker hears so meanwhile."""
        ref = str(message.id)
        request = asyncio.ensure_future(self._rasa_answer(user.pseudonym, text, ref))
        done, _ = await asyncio.wait({request}, timeout=self._patience)
        if not done and not message.notified:
            with self._db.session() as session:
                transcript.set_status(session, message.id, Status.PENDING, notified=True)
                transcript.queue(session, user.id, [Reply(texts.UNAVAILABLE)], reply_to=message)
            message.notified = True
            await self._flush(user, outlet)
        return await request

    async def _rasa_answer(self, sender: str, text: str, ref: str) -> list[Reply] | None:
        """Rasa's replies; None if it is away. A request that failed before Rasa stored the
        message (a replica that died mid-request) is sent once more: the load balancer hands it
        to another replica. One that Rasa did process is answered from the tracker."""
        for attempt in range(2):
            try:
                return await self._rasa.send(sender, text, ref)
            except RasaUnreachable:
                continue
            except RasaUnavailable:
                try:
                    replies = await self._rasa.replies_to(sender, ref, strict=True)
                except RasaUnavailable:
                    return None  # the tracker can't tell: sending again might answer twice
                if replies is not None or attempt:
                    return replies
        return None

    async def _label(self, user: User, message: Message) -> None:
        """Intent, confidence and flow of the turn, from Rasa's tracker (after the user has the answer).

        Read from the tracker store's table when the bot can reach it (one query), else from a
        Rasa server's HTTP API (which rebuilds the whole tracker to answer)."""
        turn = self._tracker_store.turn(user.pseudonym) if self._tracker_store is not None else None
        if turn is None or turn.message_ref != str(message.id):
            turn = await self._rasa.turn(user.pseudonym)
        if turn is None or turn.message_ref != str(message.id):
            return
        with self._db.session() as session:
            transcript.label_turn(session, message.id, turn.intent, turn.confidence, flow_of(turn))
            supervision.tag_turn(session, message.id, turn.slots, turn.intent)  # case, strategy, step

    async def _answered(
        self, user: User, message: Message, replies: list[Reply], outlet: Outlet, flow: str | None = None
    ) -> None:
        with self._db.session() as session:
            transcript.queue(session, user.id, replies, reply_to=message, flow=flow)
            transcript.finish(session, message.id, Status.ANSWERED, flow=flow)
        await self._flush(user, outlet)

    async def _answer_locally(self, user: User, message: Message, outlet: Outlet) -> bool:
        """The bot's own answers (privacy, export, delete, ...); False once the user is erased."""
        action = message.payload
        if action == Local.DELETE_YES:
            self.erase(user)
            try:  # the confirmation can't be stored: there is no one left to store it for
                await outlet.send(user, Reply(texts.DELETED))
            except DeliveryFailed as exc:
                log.warning("Could not confirm the deletion: %s", exc)
            return False
        if nudges.is_action(action):  # a nudge's buttons and /nudges (bot/nudges.py)
            replies, flow = await nudges.answer(str(action), user, self._db, self._rasa)
            await self._answered(user, message, replies, outlet, flow=flow)
            return True
        head, _, choice = (action or "").partition(":")
        if head == Local.CRISIS:  # the help line's button; unknown data gets every line
            answer = [crisis_reply(crisis.kind_named(choice))]
            await self._answered(user, message, answer, outlet, flow="crisis")
            return True
        if action == Local.EXPORT:
            with self._db.session() as session:
                transcript.finish(session, message.id, Status.ANSWERED, flow="privacy")
                message.flow = "privacy"
                transcript.queue_export(session, user.id, message)
            await self._flush(user, outlet)
            return True
        answer = local_answer(action, self.retention_days)
        flow = LOCAL_FLOWS.get(action)
        if supervision.handles(action):  # sharing, dashboard, team, feedback; /privacy gets more
            with self._db.session() as session:
                answer = supervision.answer(session, user.id, action or "", message.text, answer)
            flow = supervision.flow_of(action or "")
        await self._answered(user, message, answer, outlet, flow=flow)
        return True

    def erase(self, user: User) -> None:
        """Delete the user from the application database and from Rasa's tracker store."""
        with self._db.session() as session:
            stored = session.get(User, user.id)
            if stored is not None:
                retention.erase_user_rows(session, stored)  # every table referring to the user
                transcript.erase(session, stored)
        self._names.pop(user.id, None)
        if self._tracker_store is not None:
            self._tracker_store.forget(user.pseudonym)

    async def _flush(self, user: User, outlet: Outlet) -> bool:
        """Send the user's queued answers in order; False if the channel failed (retried later)."""
        with self._db.session() as session:
            queued = transcript.outbox(session, user.id)
        for message in queued:
            try:
                if message.kind == transcript.EXPORT:
                    with self._db.session() as session:
                        data = transcript.export(session, session.get(User, user.id) or user)
                    await outlet.send_export(user, data)
                elif message.kind == supervision.LINK_KIND:  # a fresh one-time link, made now
                    with self._db.session() as session:
                        link = supervision.link_reply(session, message, self._dashboard_url)
                    await outlet.send(user, link)
                else:
                    await outlet.send(user, await self._with_chart(user, transcript.as_reply(message)))
            except DeliveryFailed as exc:
                log.warning("Could not deliver message %s: %s", message.id, exc)
                if not exc.permanent:
                    return False
                with self._db.session() as session:
                    transcript.finish(session, message.id, Status.FAILED)
                continue
            with self._db.session() as session:
                transcript.finish(session, message.id, Status.SENT)
        return True

    def purge_old(self) -> retention.Purged:
        """The retention job: delete transcripts, cases and Rasa events past the retention period."""
        purged = retention.purge(self._db, self._tracker_store, self.retention_days)
        log.info("Retention (%d days): %s", self.retention_days, purged)
        return purged

    async def _with_chart(self, user: User, reply: Reply) -> Reply:
        """A chart reference from Rasa ("chart:<case id>") becomes the picture, drawn now."""
        case_id = chart_case(reply.image)
        if case_id is None:
            return reply
        from bot import chart  # matplotlib loads on the first chart, not at start

        try:
            png = await asyncio.to_thread(chart.for_case, self._db, user.pseudonym, case_id)
        except Exception:  # a chart that can't be drawn must not hold up the answers after it
            log.exception("Could not draw the chart of case %s", case_id)
            png = None
        if png is None:  # not the worker's case, no reflections (any more), or it failed
            return Reply(no_reflections(), reply.buttons)
        return Reply(reply.text, reply.buttons, photo=png)

    # --- the retry job ----------------------------------------------------------------------

    async def recover(self, outlet: Outlet, grace: timedelta = timedelta(seconds=10)) -> None:
        """Answer what is left: crashed-over, pending and unsent messages older than `grace`."""
        now = transcript.now()
        with self._db.session() as session:
            told: set[int] = set()  # users with a fresh "not processed" notice: send it now
            for message in transcript.expired(session, now - self._pending_max_age):
                transcript.finish(session, message.id, Status.FAILED)
                notice = Reply(texts.not_processed(texts.quote(message.text)), (MENU_BUTTON,))
                transcript.queue(session, message.user_id, [notice], reply_to=message)
                told.add(message.user_id)
            users = transcript.users_with_work(session, now - grace, including=told)
        if not users:
            return
        rasa_up = await self._rasa.is_up()
        for user in users:
            if self._leases.busy(user.id):  # being answered right now by this process
                continue
            try:
                await self.drain(user, outlet, rasa_away=not rasa_up)
            except Exception:
                log.exception("Retrying the messages of user %s failed", user.id)


def open_conversation(settings: Settings, channel: str) -> tuple[Conversation, RasaClient, Database]:
    """The conversation with its database (migrated) and Rasa client, from the settings."""
    crypto.configure_from(settings)  # the data keys, for this process
    db = Database(settings.database_url)
    db.migrate()
    crypto.verify(db.engine)  # keys that can't read the stored data: stop here, write nothing
    rasa = RasaClient(
        settings.rasa_url,
        timeout=settings.rasa_max_wait,
        auth_token=settings.rasa_auth_token,
        action_server_url=settings.action_server_url,
    )
    conversation = Conversation(
        db,
        rasa,
        access.Pseudonyms(settings.pseudonym_secret),
        channel,
        patience=settings.rasa_timeout,
        pending_max_age=settings.pending_max_age,
        tracker_store=RasaTrackerStore(settings.rasa_tracker_db_url)
        if settings.rasa_tracker_db_url
        else None,
        dashboard_url=dashboard_base_url(settings),
        retention_days=settings.retention_days,
    )
    scrub("Hallo")  # load the scrubber's language data now (about 2 s), not on the first message
    crisis.detect("Hallo")  # and the crisis classifier (trained once, then loaded from its cache)
    return conversation, rasa, db


# --- the bot's own answers ------------------------------------------------------------------

LOCAL_FLOWS = {
    Local.PRIVACY: "privacy",
    Local.DELETE_ASK: "privacy",
    Local.DELETE_NO: "privacy",
}


def safety_reply(likely: crisis.CrisisKind | None) -> Reply:
    """The help numbers in one line, with a button to the full answer for the likely kind."""
    payload = f"{local_button(Local.CRISIS)}:{likely.value if likely else 'general'}"
    return Reply(crisis.safety_line(), (Button(crisis.safety_button(), payload),))


def local_answer(action: str | None, retention_days: int = texts.DEFAULT_RETENTION_DAYS) -> list[Reply]:
    """What the bot itself answers to a command, a button of its own, or an unusable message."""
    if action == Local.PRIVACY:
        return [Reply(texts.privacy(retention_days), (MENU_BUTTON,))]
    if action == Local.DELETE_ASK:
        buttons = (
            Button(texts.DELETE_YES, local_button(Local.DELETE_YES)),
            Button(texts.DELETE_NO, local_button(Local.DELETE_NO)),
        )
        return [Reply(texts.DELETE_QUESTION, buttons)]
    if action == Local.DELETE_NO:
        return [Reply(texts.NOT_DELETED, (MENU_BUTTON,))]
    if action == Local.UNKNOWN_COMMAND:
        return [Reply(texts.unknown_command({name: c.description for name, c in COMMANDS.items()}))]
    if action == Local.STALE_BUTTON:
        return [Reply(texts.STALE_BUTTON, (MENU_BUTTON,))]
    if action == Local.EDITED:
        return [Reply(texts.EDITED)]
    return [Reply(texts.ONLY_TEXT)]
