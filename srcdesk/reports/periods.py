"""Reporting periods as the strategy uses them: plan years (1 April – 31 March) and their quarters.

A plan year is written ``2025-26``. Its quarters are written ``2025-26-Q1`` … ``2025-26-Q4`` or, as
the Steering Group's papers do, ``2025-Q1`` … ``2025-Q4`` (the plan year starting in 2025):
Q1 April–June, Q2 July–September, Q3 October–December, Q4 January–March (of 2026). Labels always
spell the months out, so nobody reads "2025-Q4" as October–December 2025.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

from ..errors import ValidationError

_YEAR = re.compile(r"^(\d{4})-(\d{2})$")
_QUARTER = re.compile(r"^(\d{4})(?:-(\d{2}))?-?Q([1-4])$", re.IGNORECASE)
_MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August", "September",
           "October", "November", "December")


@dataclass(frozen=True, order=True)
class Period:
    """A plan year or one of its quarters; ``start`` and ``end`` are both inside it."""

    start: dt.date
    end: dt.date
    kind: str  # "year" | "quarter"

    @property
    def plan_year(self) -> int:
        """The calendar year the plan year containing this period starts in."""
        return self.start.year if self.start.month >= 4 else self.start.year - 1

    @property
    def quarter(self) -> int | None:
        return (self.start.month - 4) % 12 // 3 + 1 if self.kind == "quarter" else None

    @property
    def code(self) -> str:
        """``2025-26`` or ``2025-Q3`` (parses back to this period)."""
        y = self.plan_year
        return f"{y}-{(y + 1) % 100:02d}" if self.kind == "year" else f"{y}-Q{self.quarter}"

    @property
    def label(self) -> str:
        """``Plan year 2025-26`` or ``Q3 2025-26 (October–December 2025)``."""
        y = self.plan_year
        year = f"{y}-{(y + 1) % 100:02d}"
        if self.kind == "year":
            return f"Plan year {year}"
        first, last = _MONTHS[self.start.month - 1], _MONTHS[self.end.month - 1]
        return f"Q{self.quarter} {year} ({first}–{last} {self.end.year})"

    @property
    def short_label(self) -> str:
        """``2025-26`` or ``Q3 25-26`` (chart axes)."""
        y = self.plan_year
        return self.code if self.kind == "year" else f"Q{self.quarter} {y % 100:02d}-{(y + 1) % 100:02d}"

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    def contains(self, day: dt.date) -> bool:
        return self.start <= day <= self.end

    def previous(self) -> Period:
        """The period of the same kind just before this one."""
        return period_containing(self.start - dt.timedelta(days=1), self.kind)

    def next(self) -> Period:
        return period_containing(self.end + dt.timedelta(days=1), self.kind)

    def quarters(self) -> list[Period]:
        """This period's quarters in order (a quarter is its own only quarter)."""
        if self.kind == "quarter":
            return [self]
        return [plan_quarter(self.plan_year, q) for q in (1, 2, 3, 4)]


def plan_year(start_year: int) -> Period:
    """The plan year 1 April ``start_year`` – 31 March ``start_year + 1``."""
    return Period(dt.date(start_year, 4, 1), dt.date(start_year + 1, 3, 31), "year")


def plan_quarter(start_year: int, quarter: int) -> Period:
    """Quarter 1–4 of the plan year starting in ``start_year``."""
    if quarter not in (1, 2, 3, 4):
        raise ValueError(f"quarter {quarter!r} is not 1-4")
    month = 4 + 3 * (quarter - 1)
    year = start_year + (month - 1) // 12
    month = (month - 1) % 12 + 1
    start = dt.date(year, month, 1)
    after = dt.date(year + (month + 2) // 12, (month + 2) % 12 + 1, 1)
    return Period(start, after - dt.timedelta(days=1), "quarter")


def period_containing(day: dt.date, kind: str = "quarter") -> Period:
    """The plan year or quarter a day falls in."""
    start_year = day.year if day.month >= 4 else day.year - 1
    if kind == "year":
        return plan_year(start_year)
    if kind != "quarter":
        raise ValueError(f"kind {kind!r} is not 'year' or 'quarter'")
    return plan_quarter(start_year, (day.month - 4) % 12 // 3 + 1)


def parse_period(text: str) -> Period:
    """``2025-26`` (a plan year), ``2025-Q3`` or ``2025-26-Q3`` (a quarter of plan year 2025-26).

    Raises :class:`ValidationError` with the accepted forms when it is neither.
    """
    t = (text or "").strip()
    m = _YEAR.match(t)
    if m and (int(m.group(1)) + 1) % 100 == int(m.group(2)):
        return plan_year(int(m.group(1)))
    m = _QUARTER.match(t)
    if m and (m.group(2) is None or (int(m.group(1)) + 1) % 100 == int(m.group(2))):
        return plan_quarter(int(m.group(1)), int(m.group(3)))
    raise ValidationError(
        f"{t!r} is not a period: write a plan year like 2025-26, or a quarter of one like 2025-Q3 "
        "(October–December 2025) or 2025-26-Q3.", "period")


def quarters_between(first: Period, last: Period) -> list[Period]:
    """Every quarter from the one containing ``first.start`` to the one containing ``last.end``."""
    q = period_containing(first.start)
    end = period_containing(last.end)
    out = []
    while q <= end:
        out.append(q)
        q = q.next()
    return out


def periods_offered(today: dt.date, years: int = 10, also: Period | None = None) -> list[Period]:
    """What a period picker offers, newest first: this plan year and the ``years - 1`` before it,
    each followed by its quarters that have begun (latest first); ``also`` first if it is not among
    them (a period asked for that is older)."""
    first = period_containing(today, "year").plan_year
    out: list[Period] = []
    for y in range(first, first - years, -1):
        year = plan_year(y)
        out.append(year)
        out += [q for q in reversed(year.quarters()) if q.start <= today]
    if also is not None and also not in out:
        out.insert(0, also)
    return out
