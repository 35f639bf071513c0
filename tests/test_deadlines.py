"""Deadline arithmetic, checked against dates counted by hand on a calendar.

Belgian public holidays used below: 2026: Easter Monday 6 Apr, Ascension 14 May, Whit Monday
25 May, 21 Jul (Tue), 1 Nov (Sun), 11 Nov (Wed), 25 Dec (Fri); 2027: 1 Jan (Fri), Easter
Monday 29 Mar.
"""

from __future__ import annotations

from datetime import date

import pytest
from pydantic import ValidationError

from rules.deadlines import (
    add_calendar_days,
    add_working_days,
    deadline_for,
    earliest_av_date,
    escalation_date,
    is_overdue,
    latest_wvv_filing,
    reminder_date,
    roll_to_working_day,
    working_days_between,
)
from rules.holidays import easter_sunday, is_public_holiday, is_working_day, public_holidays
from schemas.deadlines import DeadlineCatalogue, DeadlineRule, DeadlineUnit

CAL = DeadlineUnit.CALENDAR_DAYS
WORK = DeadlineUnit.WORKING_DAYS
WEEKS = DeadlineUnit.WEEKS


def rule(offset: int, unit: DeadlineUnit, *, extend: bool = False) -> DeadlineRule:
    return DeadlineRule(anchor="start", offset=offset, unit=unit, extend_to_working_day=extend)


# --- holidays -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("year", "easter"),
    [
        (2024, date(2024, 3, 31)),
        (2025, date(2025, 4, 20)),
        (2026, date(2026, 4, 5)),
        (2027, date(2027, 3, 28)),
        (2008, date(2008, 3, 23)),
        (1818, date(1818, 3, 22)),  # earliest possible date
        (2038, date(2038, 4, 25)),  # latest possible date
    ],
)
def test_easter_sunday(year: int, easter: date) -> None:
    assert easter_sunday(year) == easter


def test_public_holidays_2026() -> None:
    assert list(public_holidays(2026)) == [
        date(2026, 1, 1),
        date(2026, 4, 6),  # Easter 5 Apr + 1
        date(2026, 5, 1),
        date(2026, 5, 14),  # Easter + 39
        date(2026, 5, 25),  # Easter + 50
        date(2026, 7, 21),
        date(2026, 8, 15),
        date(2026, 11, 1),
        date(2026, 11, 11),
        date(2026, 12, 25),
    ]
    assert public_holidays(2027)[date(2027, 3, 29)] == "Paasmaandag"


def test_ascension_on_labour_day_counts_once() -> None:
    # 2008: Easter 23 Mar + 39 = 1 May.
    assert len(public_holidays(2008)) == 9
    assert is_public_holiday(date(2008, 5, 1))


@pytest.mark.parametrize(
    ("day", "working"),
    [
        (date(2026, 6, 9), True),  # Tuesday
        (date(2026, 6, 13), False),  # Saturday
        (date(2026, 6, 14), False),  # Sunday
        (date(2027, 3, 29), False),  # Easter Monday
        (date(2026, 7, 21), False),  # national day, a Tuesday
        (date(2026, 11, 11), False),  # Armistice, a Wednesday
        (date(2026, 12, 24), True),  # Christmas Eve is no legal holiday
    ],
)
def test_is_working_day(day: date, working: bool) -> None:
    assert is_working_day(day) is working


# --- calendar days and weeks ----------------------------------------------------------------


def test_ninety_calendar_days() -> None:
    # From Mon 2 Mar 2026: 3..31 Mar = days 1-29, April = 30-59, 1..31 May = 60-90.
    assert deadline_for(rule(90, CAL), date(2026, 3, 2)) == date(2026, 5, 31)
    # 31 May 2026 is a Sunday: extended to Monday 1 June (Whit Monday was 25 May).
    assert deadline_for(rule(90, CAL, extend=True), date(2026, 3, 2)) == date(2026, 6, 1)


def test_weeks_are_seven_calendar_days() -> None:
    # 9 weeks = 63 days from 1 Jan 2026: 2..31 Jan = 30, Feb = 31-58, 1..5 Mar = 59-63.
    assert deadline_for(rule(9, WEEKS), date(2026, 1, 1)) == date(2026, 3, 5)
    # -6 weeks = -42 days from Tue 15 Dec 2026: 15 days back to 30 Nov, 27 more to 3 Nov.
    assert deadline_for(rule(-6, WEEKS), date(2026, 12, 15)) == date(2026, 11, 3)


def test_negative_calendar_days() -> None:
    # Day 1 is 24 June, day 10 is 15 June.
    assert deadline_for(rule(-10, CAL), date(2026, 6, 25)) == date(2026, 6, 15)
    assert add_calendar_days(date(2026, 6, 25), -10) == date(2026, 6, 15)


