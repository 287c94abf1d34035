"""Reflection nudges in the database: default schedules, due records, and the worker's choices.

The arithmetic lives in `coach.nudge_schedule`; this module keeps it in the application
database so nothing depends on a running process:

- `ensure_defaults` gives every worker with an open case the default schedule (weekly,
  Friday 15:00 Europe/Amsterdam) once;
- `materialize` turns each schedule that fell due into a dispatch record — one per (user,
  due moment), guarded by a unique key and a compare-and-set on `next_due_at`, so two
  dispatchers never record a nudge twice — and moves the schedule to its next due moment.
  A nudge more than `LATE_LIMIT` late (the bot was down) is recorded as skipped;
- `answer` handles the nudge's buttons and /nudges: start the reflection in Rasa, snooze,
  stop, and change day, time, rhythm or pause.
"""

from __future__ import annotations

import calendar
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from typing import Any

from sqlalchemy import exists, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session
from sqlalchemy.sql.selectable import Exists

from bot import texts
from bot.db import Database
from bot.inbound import LOCAL_BUTTON_PREFIX
from bot.models import Case, DispatchStatus, NudgeDispatch, NudgeSchedule, Role, User
from bot.rasa_client import RasaClient, RasaUnavailable
from bot.replies import MENU_BUTTON, Button, Reply
from coach.nudge_schedule import (
    QuietHours,
    Rhythm,
    Schedule,
    Snooze,
    first_occurrence,
    is_late,
    next_due,
    snooze_until,
)

log = logging.getLogger(__name__)

LATE_LIMIT = timedelta(hours=12)  # a nudge later than this (the bot was down) is skipped
REFLECTION_INTENT = "start_reflection"  # defined in Rasa's domain (issue 6, part B)
TIMES = (time(9, 0), time(11, 0), time(13, 0), time(15, 0), time(17, 0))  # choices in /nudges
WORKDAYS = range(5)
MAX_CATCH_UP = 400  # occurrences passed while down that one schedule walks through at most


def now() -> datetime:
    """The clock every nudge decision reads (tests replace it)."""
    return datetime.now(UTC)


def action(verb: str, argument: str | None = None) -> str:
    """A nudge action name, e.g. "nudge:day:4"; as a button payload it gets the "bot:" prefix."""
    return f"nudge:{verb}" if argument is None else f"nudge:{verb}:{argument}"


def button(title: str, verb: str, argument: str | None = None) -> Button:
    return Button(title, LOCAL_BUTTON_PREFIX + action(verb, argument))


def is_action(name: str | None) -> bool:
    return bool(name) and str(name).startswith("nudge:")


# --- schedules ---------------------------------------------------------------------------------


def schedule_of(row: NudgeSchedule) -> Schedule:
    return Schedule(
        rhythm=Rhythm(row.rhythm),
        weekday=row.weekday,
        at=row.local_time,
        tz=row.tz,
        quiet=QuietHours(row.quiet_start, row.quiet_end, row.quiet_weekends),
        paused_until=row.paused_until,
        stopped=row.stopped,
        anchor=row.anchor,
    )


def new_schedule(user_id: int, at: datetime) -> NudgeSchedule:
    """The default schedule (weekly, Friday 15:00, Amsterdam), due at its next occurrence."""
    default = Schedule()
    return NudgeSchedule(
        user_id=user_id,
        rhythm=default.rhythm.value,
        weekday=default.weekday,
        local_time=default.at,
        tz=default.tz,
        quiet_start=default.quiet.start,
        quiet_end=default.quiet.end,
        quiet_weekends=default.quiet.weekends,
        stopped=False,
        next_due_at=next_due(default, at),
    )


def _insert_ignoring_duplicates(session: Session, table: Any, rows: Sequence[dict[str, Any]]) -> int:
    """INSERT ... ON CONFLICT DO NOTHING (SQLite and PostgreSQL); the number inserted."""
    if not rows:
        return 0
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    result = session.execute(insert(table).on_conflict_do_nothing(), list(rows))
    return max(result.rowcount or 0, 0)


def _has_open_case() -> Exists:
    """Whether the user (of the enclosing query) has an open case."""
    return exists().where(Case.owner == User.pseudonym, Case.status == "open")


def ensure_defaults(session: Session, at: datetime) -> int:
    """Give each worker with an open case and no schedule yet the default one; how many got one."""
    users = session.scalars(
        select(User.id).where(
            User.role == Role.WORKER.value,
            _has_open_case(),
            ~exists().where(NudgeSchedule.user_id == User.id),
        )
    ).all()
    if not users:
        return 0
    rows = []
    for user_id in users:
        row = new_schedule(user_id, at)
        values = {c.key: getattr(row, c.key) for c in NudgeSchedule.__table__.columns if c.key != "id"}
        rows.append(values | {"anchor": None, "paused_until": None, "created_at": at, "updated_at": at})
    return _insert_ignoring_duplicates(session, NudgeSchedule.__table__, rows)


@dataclass(frozen=True)
class Materialized:
    schedules: int  # schedules that fell due and moved on
    due: int  # nudges recorded as due (to be sent)
    limit: int  # at most this many schedules were looked at: more may be waiting


