"""Dates and times as people read them, the same on every platform.

strftime's flag for a day without its leading zero (a minus sign after the percent) is a glibc
extension: it raises on Windows, where every establishment PC runs. These build the day from
``.day`` instead.
"""

from __future__ import annotations

import datetime as dt


def day_month_year(day: dt.date) -> str:
    """``3 Dec 2026``."""
    return f"{day.day} {day:%b %Y}"


def day_month_time(moment: dt.datetime) -> str:
    """``3 Dec 14:05``."""
    return f"{moment.day} {moment:%b %H:%M}"


def day_month_year_time(moment: dt.datetime) -> str:
    """``3 Dec 2026 14:05``."""
    return f"{moment.day} {moment:%b %Y %H:%M}"
