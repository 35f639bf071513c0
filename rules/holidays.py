"""Belgian public holidays (the ten legal ones, Royal Decree of 18 April 1974) and working days.

Regional or sector days off (11 juli, 2 november, 26 december, ...) are not legal holidays and
are deliberately not included: legal time limits only skip the legal ones.
"""

from __future__ import annotations

from datetime import date, timedelta


def easter_sunday(year: int) -> date:
    """Western (Gregorian) Easter Sunday, by the anonymous Gregorian algorithm
    (Meeus/Jones/Butcher); valid for every Gregorian year."""
    a = year % 19
    b, c = divmod(year, 100)
    d, e = divmod(b, 4)
    f = (b + 8) // 25
    g = (b - f + 1) // 3
    h = (19 * a + b - d - g + 15) % 30
    i, k = divmod(c, 4)
    weekday_shift = (32 + 2 * e + 2 * i - h - k) % 7
    m = (a + 11 * h + 22 * weekday_shift) // 451
    month, day = divmod(h + weekday_shift - 7 * m + 114, 31)
    return date(year, month, day + 1)


def public_holidays(year: int) -> dict[date, str]:
    """The ten Belgian public holidays of `year`, mapped to their Dutch names, in date order."""
    easter = easter_sunday(year)
    holidays = {
        date(year, 1, 1): "Nieuwjaar",
        easter + timedelta(days=1): "Paasmaandag",
        date(year, 5, 1): "Dag van de Arbeid",
        easter + timedelta(days=39): "O.L.H. Hemelvaart",
        easter + timedelta(days=50): "Pinkstermaandag",
        date(year, 7, 21): "Nationale feestdag",
        date(year, 8, 15): "O.L.V. Hemelvaart",
        date(year, 11, 1): "Allerheiligen",
        date(year, 11, 11): "Wapenstilstand",
        date(year, 12, 25): "Kerstmis",
    }
    # Ascension can coincide with 1 May (e.g. 2008); the dict then holds nine entries.
    return dict(sorted(holidays.items()))


def is_public_holiday(day: date) -> bool:
    return day in public_holidays(day.year)


def is_working_day(day: date) -> bool:
    """Monday to Friday and not a Belgian public holiday."""
    return day.weekday() < 5 and not is_public_holiday(day)