def materialize(
    session: Session, at: datetime, limit: int = 200, late_limit: timedelta = LATE_LIMIT
) -> Materialized:
    """Record the nudges of schedules that fell due and move those schedules on; how many are due.

    Only the latest occurrence of a schedule can be sent: earlier ones passed while the bot
    was down are recorded as skipped, and so is the latest when it is `late_limit` late.
    Workers without an open case (or without a chat to send to) get no nudge; their
    schedule simply moves on.
    """
    due_rows = session.execute(
        select(NudgeSchedule, _has_open_case().label("has_case"), User.chat_id)
        .join(User, User.id == NudgeSchedule.user_id)
        .where(NudgeSchedule.stopped.is_(False), NudgeSchedule.next_due_at <= at)
        .order_by(NudgeSchedule.next_due_at)
        .limit(limit)
    ).all()
    records: list[dict[str, Any]] = []
    for row, has_case, chat_id in due_rows:
        schedule, first = schedule_of(row), row.next_due_at
        assert first is not None
        moments = [first]
        following = next_due(schedule, first)
        while following is not None and following <= at and len(moments) < MAX_CATCH_UP:
            moments.append(following)
            following = next_due(schedule, following)
        moved = session.execute(  # compare-and-set: another dispatcher may have moved it already
            update(NudgeSchedule)
            .where(NudgeSchedule.id == row.id, NudgeSchedule.next_due_at == first)
            .values(next_due_at=following, updated_at=at)
            .execution_options(synchronize_session=False)
        )
        if moved.rowcount != 1 or not has_case or chat_id is None:
            continue
        for index, moment in enumerate(moments):
            latest = index == len(moments) - 1
            late = is_late(moment, at, late_limit)
            status = DispatchStatus.DUE if latest and not late else DispatchStatus.SKIPPED
            note = None if status is DispatchStatus.DUE else ("late" if late else "superseded")
            records.append(
                {
                    "user_id": row.user_id,
                    "due_at": moment,
                    "status": status.value,
                    "attempts": 0,
                    "note": note,
                    "created_at": at,
                }
            )
    _insert_ignoring_duplicates(session, NudgeDispatch.__table__, records)
    due = sum(1 for r in records if r["status"] == DispatchStatus.DUE.value)
    return Materialized(len(due_rows), due, limit)


# --- the worker's choices ---------------------------------------------------------------------


def _schedule_row(session: Session, user_id: int, at: datetime, store: bool = True) -> NudgeSchedule:
    """The worker's schedule; the default one if none is stored yet (stored only if `store`:
    looking at /nudges doesn't give a worker without an open case a schedule)."""
    row = session.scalar(select(NudgeSchedule).where(NudgeSchedule.user_id == user_id))
    if row is None:
        row = new_schedule(user_id, at)
        if store:
            session.add(row)
    return row


def _has_cases(session: Session, user: User) -> bool:
    return bool(session.scalar(select(exists().where(Case.owner == user.pseudonym, Case.status == "open"))))


def _clock(moment: time) -> str:
    return moment.strftime("%H:%M")


def _in_words(moment: datetime, tz: str) -> str:
    local = moment.astimezone(Schedule(tz=tz).zone)
    return texts.nudge_moment(local.weekday(), local.day, local.month, _clock(local.time()))


def describe(row: NudgeSchedule, at: datetime) -> str:
    """The schedule in one line, as /nudges shows it."""
    state = None
    if row.stopped:
        state = texts.NUDGE_STATE_STOPPED
    elif row.paused_until is not None and row.paused_until > at:
        state = texts.nudge_paused_until(_in_words(row.paused_until, row.tz).rsplit(" om ", 1)[0])
    quiet = texts.nudge_quiet(_clock(row.quiet_start), _clock(row.quiet_end), row.quiet_weekends)
    rhythm = texts.nudge_rhythm(row.rhythm, row.weekday, _clock(row.local_time))
    return texts.nudge_setting(rhythm, state, quiet)


def settings_reply(session: Session, user: User, at: datetime, lead: str | None = None) -> Reply:
    row = _schedule_row(session, user.id, at, store=False)
    line = describe(row, at)
    if not row.stopped and not _has_cases(session, user):
        line += " " + texts.NUDGE_NO_CASES
    buttons = [
        button(texts.NUDGE_BUTTON_DAY, "day"),
        button(texts.NUDGE_BUTTON_TIME, "time"),
        button(texts.NUDGE_BUTTON_RHYTHM, "rhythm"),
    ]
    paused = row.paused_until is not None and row.paused_until > at
    if not row.stopped:
        buttons.append(button(texts.NUDGE_BUTTON_PAUSE, "pause"))
        buttons.append(button(texts.NUDGE_BUTTON_STOP, "stop"))
    if row.stopped or paused:
        buttons.append(button(texts.NUDGE_BUTTON_RESTART, "restart"))
    return Reply(f"{lead} {line}" if lead else line, tuple(buttons))


