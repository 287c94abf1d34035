"""When a worker is nudged to reflect: schedule arithmetic, pure (no database, no Telegram).

A `Schedule` is a rhythm (every workday, weekly, every two weeks, monthly), a weekday and a
local wall-clock time in a time zone, quiet hours, and an optional pause or stop. `next_due`
gives the next moment (in UTC) strictly after a given one; nothing here reads the clock —
callers pass `now`, so tests control time.

Deliberate choices:
- The wall-clock time stays put across daylight-saving changes (15:00 is 15:00 in winter
  and summer), because each occurrence is built from its local date and time.
- A local time that does not exist (the hour skipped in spring) moves forward by the gap
  (02:30 becomes 03:30); one that exists twice (the hour repeated in autumn) is taken at its
  first occurrence, so it is due once.
- Quiet hours (default 20:00–08:00 and weekends) push an occurrence to the first moment after
  them; they never drop it.
- Every two weeks counts from an anchor date (the first occurrence, chosen when the rhythm is
  set); monthly is the last chosen weekday of each month (a month-end look back).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo

DEFAULT_TZ = "Europe/Amsterdam"
DEFAULT_WEEKDAY = 4  # Friday (Monday = 0)
DEFAULT_TIME = time(15, 0)
MORNING = time(9, 0)  # "tomorrow morning" for a snooze
SEARCH_DAYS = 800  # every rhythm has an occurrence well within this
QUIET_REACH_DAYS = 3  # quiet hours and a weekend push an occurrence at most this far


class Rhythm(StrEnum):
    WORKDAYS = "workdays"  # Monday to Friday
    WEEKLY = "weekly"
    BIWEEKLY = "biweekly"
    MONTHLY = "monthly"  # the last `weekday` of each month


class Snooze(StrEnum):
    HOUR = "hour"
    MORNING = "morning"


@dataclass(frozen=True)
class QuietHours:
    """No nudges from `start` to `end` (local; may wrap midnight) and, if `weekends`, on Sat/Sun."""

    start: time = time(20, 0)
    end: time = time(8, 0)
    weekends: bool = True

    def is_quiet(self, local: datetime) -> bool:
        if self.weekends and local.weekday() >= 5:
            return True
        moment = local.time().replace(tzinfo=None)
        if self.start == self.end:
            return False
        if self.start < self.end:  # e.g. 12:00–13:00, within one day
            return self.start <= moment < self.end
        return moment >= self.start or moment < self.end  # wraps midnight

    def release(self, local: datetime, tz: ZoneInfo) -> datetime:
        """The first moment at or after `local` that is not quiet (local time in `tz`).

        A quiet stretch ends at `end` or, for a weekend, at midnight: try those, in order.
        """
        if not self.is_quiet(local):
            return local
        boundaries = sorted({time(0, 0), self.end})
        for offset in range(9):
            day = local.date() + timedelta(days=offset)
            for moment in boundaries:
                candidate = wall_time(day, moment, tz)
                if candidate > local and not self.is_quiet(candidate):
                    return candidate
        raise ValueError(f"quiet hours leave no time for a nudge: {self}")


@dataclass(frozen=True)
class Schedule:
    rhythm: Rhythm = Rhythm.WEEKLY
    weekday: int = DEFAULT_WEEKDAY
    at: time = DEFAULT_TIME
    tz: str = DEFAULT_TZ
    quiet: QuietHours = field(default_factory=QuietHours)
    paused_until: datetime | None = None
    stopped: bool = False
    anchor: date | None = None  # BIWEEKLY: a local date of an occurrence (others ignore it)

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.tz)


def wall_time(day: date, at: time, tz: ZoneInfo) -> datetime:
    """`day` at local `at` in `tz`, aware: a skipped time moves forward, a repeated one is the first."""
    naive = datetime.combine(day, at.replace(tzinfo=None))
    local = naive.replace(tzinfo=tz, fold=0)
    # fold=0 for a nonexistent time uses the offset from before the gap: converting to UTC
    # and back lands after the gap, shifted forward by its length (02:30 -> 03:30).
    return local.astimezone(UTC).astimezone(tz)


def _utc(moment: datetime) -> datetime:
    if moment.tzinfo is None:
        raise ValueError("naive datetime: pass an aware one (e.g. datetime.now(UTC))")
    return moment.astimezone(UTC)


def _last_weekday_of_month(day: date, weekday: int) -> date:
    first_next = (day.replace(day=28) + timedelta(days=4)).replace(day=1)
    last = first_next - timedelta(days=1)
    return last - timedelta(days=(last.weekday() - weekday) % 7)


def occurs_on(schedule: Schedule, day: date) -> bool:
    """Whether the rhythm has an occurrence on this local date (before quiet hours)."""
    if schedule.rhythm is Rhythm.WORKDAYS:
        return day.weekday() < 5
    if day.weekday() != schedule.weekday:
        return False
    if schedule.rhythm is Rhythm.WEEKLY:
        return True
    if schedule.rhythm is Rhythm.BIWEEKLY:
        anchor = schedule.anchor or day
        return (day - anchor).days % 14 == 0
    return day == _last_weekday_of_month(day, schedule.weekday)


def next_due(schedule: Schedule, after: datetime) -> datetime | None:
    """The first due moment strictly after `after` (UTC), or None when stopped.

    A pause holds every occurrence before `paused_until` back; the first one at or after it
    counts. Quiet hours move an occurrence to the end of the quiet stretch.
    """
    if schedule.stopped:
        return None
    after = _utc(after)
    earliest = after
    if schedule.paused_until is not None:
        earliest = max(after, _utc(schedule.paused_until) - timedelta(microseconds=1))
    tz = schedule.zone
    # Start a few days back: an occurrence on Friday evening may be released on Monday.
    day = earliest.astimezone(tz).date() - timedelta(days=QUIET_REACH_DAYS)
    for _ in range(SEARCH_DAYS):
        if occurs_on(schedule, day):
            occurrence = schedule.quiet.release(wall_time(day, schedule.at, tz), tz)
            if occurrence.astimezone(UTC) > earliest:
                return occurrence.astimezone(UTC)
        day += timedelta(days=1)
    raise AssertionError(f"no occurrence within {SEARCH_DAYS} days: {schedule}")


def first_occurrence(schedule: Schedule, now: datetime) -> date:
    """The local date of the next occurrence on the weekday: the anchor for every two weeks."""
    local = _utc(now).astimezone(schedule.zone)
    day = local.date()
    while day.weekday() != schedule.weekday or wall_time(day, schedule.at, schedule.zone) <= local:
        day += timedelta(days=1)
    return day


def snooze_until(schedule: Schedule, option: Snooze, now: datetime) -> datetime:
    """When a snoozed nudge comes back (UTC): in an hour, or tomorrow morning; never in quiet hours."""
    tz = schedule.zone
    local = _utc(now).astimezone(tz)
    if option is Snooze.HOUR:
        moment = (_utc(now) + timedelta(hours=1)).astimezone(tz)
    else:
        day = local.date() + timedelta(days=1)
        while schedule.quiet.weekends and day.weekday() >= 5:
            day += timedelta(days=1)
        moment = wall_time(day, MORNING, tz)
    return schedule.quiet.release(moment, tz).astimezone(UTC)


def is_late(due: datetime, now: datetime, limit: timedelta) -> bool:
    """A nudge at least `limit` past its due moment is skipped rather than sent late."""
    return _utc(now) - _utc(due) >= limit
