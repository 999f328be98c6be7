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
