"""Dates and times as people read them, the same on every platform.

strftime's flag for a day without its leading zero (a minus sign after the percent) is a glibc
extension: it raises on Windows, where every establishment PC runs. These build the day from
``.day`` instead.
"""

from __future__ import annotations

import datetime as dt
import re


def day_month_year(day: dt.date) -> str:
    """``3 Dec 2026``."""
    return f"{day.day} {day:%b %Y}"


def day_month_time(moment: dt.datetime) -> str:
    """``3 Dec 14:05``."""
    return f"{moment.day} {moment:%b %H:%M}"


def day_month_year_time(moment: dt.datetime) -> str:
    """``3 Dec 2026 14:05``."""
    return f"{moment.day} {moment:%b %Y %H:%M}"


# -- dates as people type them ------------------------------------------------------------------

#: How a date is typed and shown in a field (as people in Scotland write it), for placeholders
#: and for the errors that ask for one: they always say it the same way.
DATE_EXAMPLE = "31/03/2026"
DATE_HINT = f"e.g. {DATE_EXAMPLE}"
QT_DATE_FORMAT = "dd/MM/yyyy"  # the same, for Qt's date fields

_TYPED = re.compile(r"(\d{1,2})\s*[/.\-]\s*(\d{1,2})\s*[/.\-]\s*(\d{4}|\d{2})")
_ISO = re.compile(r"\d{4}-\d{1,2}-\d{1,2}")


def date_wanted(label: str) -> str:
    """The one sentence asking for a date: ``Date must be a date like 31/03/2026.``"""
    return f"{label} must be a date like {DATE_EXAMPLE}."


def numeric_date(day: dt.date | None) -> str:
    """``31/03/2026`` (how a date is shown in a field people can type in); "" for none."""
    return f"{day.day:02d}/{day.month:02d}/{day.year:04d}" if day else ""


def parse_typed_date(text: str) -> dt.date:
    """A date as a person types it: day first (31/03/2026, 31/3/2026, 31.3.26, 31-03-2026) or
    ISO (2026-03-31). Two-digit years are this century. Raises ValueError for anything else."""
    raw = text.strip()
    if _ISO.fullmatch(raw):
        year, month, day = (int(part) for part in raw.split("-"))
        return dt.date(year, month, day)
    match = _TYPED.fullmatch(raw)
    if match is None:
        raise ValueError(f"not a date: {raw!r}")
    day, month, year = (int(part) for part in match.groups())
    return dt.date(year + 2000 if year < 100 else year, month, day)


MONTH_NAMES = ("January", "February", "March", "April", "May", "June", "July", "August", "September",
               "October", "November", "December")


def long_date(day: dt.date) -> str:
    """``3 December 2026`` (as printed on a certificate): English month names whatever the
    locale the process runs in (strftime's ``%B`` follows it)."""
    return f"{day.day} {MONTH_NAMES[day.month - 1]} {day.year}"