def _add_month(moment: datetime) -> datetime:
    year, month = (moment.year + 1, 1) if moment.month == 12 else (moment.year, moment.month + 1)
    day = min(moment.day, calendar.monthrange(year, month)[1])
    return moment.replace(year=year, month=month, day=day)


PAUSES = {
    "1w": lambda at: at + timedelta(weeks=1),
    "2w": lambda at: at + timedelta(weeks=2),
    "1m": _add_month,
}


def _rearm(row: NudgeSchedule, at: datetime) -> None:
    """After a change: a fresh anchor for every two weeks, and the next due moment."""
    if row.rhythm == Rhythm.BIWEEKLY.value:
        row.anchor = first_occurrence(schedule_of(row), at)
    row.next_due_at = next_due(schedule_of(row), at)


def _choice(session: Session, user: User, verb: str, argument: str | None, at: datetime) -> Reply | None:
    """Apply a /nudges choice; the reply, or None if the choice isn't (or no longer) valid."""
    if verb == "settings":
        return settings_reply(session, user, at)
    menus = {
        "day": (texts.NUDGE_CHOOSE_DAY, [(texts.WEEKDAYS[d].capitalize(), str(d)) for d in WORKDAYS]),
        "time": (texts.NUDGE_CHOOSE_TIME, [(_clock(t), t.strftime("%H%M")) for t in TIMES]),
        "rhythm": (texts.NUDGE_CHOOSE_RHYTHM, list((title, r) for r, title in texts.RHYTHMS.items())),
        "pause": (texts.NUDGE_CHOOSE_PAUSE, list((title, p) for p, title in texts.PAUSES.items())),
    }
    if argument is None and verb in menus:
        question, options = menus[verb]
        return Reply(question, tuple(button(title, verb, value) for title, value in options))
    row = _schedule_row(session, user.id, at)
    if verb == "day" and argument is not None and argument.isdigit() and int(argument) in WORKDAYS:
        row.weekday = int(argument)
    elif verb == "time" and argument in {t.strftime("%H%M") for t in TIMES}:
        row.local_time = time(int(argument[:2]), int(argument[2:]))
    elif verb == "rhythm" and argument in texts.RHYTHMS:
        row.rhythm = argument
    elif verb == "pause" and argument in PAUSES and not row.stopped:
        row.paused_until = PAUSES[argument](at)
    elif verb == "stop" and argument is None:
        row.stopped = True
    elif verb == "restart" and argument is None:
        row.stopped, row.paused_until = False, None
    else:
        return None
    _rearm(row, at)
    return settings_reply(session, user, at, lead=texts.NUDGE_CHANGED)


def _snooze(session: Session, user: User, option: Snooze, at: datetime) -> Reply:
    row = _schedule_row(session, user.id, at)
    if row.stopped:
        return Reply(texts.NUDGE_ALREADY_STOPPED)
    row.next_due_at = snooze_until(schedule_of(row), option, at)
    return Reply(texts.nudge_snoozed(_in_words(row.next_due_at, row.tz)))


def answer_locally(session: Session, user: User, name: str, at: datetime) -> list[Reply]:
    """The bot's answer to a nudge button or a /nudges choice (everything but "now")."""
    _, verb, *rest = name.split(":")
    argument = rest[0] if rest else None
    if verb == "later" and argument is None:
        options = (
            button(texts.NUDGE_IN_AN_HOUR, "snooze", Snooze.HOUR.value),
            button(texts.NUDGE_TOMORROW_MORNING, "snooze", Snooze.MORNING.value),
        )
        return [Reply(texts.NUDGE_WHEN, options)]
    if verb == "snooze" and argument in {s.value for s in Snooze}:
        return [_snooze(session, user, Snooze(argument), at)]
    if verb == "never" and argument is None:
        row = _schedule_row(session, user.id, at)
        row.stopped, row.next_due_at = True, None
        return [Reply(texts.NUDGE_STOPPED)]
    reply = _choice(session, user, verb, argument, at)
    if reply is None:
        return [Reply(texts.STALE_BUTTON, (MENU_BUTTON,))]
    return [reply]


async def answer(name: str, user: User, db: Database, rasa: RasaClient) -> tuple[list[Reply], str]:
    """Answer a nudge action; (replies, flow). "Nu reflecteren" starts the reflection in Rasa."""
    if name == action("now"):
        try:
            replies = await rasa.trigger_intent(user.pseudonym, REFLECTION_INTENT)
        except RasaUnavailable:
            return [Reply(texts.NUDGE_RASA_AWAY, (button(texts.NUDGE_NOW, "now"),))], "nudge"
        return replies or [Reply(texts.EMPTY_RASA_ANSWER, (MENU_BUTTON,))], "reflection"
    with db.session() as session:
        return answer_locally(session, user, name, now()), "nudge"


def nudge_reply() -> Reply:
    """The nudge itself."""
    return Reply(
        texts.NUDGE,
        (
            button(texts.NUDGE_NOW, "now"),
            button(texts.NUDGE_LATER, "later"),
            button(texts.NUDGE_NEVER, "never"),
        ),
    )
