"""Dates as a Flemish spreadsheet writes them: day first (1/01/2015, 01.01.2015, 1-1-2015),
or ISO (2015-01-01).

Day-first is the Belgian convention and Excel's Belgian short date, so 3/04/2017 is 3 April.
What cannot be read one way only is refused rather than guessed: a two-digit year (which
century?), a month above 12 (a month/day date from an English Excel?), an Excel day number.
"""

from __future__ import annotations

import re
from datetime import date

_ISO = re.compile(r"^(?P<year>\d{4})-(?P<month>\d{1,2})-(?P<day>\d{1,2})$")
# The same separator twice: "1/01-2015" is more likely a typo than a date.
_DAY_FIRST = re.compile(r"^(?P<day>\d{1,2})(?P<sep>[/.-])(?P<month>\d{1,2})(?P=sep)(?P<year>\d+)$")
# Excel writes a date-and-time cell as "1/01/2015 0:00"; midnight carries no information.
_MIDNIGHT = re.compile(r"\s+0?0:00(:00)?$")
_EXCEL_DAY_NUMBER = re.compile(r"^\d{5}$")

FORMATS_HINT = "write it as day/month/year (1/01/2015, 01.01.2015, 1-1-2015) or as 2015-01-01"


def parse_date(text: str) -> date:
    """The date `text` means, or ValueError saying what is wrong and how to write it."""
    value = _MIDNIGHT.sub("", text.strip())
    shown = repr(text.strip()[:40])
    iso = _ISO.match(value)
    if iso:
        return _calendar_date(int(iso["year"]), int(iso["month"]), int(iso["day"]), shown)
    day_first = _DAY_FIRST.match(value)
    if day_first:
        year = day_first["year"]
        if len(year) != 4:
            raise ValueError(
                f"the year of {shown} is ambiguous ({len(year)} digits); write it in full, "
                "as in 1/01/2015"
            )
        month, day = int(day_first["month"]), int(day_first["day"])
        if month > 12 and day <= 12:
            raise ValueError(
                f"{shown} has month {month}; dates are day/month/year (a month/day date from "
                "an English spreadsheet?)"
            )
        return _calendar_date(int(year), month, day, shown)
    if _EXCEL_DAY_NUMBER.match(value):
        raise ValueError(
            f"{shown} looks like an Excel day number, not a date; format the column as a date "
            f"in Excel before saving, or {FORMATS_HINT}"
        )
    raise ValueError(f"is not a date (got {shown}); {FORMATS_HINT}")


def _calendar_date(year: int, month: int, day: int, shown: str) -> date:
    try:
        return date(year, month, day)
    except ValueError:
        raise ValueError(f"{shown} is not a calendar date (day {day} of month {month})") from None
