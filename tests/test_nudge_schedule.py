"""Schedule arithmetic for reflection nudges, with the clock passed in (no sleeping)."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

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

AMS = ZoneInfo("Europe/Amsterdam")
NO_QUIET = QuietHours(time(0, 0), time(0, 0), weekends=False)


def local(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=AMS)


def series(schedule: Schedule, after: datetime, count: int) -> list[datetime]:
    """`count` successive due moments, in Amsterdam time."""
    moments = []
    for _ in range(count):
        due = next_due(schedule, after)
        assert due is not None and due.tzinfo is not None and due.utcoffset() == timedelta(0)
        moments.append(due.astimezone(AMS))
        after = due
    return moments


def test_the_default_is_friday_at_three_in_amsterdam() -> None:
    due = next_due(Schedule(), local(2026, 12, 2, 10))  # a Wednesday
    assert due == datetime(2026, 12, 4, 14, 0, tzinfo=UTC)  # 15:00 CET
    # Exactly at the due moment, the next one is a week later (strictly after).
    assert next_due(Schedule(), due) == datetime(2026, 12, 11, 14, 0, tzinfo=UTC)
    assert next_due(Schedule(), local(2026, 12, 4, 15, 1)) == datetime(2026, 12, 11, 14, 0, tzinfo=UTC)


def test_the_local_time_stays_at_three_across_the_spring_change() -> None:
    moments = series(Schedule(), local(2026, 3, 20, 16), 3)  # DST starts Sunday 29 March 2026
    assert [m.date() for m in moments] == [date(2026, 3, 27), date(2026, 4, 3), date(2026, 4, 10)]
    assert all(m.time() == time(15, 0) for m in moments)
    assert [m.astimezone(UTC).hour for m in moments] == [14, 13, 13]  # UTC moves, the wall clock doesn't


def test_the_local_time_stays_at_three_across_the_autumn_change() -> None:
    moments = series(Schedule(), local(2026, 10, 17), 3)  # DST ends Sunday 25 October 2026
    assert [m.date() for m in moments] == [date(2026, 10, 23), date(2026, 10, 30), date(2026, 11, 6)]
    assert all(m.time() == time(15, 0) for m in moments)
    assert [m.astimezone(UTC).hour for m in moments] == [13, 14, 14]


def test_a_time_skipped_in_spring_moves_forward_by_the_gap() -> None:
    schedule = Schedule(weekday=6, at=time(2, 30), quiet=NO_QUIET)  # Sunday 02:30 doesn't exist on 29 March
    first, second = series(schedule, local(2026, 3, 25), 2)
    assert first == local(2026, 3, 29, 3, 30) and first.astimezone(UTC).hour == 1
    assert second == local(2026, 4, 5, 2, 30)


def test_a_time_repeated_in_autumn_is_due_once_at_its_first_occurrence() -> None:
    schedule = Schedule(weekday=6, at=time(2, 30), quiet=NO_QUIET)  # 02:30 happens twice on 25 October
    first, second = series(schedule, local(2026, 10, 20), 2)
    assert first.astimezone(UTC) == datetime(2026, 10, 25, 0, 30, tzinfo=UTC)  # 02:30 CEST
    assert second.date() == date(2026, 11, 1)  # not again at 02:30 CET an hour later


def test_every_workday_skips_the_weekend() -> None:
    moments = series(Schedule(rhythm=Rhythm.WORKDAYS), local(2026, 12, 3, 16), 4)  # Thursday afternoon
    assert [m.strftime("%a %d") for m in moments] == ["Fri 04", "Mon 07", "Tue 08", "Wed 09"]


def test_every_two_weeks_counts_from_the_anchor_across_a_dst_change() -> None:
    anchor = first_occurrence(Schedule(), local(2026, 3, 16))  # a Monday: anchor is that Friday
    assert anchor == date(2026, 3, 20)
    schedule = Schedule(rhythm=Rhythm.BIWEEKLY, anchor=anchor)
    moments = series(schedule, local(2026, 3, 16), 3)
    assert [m.date() for m in moments] == [date(2026, 3, 20), date(2026, 4, 3), date(2026, 4, 17)]
    assert all(m.time() == time(15, 0) for m in moments)


def test_monthly_is_the_last_chosen_weekday_over_month_and_year_ends() -> None:
    moments = series(Schedule(rhythm=Rhythm.MONTHLY), local(2026, 11, 28), 3)
    assert [m.date() for m in moments] == [date(2026, 12, 25), date(2027, 1, 29), date(2027, 2, 26)]
    # February of a leap year: the last Monday is the 28th (the 29th is a Tuesday).
    monday = Schedule(rhythm=Rhythm.MONTHLY, weekday=0, at=time(9, 0))
    assert series(monday, local(2028, 2, 1), 2)[0].date() == date(2028, 2, 28)
    # A month of 31 days whose last day is the weekday itself.
    thursday = Schedule(rhythm=Rhythm.MONTHLY, weekday=3)
    assert series(thursday, local(2026, 12, 1), 1)[0].date() == date(2026, 12, 31)


def test_quiet_hours_push_a_nudge_to_the_first_moment_after_them() -> None:
    evening = Schedule(weekday=2, at=time(21, 0))  # Wednesday 21:00 is in the quiet evening
    assert series(evening, local(2026, 12, 1), 1) == [local(2026, 12, 3, 8, 0)]
    early = Schedule(weekday=2, at=time(7, 0))
    assert series(early, local(2026, 12, 1), 1) == [local(2026, 12, 2, 8, 0)]
    friday_evening = Schedule(at=time(20, 0))  # Friday 20:00: quiet evening, then the weekend
    assert series(friday_evening, local(2026, 12, 1), 2) == [local(2026, 12, 7, 8), local(2026, 12, 14, 8)]
    saturday = Schedule(weekday=5, at=time(10, 0))
    assert series(saturday, local(2026, 12, 1), 1) == [local(2026, 12, 7, 8, 0)]
    # Other quiet hours, weekends allowed: Saturday morning stays; 22:30 moves to 07:00.
    late = QuietHours(time(22, 0), time(7, 0), weekends=False)
    assert series(Schedule(weekday=5, at=time(10, 0), quiet=late), local(2026, 12, 1), 1) == [
        local(2026, 12, 5, 10, 0)
    ]
    assert series(Schedule(at=time(22, 30), quiet=late), local(2026, 12, 1), 1) == [local(2026, 12, 5, 7, 0)]


def test_a_quiet_shift_is_not_sent_twice_and_no_occurrence_is_lost() -> None:
    # Every workday at 21:00: each evening's nudge comes the next (work)day at 08:00.
    moments = series(Schedule(rhythm=Rhythm.WORKDAYS, at=time(21, 0)), local(2026, 12, 3, 9), 4)
    assert [m.strftime("%a %d %H:%M") for m in moments] == [
        "Fri 04 08:00",  # Thursday evening's
        "Mon 07 08:00",  # Friday evening's, after the weekend
        "Tue 08 08:00",
        "Wed 09 08:00",
    ]


def test_a_pause_holds_nudges_back_until_it_expires() -> None:
    now = local(2026, 12, 2, 10)  # Wednesday; paused for a week
    paused = Schedule(paused_until=now + timedelta(weeks=1))
    assert next_due(paused, now) == local(2026, 12, 11, 15).astimezone(UTC)  # not Friday the 4th
    # A pause that ends exactly at an occurrence lets that occurrence through.
    exact = Schedule(paused_until=local(2026, 12, 11, 15))
    assert next_due(exact, now) == local(2026, 12, 11, 15).astimezone(UTC)
    # An expired pause changes nothing.
    expired = Schedule(paused_until=local(2026, 11, 1))
    assert next_due(expired, now) == local(2026, 12, 4, 15).astimezone(UTC)


def test_a_stopped_schedule_is_never_due() -> None:
    assert next_due(Schedule(stopped=True), local(2026, 12, 2)) is None


def test_snooze_for_an_hour_respects_quiet_hours() -> None:
    assert snooze_until(Schedule(), Snooze.HOUR, local(2026, 12, 2, 15, 5)) == local(2026, 12, 2, 16, 5)
    # Friday 19:30 plus an hour is in the quiet evening, then the weekend: Monday 08:00.
    assert snooze_until(Schedule(), Snooze.HOUR, local(2026, 12, 4, 19, 30)) == local(2026, 12, 7, 8, 0)
    assert snooze_until(Schedule(), Snooze.HOUR, local(2026, 12, 2, 6, 30)) == local(2026, 12, 2, 8, 0)


def test_snooze_until_tomorrow_morning_skips_the_weekend() -> None:
    assert snooze_until(Schedule(), Snooze.MORNING, local(2026, 12, 2, 15)) == local(2026, 12, 3, 9, 0)
    assert snooze_until(Schedule(), Snooze.MORNING, local(2026, 12, 4, 15)) == local(2026, 12, 7, 9, 0)
    weekend_ok = Schedule(quiet=QuietHours(weekends=False))
    assert snooze_until(weekend_ok, Snooze.MORNING, local(2026, 12, 4, 15)) == local(2026, 12, 5, 9, 0)
    # Across the spring change, tomorrow morning is still 09:00 on the wall clock.
    monday = snooze_until(Schedule(quiet=QuietHours(weekends=False)), Snooze.MORNING, local(2026, 3, 28, 12))
    assert monday == local(2026, 3, 29, 9, 0) and monday.astimezone(UTC).hour == 7


def test_twelve_hours_late_is_skipped() -> None:
    due = datetime(2026, 12, 4, 14, 0, tzinfo=UTC)
    assert not is_late(due, due + timedelta(hours=11, minutes=59), timedelta(hours=12))
    assert is_late(due, due + timedelta(hours=12), timedelta(hours=12))


def test_naive_datetimes_are_refused() -> None:
    with pytest.raises(ValueError):
        next_due(Schedule(), datetime(2026, 12, 2, 10))


@given(
    after=st.datetimes(min_value=datetime(2025, 1, 1), max_value=datetime(2030, 12, 31)),
    weekday=st.integers(0, 4),
    at=st.sampled_from([time(9, 0), time(11, 0), time(13, 0), time(15, 0), time(17, 0)]),
    rhythm=st.sampled_from(list(Rhythm)),
)
def test_every_due_moment_is_the_chosen_wall_time_outside_quiet_hours(
    after: datetime, weekday: int, at: time, rhythm: Rhythm
) -> None:
    start = after.replace(tzinfo=UTC)
    schedule = Schedule(
        rhythm=rhythm, weekday=weekday, at=at, anchor=first_occurrence(Schedule(weekday=weekday), start)
    )
    due = next_due(schedule, start)
    assert due is not None and due > start
    moment = due.astimezone(AMS)
    assert moment.time() == at and not schedule.quiet.is_quiet(moment)
    assert rhythm is Rhythm.WORKDAYS or moment.weekday() == weekday
    limit = {Rhythm.WORKDAYS: 3, Rhythm.WEEKLY: 7, Rhythm.BIWEEKLY: 14, Rhythm.MONTHLY: 35}[rhythm]
    assert due - start <= timedelta(days=limit, hours=1)
