"""One portable way to write dates: no strftime("%-d"), which raises on Windows."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

from srcdesk.dates import day_month_time, day_month_year, day_month_year_time


def test_days_have_no_leading_zero() -> None:
    moment = dt.datetime(2026, 12, 3, 9, 5)
    assert day_month_year(moment.date()) == "3 Dec 2026"
    assert day_month_time(moment) == "3 Dec 09:05"
    assert day_month_year_time(moment) == "3 Dec 2026 09:05"
    assert day_month_year(dt.date(2026, 11, 27)) == "27 Nov 2026"


def test_no_platform_only_strftime_codes_in_srcdesk() -> None:
    source = Path(__file__).resolve().parents[2] / "srcdesk"
    found = [f"{p.relative_to(source)}:{n}" for p in source.rglob("*.py")
             for n, line in enumerate(p.read_text(encoding="utf-8").splitlines(), 1)
             if re.search(r"%[-#][a-zA-Z]", line)]
    assert found == []


# -- the Windows code path: the C runtime there refuses the "no leading zero" flags -----------

_PLATFORM_ONLY = re.compile(r"%[-#]")


def _as_on_windows(fmt: str) -> None:
    """What Windows' strftime does with a glibc-only flag: ``ValueError: Invalid format string``."""
    if _PLATFORM_ONLY.search(fmt):
        raise ValueError("Invalid format string")


class _FormatsLikeWindows:
    """strftime and f-string formats refused as Windows' C runtime refuses them."""

    def strftime(self, fmt: str) -> str:
        _as_on_windows(fmt)
        return super().strftime(fmt)

    def __format__(self, fmt: str) -> str:
        _as_on_windows(fmt)
        return super().__format__(fmt)


class WindowsDate(_FormatsLikeWindows, dt.date):
    pass


class WindowsDateTime(_FormatsLikeWindows, dt.datetime):
    pass


def test_the_stand_in_refuses_what_windows_refuses() -> None:
    """The stand-ins below would let a ``%-d`` through unnoticed if they did not raise like Windows."""
    import pytest

    with pytest.raises(ValueError, match="Invalid format string"):
        f"{WindowsDate(2026, 12, 3):%-d %b}"  # noqa: B018 - formatting is the point
    with pytest.raises(ValueError, match="Invalid format string"):
        WindowsDateTime(2026, 12, 3, 9, 5).strftime("%-d %b %H:%M")


def test_every_formatter_runs_on_the_windows_code_path() -> None:
    """Each public formatter in srcdesk.dates, given dates that format like Windows' C runtime."""
    import inspect

    import srcdesk.dates as dates

    day, moment = WindowsDate(2026, 3, 1), WindowsDateTime(2026, 3, 1, 14, 5)
    expected = {"day_month_year": "1 Mar 2026", "day_month_time": "1 Mar 14:05",
                "day_month_year_time": "1 Mar 2026 14:05", "numeric_date": "01/03/2026",
                "long_date": "1 March 2026"}
    not_formatters = {"date_wanted", "parse_typed_date"}  # a sentence and a parser: no dates in
    formatters = {name: fn for name, fn in inspect.getmembers(dates, inspect.isfunction)
                  if fn.__module__ == dates.__name__ and not name.startswith("_") and name not in not_formatters}
    assert set(formatters) == set(expected), "a new formatter in srcdesk.dates needs a line here"
    for name, fn in formatters.items():
        takes_date = name in ("day_month_year", "numeric_date", "long_date")
        assert fn(day if takes_date else moment) == expected[name]
