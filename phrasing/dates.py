"""Dates as Dutch readers write them: "1 december 2020", never an ISO date in a sentence.

Written out here instead of relying on the process locale: a text must read the same on a
server with `LANG=C`, on a coordinator's laptop and inside a workflow replay.
"""

from __future__ import annotations

from datetime import date

MONTHS = (
    "januari",
    "februari",
    "maart",
    "april",
    "mei",
    "juni",
    "juli",
    "augustus",
    "september",
    "oktober",
    "november",
    "december",
)
MONTHS_SHORT = ("jan", "feb", "mrt", "apr", "mei", "jun", "jul", "aug", "sep", "okt", "nov", "dec")


def format_date(day: date) -> str:
    """1 december 2020: day without a leading zero, month in lower case (Dutch usage)."""
    return f"{day.day} {MONTHS[day.month - 1]} {day.year}"


def format_optional_date(day: date | None, missing: str = "—") -> str:
    return missing if day is None else format_date(day)
