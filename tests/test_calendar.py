"""The trajectory's calendar on its own: the rules the workflow's timers and dates follow."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from workflows.calendar import SHORTEST_TIMER, TrajectoryCalendar, start_of

START = datetime(2027, 1, 4, 9, 0, tzinfo=UTC)


def compressed() -> TrajectoryCalendar:
    # One wall-clock second is one calendar day.
    return TrajectoryCalendar.starting(START, 86_400.0)


def test_the_calendar_moves_only_with_recorded_facts() -> None:
    calendar = compressed()
    assert calendar.today() == date(2027, 1, 4)  # no clock is read, and nothing moves
    calendar.observe_wall(START + timedelta(seconds=2))  # an activity's result, 2 days on
    assert calendar.today() == date(2027, 1, 6)
    assert calendar.moment() == START + timedelta(days=2)
    calendar.observe(START)  # an older fact never moves it back
    assert calendar.today() == date(2027, 1, 6)
    calendar.observe_wall(None)  # a fact without a wall-clock reading moves nothing
    assert calendar.recorded_at() == START + timedelta(seconds=2)


def test_wall_and_calendar_convert_both_ways() -> None:
    calendar = compressed()
    moment = START + timedelta(days=10)
    assert calendar.on_wall(moment) == START + timedelta(seconds=10)
    assert calendar.on_calendar(calendar.on_wall(moment)) == moment


def test_a_timer_runs_for_the_wall_time_left_and_never_for_a_moment_already_reached() -> None:
    calendar = compressed()
    until = start_of(date(2027, 1, 14))  # 9 days and 15 hours ahead
    timer = calendar.timer_for(until, START)
    assert timer is not None and abs(timer - timedelta(seconds=9.625)) < timedelta(milliseconds=1)
    # The wall ran past it (a slow worker) but the calendar did not: still wait, briefly.
    assert calendar.timer_for(until, START + timedelta(seconds=60)) == SHORTEST_TIMER
    calendar.timer_fired(until)
    assert calendar.clock == until
    assert calendar.timer_for(until, START) is None


def test_a_stamp_from_a_clock_running_ahead_is_refused_with_both_times() -> None:
    assert TrajectoryCalendar.stamp_problem(None, START) is None
    assert TrajectoryCalendar.stamp_problem(START + timedelta(minutes=4), START) is None
    problem = TrajectoryCalendar.stamp_problem(START + timedelta(hours=1), START)
    assert problem is not None
    assert "2027-01-04T10:00:00+00:00" in problem and "2027-01-04T09:00:00" in problem


def test_a_scenario_calendar_starts_on_its_own_day_and_keeps_the_offset() -> None:
    # A scenario replays a real case from 2019: one wall second is one calendar day after it.
    calendar = TrajectoryCalendar.starting(START, 86_400.0, starts_on=date(2019, 3, 1))
    assert calendar.today() == date(2019, 3, 1)
    calendar.observe_wall(START + timedelta(seconds=3))
    assert calendar.today() == date(2019, 3, 4)
    moment = start_of(date(2019, 4, 1))
    assert calendar.on_calendar(calendar.on_wall(moment)) == moment
    timer = calendar.timer_for(moment, START + timedelta(seconds=3))
    assert timer is not None and abs(timer - timedelta(seconds=27.625)) < timedelta(milliseconds=1)
    assert calendar.recorded_at() == START + timedelta(seconds=3)


def test_only_a_compressed_calendar_may_start_on_another_day() -> None:
    from pydantic import ValidationError

    from schemas.trajectory import Calendar

    assert Calendar(speed=86_400, starts_on=date(2019, 3, 1)).starts_on == date(2019, 3, 1)
    with pytest.raises(ValidationError, match="must run compressed"):
        Calendar(starts_on=date(2019, 3, 1))