def test_offset_zero_is_the_anchor() -> None:
    saturday = date(2026, 6, 13)
    for unit in DeadlineUnit:
        assert deadline_for(rule(0, unit), saturday) == saturday
    # Extended like any last day falling on a weekend: to Monday 15 June.
    assert deadline_for(rule(0, WORK, extend=True), saturday) == date(2026, 6, 15)


# --- working days ---------------------------------------------------------------------------


def test_ten_working_days_over_weekends() -> None:
    # From Wed 10 Jun 2026: Th11=1 F12=2 | M15=3 T16=4 W17=5 Th18=6 F19=7 | M22=8 T23=9 W24=10
    assert deadline_for(rule(10, WORK), date(2026, 6, 10)) == date(2026, 6, 24)
    # From Fri 12 Jun: the weekend is skipped, Mon 15 is day 1.
    assert add_working_days(date(2026, 6, 12), 1) == date(2026, 6, 15)


def test_working_days_over_easter_monday_2027() -> None:
    # From Thu 25 Mar 2027: F26=1 | (Sa27 Su28 Easter Monday 29 skipped) T30=2 W31=3 Th1=4 F2=5
    # | M5=6 T6=7 W7=8 Th8=9 F9=10
    assert add_working_days(date(2027, 3, 25), 5) == date(2027, 4, 2)
    assert deadline_for(rule(10, WORK), date(2027, 3, 25)) == date(2027, 4, 9)


def test_working_days_over_11_november() -> None:
    # From Mon 9 Nov 2026: T10=1 (W11 Armistice skipped) Th12=2 F13=3
    assert add_working_days(date(2026, 11, 9), 3) == date(2026, 11, 13)


def test_working_days_across_year_end() -> None:
    # From Wed 23 Dec 2026: Th24=1 (F25 Christmas, weekend) M28=2 T29=3 W30=4 Th31=5
    # (F1 Jan New Year, weekend) M4=6 T5=7
    assert add_working_days(date(2026, 12, 23), 5) == date(2026, 12, 31)
    assert add_working_days(date(2026, 12, 23), 7) == date(2027, 1, 5)


def test_negative_working_days_union_convocation() -> None:
    # Meeting Thu 25 Jun 2026, convene >= 10 working days ahead: W24=1 T23=2 M22=3 | F19=4
    # Th18=5 W17=6 T16=7 M15=8 | F12=9 Th11=10
    convocation = DeadlineRule(anchor="step:union-meeting", offset=-10, unit=WORK)
    assert deadline_for(convocation, date(2026, 6, 25)) == date(2026, 6, 11)
    # Counted forward from the day after the convocation, the meeting is the 10th working day.
    assert add_working_days(date(2026, 6, 11), 10) == date(2026, 6, 25)


def test_negative_working_days_over_easter_monday() -> None:
    # Before Thu 1 Apr 2027: W31=1 T30=2 (Easter Monday 29, weekend skipped) F26=3
    assert add_working_days(date(2027, 4, 1), -3) == date(2027, 3, 26)


def test_working_days_between() -> None:
    assert working_days_between(date(2026, 6, 10), date(2026, 6, 24)) == 10
    assert working_days_between(date(2026, 6, 25), date(2026, 6, 11)) == -10
    assert working_days_between(date(2026, 6, 10), date(2026, 6, 10)) == 0
    # Fri 12 to Sun 14 June: only the weekend lies in between.
    assert working_days_between(date(2026, 6, 12), date(2026, 6, 14)) == 0
    # 23 Dec 2026 to 5 Jan 2027: 24, 28, 29, 30, 31 Dec, 4, 5 Jan.
    assert working_days_between(date(2026, 12, 23), date(2027, 1, 5)) == 7


def test_working_days_between_inverts_add_working_days() -> None:
    start = date(2026, 12, 20)
    for n in range(-30, 31):
        end = add_working_days(start, n)
        assert working_days_between(start, end) == n


# --- extension to a working day -------------------------------------------------------------


def test_extend_forward_over_sunday_holiday() -> None:
    # From Fri 2 Oct 2026: 3..31 Oct = days 1-29, day 30 = Sun 1 Nov (All Saints) -> Mon 2 Nov.
    assert deadline_for(rule(30, CAL), date(2026, 10, 2)) == date(2026, 11, 1)
    assert deadline_for(rule(30, CAL, extend=True), date(2026, 10, 2)) == date(2026, 11, 2)


def test_extend_forward_over_easter_weekend() -> None:
    # 18 Mar 2027 + 10 = Sun 28 Mar (Easter); Mon 29 is Easter Monday -> Tue 30 Mar.
    assert deadline_for(rule(10, CAL, extend=True), date(2027, 3, 18)) == date(2027, 3, 30)


