"""Legal time limits as pure date arithmetic.

Counting convention (Belgian law, domain brief "time limits start the day after receipt"): the
day of the event that starts a period is not counted. A period of N days after day A runs from
A + 1 (day 1) to A + N, its last day, on which the act may still be done. Periods before a day
A ("at least N days before the meeting on A") are counted backwards the same way: day 1 is
A - 1, so A - N is the latest day the act can be done.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from datetime import date, timedelta

from rules.holidays import public_holidays
from schemas.deadlines import DeadlineCatalogue, DeadlineRule, DeadlineUnit


def _working_day_test() -> Callable[[date], bool]:
    """`is_working_day` with the holidays of each year computed once per call site; local state
    only, so the result stays a pure function of its input."""
    holidays_by_year: dict[int, dict[date, str]] = {}

    def test(day: date) -> bool:
        if day.weekday() >= 5:
            return False
        holidays = holidays_by_year.get(day.year)
        if holidays is None:
            holidays = holidays_by_year[day.year] = public_holidays(day.year)
        return day not in holidays

    return test


def add_calendar_days(start: date, days: int) -> date:
    """The last day of a period of `days` calendar days after `start` (before it if negative)."""
    return start + timedelta(days=days)


def add_working_days(start: date, days: int) -> date:
    """The `days`-th working day after `start`, counting from the day after it; for a negative
    count the `-days`-th working day before `start`, counting from the day before. 0 returns
    `start` itself, working day or not. Working days: Monday to Friday, no public holiday."""
    working = _working_day_test()
    step = timedelta(days=1 if days > 0 else -1)
    day, remaining = start, abs(days)
    while remaining:
        day += step
        if working(day):
            remaining -= 1
    return day


def working_days_between(start: date, end: date) -> int:
    """Working days in the period from `start` to `end` under the counting convention: those
    in (start, end] when end >= start; minus those in [end, start) when end < start.

    For every working day `end`: add_working_days(start, working_days_between(start, end))
    == end.
    """
    working = _working_day_test()
    if end >= start:
        first, last, sign = start + timedelta(days=1), end, 1
    else:
        first, last, sign = end, start - timedelta(days=1), -1
    count, day = 0, first
    while day <= last:
        count += working(day)
        day += timedelta(days=1)
    return sign * count


def roll_to_working_day(day: date, *, forward: bool = True) -> date:
    """`day` if it is a working day, else the next (or, with forward=False, the previous) one.

    Belgian rule (Ger.W. art. 53): a period whose last day is a Saturday, Sunday or public
    holiday ends on the next working day. For a latest date before an event we move back
    instead, so the act still happens early enough.
    """
    working = _working_day_test()
    step = timedelta(days=1 if forward else -1)
    while not working(day):
        day += step
    return day


# Pure, and asked for every step's deadline in every workflow activation (a worker without a
# cache replays each run per task: 300,000 calls for 300 updates in the bench); a rule is a
# frozen model, so it keys a cache.
@functools.lru_cache(maxsize=4096)
def deadline_for(rule: DeadlineRule, anchor_date: date) -> date:
    """The date `rule` yields for the resolved date of its anchor.

    calendar days: anchor + offset; weeks: anchor + 7 * offset; working days: the offset-th
    working day after (before) the anchor, see add_working_days. Offset 0 is the anchor itself.
    With `extend_to_working_day` a non-working result moves to the next working day, or to the
    previous one for a negative offset.
    """
    if rule.unit is DeadlineUnit.WORKING_DAYS:
        result = add_working_days(anchor_date, rule.offset)
    elif rule.unit is DeadlineUnit.WEEKS:
        result = add_calendar_days(anchor_date, 7 * rule.offset)
    else:
        result = add_calendar_days(anchor_date, rule.offset)
    if rule.extend_to_working_day:
        result = roll_to_working_day(result, forward=rule.offset >= 0)
    return result


@functools.lru_cache(maxsize=1024)
def concrete_rule(rule: DeadlineRule, catalogue: DeadlineCatalogue) -> DeadlineRule:
    """`rule` with the offset and unit its catalogue entry gives in `catalogue` (the
    trajectory's, overrides included); a rule that names no lead time as it is."""
    if rule.lead_time is None:
        return rule
    amount, unit = catalogue.period(rule.lead_time)
    return DeadlineRule(
        anchor=rule.anchor,
        offset=-amount if rule.before else amount,
        unit=unit,
        extend_to_working_day=rule.extend_to_working_day,
    )


def legal_close_date(due: date) -> date:
    """The first day a round is closed: the day after its due date. Reminders and the
    escalation grace never move it (the law's deadline is not the organisation's patience)."""
    return add_calendar_days(due, 1)


def recording_closes_on(due: date, catalogue: DeadlineCatalogue) -> date:
    """The last day a decision taken by `due` (its session date) can still be recorded."""
    return add_calendar_days(due, catalogue.recording_grace_days)


def earliest_av_date(statute_sent: date, catalogue: DeadlineCatalogue) -> date:
    """Earliest day for the general assembly that decides on a statute or activity change whose
    draft was sent to the members on `statute_sent`: at least 90 calendar days (by default)
    must lie between them, so sent + 90. Not moved off weekends: it bounds a meeting date, it
    is not the last day of a period."""
    return add_calendar_days(statute_sent, catalogue.statute_draft_to_av_days)


def latest_wvv_filing(av_date: date, catalogue: DeadlineCatalogue) -> date:
    """Latest day to file a WVV transfer proposal at the enterprise court registry for the
    general assembly deciding on `av_date`: at least 6 weeks (by default) before it. The
    registry accepts filings on working days only, so a non-working day moves back."""
    rule = DeadlineRule(
        anchor="planned-av-date",
        offset=-catalogue.wvv_filing_before_av_weeks,
        unit=DeadlineUnit.WEEKS,
        extend_to_working_day=True,
    )
    return deadline_for(rule, av_date)


def is_overdue(deadline: date, today: date) -> bool:
    """A deadline is met by acting on its last day; it is overdue from the day after."""
    return today > deadline


def reminder_date(deadline: date, catalogue: DeadlineCatalogue) -> date:
    """Day on which to remind the responsible role: 14 calendar days (by default) before."""
    return add_calendar_days(deadline, -catalogue.reminder_days_before_deadline)


def escalation_date(deadline: date, catalogue: DeadlineCatalogue) -> date:
    """First day on which an unmet deadline is escalated: the first overdue day plus the grace
    days of the catalogue (0 by default, so the day after the deadline)."""
    return add_calendar_days(deadline, 1 + catalogue.escalation_days_after_deadline)
