import datetime as dt

import pytest

from srcdesk.errors import ValidationError
from srcdesk.reports.periods import parse_period, period_containing, plan_quarter, plan_year, quarters_between


def test_plan_year_runs_april_to_march() -> None:
    p = parse_period("2025-26")
    assert (p.start, p.end, p.kind, p.code) == (dt.date(2025, 4, 1), dt.date(2026, 3, 31), "year", "2025-26")
    assert p.label == "Plan year 2025-26"
    assert p.days == 365
    assert parse_period("2023-24").days == 366  # 29 February 2024


@pytest.mark.parametrize(("text", "start", "end"), [
    ("2025-Q1", dt.date(2025, 4, 1), dt.date(2025, 6, 30)),
    ("2025-Q2", dt.date(2025, 7, 1), dt.date(2025, 9, 30)),
    ("2025-q3", dt.date(2025, 10, 1), dt.date(2025, 12, 31)),
    ("2025-26-Q4", dt.date(2026, 1, 1), dt.date(2026, 3, 31)),
])
def test_quarters_of_the_plan_year(text: str, start: dt.date, end: dt.date) -> None:
    p = parse_period(text)
    assert (p.start, p.end, p.kind) == (start, end, "quarter")
    assert parse_period(p.code) == p


def test_labels_spell_the_months_out() -> None:
    assert parse_period("2025-Q4").label == "Q4 2025-26 (January–March 2026)"
    assert parse_period("2025-Q3").short_label == "Q3 25-26"


@pytest.mark.parametrize("day", [dt.date(2025, 3, 31), dt.date(2025, 4, 1), dt.date(2025, 12, 31),
                                 dt.date(2026, 1, 1), dt.date(2024, 2, 29)])
def test_every_day_is_in_exactly_its_quarter_and_year(day: dt.date) -> None:
    q, y = period_containing(day), period_containing(day, "year")
    assert q.contains(day) and y.contains(day)
    assert q in y.quarters()
    assert q.previous().end + dt.timedelta(days=1) == q.start
    assert q.next().start - dt.timedelta(days=1) == q.end
    assert y.previous() == plan_year(y.plan_year - 1)


def test_quarters_between_spans_plan_years() -> None:
    qs = quarters_between(plan_quarter(2024, 4), plan_year(2025))
    assert [q.code for q in qs] == ["2024-Q4", "2025-Q1", "2025-Q2", "2025-Q3", "2025-Q4"]


@pytest.mark.parametrize("text", ["", "2025", "2025-27", "2025-Q5", "2025-27-Q1", "Q3", "25-26"])
def test_what_is_not_a_period_is_refused_with_the_forms(text: str) -> None:
    with pytest.raises(ValidationError, match="2025-26"):
        parse_period(text)


def test_periods_offered_newest_first_with_begun_quarters_only() -> None:
    from srcdesk.reports.periods import periods_offered

    today = dt.date(2025, 11, 12)
    assert [p.code for p in periods_offered(today, years=2)] == [
        "2025-26", "2025-Q3", "2025-Q2", "2025-Q1", "2024-25", "2024-Q4", "2024-Q3", "2024-Q2", "2024-Q1"]
    assert plan_quarter(2025, 4) not in periods_offered(today)  # not begun
    assert periods_offered(today, 5, also=plan_year(2015))[0] == plan_year(2015)  # asked for: offered first
    assert len(periods_offered(today, 5, also=plan_quarter(2025, 1))) == len(periods_offered(today, 5))