def test_extend_backward_for_negative_offsets() -> None:
    # 8 Apr 2027 - 10 = Mon 29 Mar (Easter Monday) -> back over the weekend to Fri 26 Mar.
    assert deadline_for(rule(-10, CAL), date(2027, 4, 8)) == date(2027, 3, 29)
    assert deadline_for(rule(-10, CAL, extend=True), date(2027, 4, 8)) == date(2027, 3, 26)


def test_roll_to_working_day() -> None:
    assert roll_to_working_day(date(2026, 6, 9)) == date(2026, 6, 9)
    assert roll_to_working_day(date(2026, 12, 25)) == date(2026, 12, 28)
    assert roll_to_working_day(date(2026, 12, 25), forward=False) == date(2026, 12, 24)


# --- catalogue helpers ----------------------------------------------------------------------


def test_earliest_av_date() -> None:
    # From 1 Sep 2026: 2..30 Sep = days 1-29, Oct = 30-60, 1..30 Nov = 61-90.
    assert earliest_av_date(date(2026, 9, 1), DeadlineCatalogue()) == date(2026, 11, 30)
    shorter = DeadlineCatalogue(statute_draft_to_av_days=60)
    assert earliest_av_date(date(2026, 9, 1), shorter) == date(2026, 10, 31)


def test_latest_wvv_filing() -> None:
    catalogue = DeadlineCatalogue()
    # AV Tue 15 Dec 2026 - 42 days = Tue 3 Nov.
    assert latest_wvv_filing(date(2026, 12, 15), catalogue) == date(2026, 11, 3)
    # AV Wed 23 Dec 2026 - 42 days = Wed 11 Nov (Armistice): back to Tue 10 Nov.
    assert latest_wvv_filing(date(2026, 12, 23), catalogue) == date(2026, 11, 10)


def test_overdue_reminder_escalation() -> None:
    deadline = date(2026, 6, 24)
    assert not is_overdue(deadline, date(2026, 6, 24))  # acting on the last day is in time
    assert is_overdue(deadline, date(2026, 6, 25))
    catalogue = DeadlineCatalogue()
    assert reminder_date(deadline, catalogue) == date(2026, 6, 10)  # 14 days before
    assert escalation_date(deadline, catalogue) == date(2026, 6, 25)  # first overdue day
    later = DeadlineCatalogue(escalation_days_after_deadline=7)
    assert escalation_date(deadline, later) == date(2026, 7, 2)


def test_catalogue_defaults_and_overrides() -> None:
    catalogue = DeadlineCatalogue()
    assert catalogue.statute_draft_to_av_days == 90
    assert catalogue.wvv_filing_before_av_weeks == 6
    assert catalogue.gazette_publication_days == 10
    assert catalogue.boards_before_wvv_weeks == 6
    assert catalogue.boards_before_wvv_with_statute_change_weeks == 9
    assert catalogue.deed_to_supervisor_days == 30
    assert catalogue.complaint_window_days == 30
    assert catalogue.union_convocation_working_days == 10
    assert catalogue.regulation_in_force_day == 5
    assert catalogue.reminder_days_before_deadline == 14
    assert catalogue.escalation_days_after_deadline == 0
    assert DeadlineCatalogue(union_convocation_working_days=15).union_convocation_working_days == 15
    with pytest.raises(ValidationError):
        DeadlineCatalogue(complaint_window_days=-1)
    with pytest.raises(ValidationError):
        catalogue.complaint_window_days = 60  # type: ignore[misc]


# --- rule validation ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "anchor", ["start", "planned-av-date", "effective-date", "step:board-principle-decision"]
)
def test_valid_anchors(anchor: str) -> None:
    assert DeadlineRule(anchor=anchor, offset=1, unit=CAL).anchor == anchor


@pytest.mark.parametrize(
    "anchor",
    ["", "stop", "Start", "av-date", "step:", "step:Board", "step:board decision", "step:-x"],
)
def test_bad_anchor_rejected(anchor: str) -> None:
    with pytest.raises(ValidationError, match="anchor must be one of"):
        DeadlineRule(anchor=anchor, offset=1, unit=CAL)


def test_step_id_and_parsing() -> None:
    parsed = DeadlineRule.model_validate(
        {"anchor": "step:rvb-principle", "offset": -10, "unit": "working-days"}
    )
    assert parsed.unit is WORK
    assert parsed.step_id == "rvb-principle"
    assert parsed.extend_to_working_day is False
    assert rule(1, CAL).step_id is None
    with pytest.raises(ValidationError):
        DeadlineRule.model_validate({"anchor": "start", "offset": 1, "unit": "days"})
