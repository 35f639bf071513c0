"""The trajectory's calendar: which day it is for the trajectory, and how long to wait.

A trajectory may run on a compressed calendar (demonstrations, scenarios): `speed` calendar
seconds pass per wall-clock second. The calendar moves only with facts recorded in the
history (a timer that fired, an activity's result, a message's `sent_at`), never with
`workflow.now()` itself: after a workflow task timed out, the worker that picks a run up can
see an older time than a later replay of the same history does, and a decision taken on it
would not replay. The wall clock only sets how long a timer runs.

A scenario's calendar may start on another day (`origin`, its real first day): the wall and
the calendar then differ from the start by a fixed offset, and the speed applies after it.

Pure: the one reading of the wall clock, for a timer's duration, is handed in by the caller
(the workflow passes `workflow.now()`), so the rules are tested on their own
(tests/test_calendar.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

# A timer for a moment the wall clock has already passed still runs (briefly): whether the
# workflow waits must not depend on the wall clock, only its duration may.
SHORTEST_TIMER = timedelta(milliseconds=1)
# How far a message's sent_at may lie ahead of the server's clock (clock skew, not intent).
STAMP_LEAD = timedelta(minutes=5)


def start_of(day: date) -> datetime:
    """Midnight UTC at the start of `day`: the moment a day-based deadline begins."""
    return datetime.combine(day, time.min, tzinfo=UTC)


@dataclass
class TrajectoryCalendar:
    started_at: datetime  # the wall-clock moment the trajectory started
    speed: float  # calendar seconds per wall-clock second (1.0: real time)
    clock: datetime  # the calendar moment of the latest recorded fact
    origin: datetime  # the calendar moment at started_at (started_at itself, but in scenarios)

    @classmethod
    def starting(
        cls,
        started_at: datetime,
        speed: float,
        *,
        starts_on: date | None = None,
    ) -> TrajectoryCalendar:
        """`starts_on`: the calendar day of the start when it is not the wall's (a scenario
        from its real dates); the calendar starts at that day's same time of day."""
        origin = started_at
        if starts_on is not None:
            origin = datetime.combine(starts_on, started_at.timetz())
        return cls(started_at=started_at, speed=speed, clock=origin, origin=origin)

    def on_calendar(self, wall: datetime) -> datetime:
        """The calendar moment of a wall-clock reading."""
        return self.origin + (wall - self.started_at) * self.speed

    def on_wall(self, moment: datetime) -> datetime:
        """The wall-clock moment of a calendar moment (the inverse of `on_calendar`)."""
        return self.started_at + (moment - self.origin) / self.speed

    def moment(self) -> datetime:
        """The calendar moment every decision of the workflow is taken at: that of the latest
        recorded fact, so no decision depends on the clock."""
        return self.clock

    def today(self) -> date:
        return self.clock.date()

    def recorded_at(self) -> datetime:
        """The wall-clock time an audit record carries."""
        return self.on_wall(self.clock)

    def observe(self, moment: datetime) -> None:
        """A recorded fact happened at calendar `moment`: the calendar never goes back."""
        if moment > self.clock:
            self.clock = moment

    def observe_wall(self, wall: datetime | None) -> None:
        """A recorded fact carries a wall-clock reading (an activity's result, a sent_at)."""
        if wall is not None:
            self.observe(self.on_calendar(wall))

    def timer_for(self, until: datetime, wall: datetime) -> timedelta | None:
        """How long a timer must run for the calendar to reach `until`, or None when it has
        already. Whether to wait follows from the calendar (deterministic); how long the timer
        runs follows from the wall clock, which Temporal does not replay."""
        if until <= self.clock:
            return None
        return max((until - self.on_calendar(wall)) / self.speed, SHORTEST_TIMER)

    def has_reached(self, moment: datetime) -> bool:
        """Whether the calendar is at or past `moment`."""
        return self.clock >= moment

    def timer_fired(self, until: datetime) -> None:
        """The timer set by `timer_for(until)` fired: the calendar reached `until`."""
        self.observe(until)

    @staticmethod
    def stamp_problem(sent_at: datetime | None, server_now: datetime) -> str | None:
        """Why a message's sent_at cannot be taken (validators only: they never run on replay,
        so they may read the clock): a sender whose clock runs ahead would move the calendar
        too far."""
        if sent_at is None or sent_at <= server_now + STAMP_LEAD:
            return None
        return (
            f"sent_at {sent_at.isoformat()} lies ahead of the server's clock "
            f"({server_now.isoformat(timespec='seconds')}); check the sender's clock "
            "or leave sent_at out"
        )
