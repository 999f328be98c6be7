"""The Steering Group report's PDF (srcdesk.reports.steering) from hand-made data: what it says,
that 1–9 people never show (tables, charts, changes, the totals they could be worked out from),
the unsuppressed copy's warning on every page, page numbers, the title, embedded fonts, and an
atomic write."""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
import subprocess
from pathlib import Path

import pytest

from srcdesk.errors import Cancelled
from srcdesk.reports import steering as report
from srcdesk.reports.indicators import Ratio
from srcdesk.reports.periods import parse_period, period_containing, quarters_between

NAMES = ("HMP Addiewell", "HMP Barlinnie", "HMP Castle Huntly", "HMP Dumfries", "HMP Edinburgh")


def _values(i: int) -> dict:
    return {"sessions": 40 + 7 * i, "attendances": 300 + 31 * i, "people": 50 + 9 * i, "new_people": 12 + i,
            "signoffs": 12, "certificates_issued": 14, "certificates_revoked": 0,
            "rat_coverage": Ratio(3, 4), "facilitator_hours": 120.5 + i}


def sample(*, dumfries_people: int = 4, previous_people: int = 1400) -> report.SteeringData:
    period = parse_period("2025-Q3")
    ests = []
    for i, name in enumerate(NAMES):
        values = _values(i)
        if name == "HMP Dumfries":
            values["people"] = dumfries_people
        ests.append(report.EstablishmentFigures(name[4:7].upper(), name, values, focus=i == 1))
    quarters = quarters_between(period_containing(dt.date(2023, 10, 1)), period)
    return report.SteeringData(
        period=period, scope="All establishments", national=True, prepared_by="Ann Officer",
        prepared_on=dt.date(2026, 1, 12),
        figures={"sessions": 1234, "attendances": 9876, "people": 1500, "new_people": 300, "signoffs": 77,
                 "certificates_issued": 55, "certificates_revoked": 3, "rat_coverage": Ratio(5, 6),
                 "facilitator_hours": 2345.5},
        previous={"sessions": 1100, "attendances": 9000, "people": previous_people, "new_people": 320,
                  "signoffs": 70, "certificates_issued": 60, "certificates_revoked": 0, "rat_coverage": Ratio(4, 6),
                  "facilitator_hours": 2200.0},
        establishments=ests, quarters=quarters,
        trends={"people": [1200, 1300, 1250, 1400, 1380, 1450, 1420, 1500][-len(quarters):],
                "sessions": [900, 1000, 1100, 1050, 1150, 1200, 1100, 1234][-len(quarters):],
                "rat_coverage": [Ratio(1, 2)] * len(quarters)},
        trend_targets={"rat_coverage": 1.0, "sessions": 4400},
        targets=[report.TargetProgress("rat_coverage", None, 1.0, Ratio(5, 6), "RAT for every recruit cohort"),
                 report.TargetProgress("sessions", None, 4400, 1234, "Sessions across the estate")],
        focus=["HMP Barlinnie"], plan_year="Plan year 2025-26",
        freshness=[report.Staleness("HMP Barlinnie", dt.datetime(2025, 11, 1, 9), 41),
                   report.Staleness("HMP Perth", dt.datetime(2025, 12, 10, 9), 3),
                   report.Staleness("HMP Shotts", None, None)],
        notes="The group met on 4 December.\n\nRAT reached five of six cohorts <one> was moved & will be in Q4.")


def pdftotext(path: Path, page: int | None = None) -> str:
    pages = ["-f", str(page), "-l", str(page)] if page else []
    return subprocess.run(["pdftotext", "-layout", *pages, str(path), "-"], check=True, capture_output=True,
                          text=True).stdout


def pdfinfo(path: Path) -> dict[str, str]:
    out = subprocess.run(["pdfinfo", str(path)], check=True, capture_output=True, text=True).stdout
    return {k.strip(): v.strip() for k, _, v in (line.partition(":") for line in out.splitlines())}


def _line(text: str, start: str) -> str:
    return next(line for line in text.splitlines() if line.strip().startswith(start))


def test_the_report_says_what_the_steering_group_needs(tmp_path: Path) -> None:
    path = report.write_pdf(sample(), tmp_path / "report.pdf")
    text = pdftotext(path)
    pages = int(pdfinfo(path)["Pages"])
    assert pages >= 5
    cover = pdftotext(path, 1)
    for words in ("Scottish Recovery Consortium", "Scottish Prison Service", "Recovery Strategy Steering Group",
                  "Q3 2025-26 (October–December 2025)", "Prepared by Ann Officer", "12 January 2026"):
        assert words in cover
    assert "1,234" in _line(text, "Sessions held") and "+134 (+12%)" in _line(text, "Sessions held")
    assert "−5 (−8.3%)" in _line(text, "Certificates issued")  # 55 against 60
    assert "+17 points" in _line(text, "RAT coverage")  # 83% against 67%
    assert "Focus establishments, Plan year 2025-26: HMP Barlinnie." in text
    assert "May be incomplete: last bundle 41 days ago" in text
    assert "No bundle received here yet" in _line(text, "HMP Shotts")
    assert "<one> was moved & will be in Q4." in text  # the officer's notes, as typed
    for n in range(1, pages + 1):
        assert f"Page {n} of {pages}" in pdftotext(path, n)
    assert "Not for circulation" not in text
    assert pdfinfo(path)["Title"] == "Recovery Strategy Steering Group: Q3 2025-26 (October–December 2025)"


def test_a_trend_with_no_figure_or_a_single_one_is_drawn(tmp_path: Path) -> None:
    """No recruit cohort started in any quarter (RAT coverage has no figure, but a target); one
    quarter's people hidden: ReportLab refuses a line with no points, so none is drawn."""
    data = sample()
    n = len(data.quarters)
    data.trends["rat_coverage"] = [Ratio(0, 0)] * n
    data.trends["people"] = [1200] * (n - 1) + [4]
    path = report.write_pdf(data, tmp_path / "report.pdf")
    assert "RAT coverage" in pdftotext(path)


def test_every_font_is_embedded(tmp_path: Path) -> None:
    path = report.write_pdf(sample(), tmp_path / "report.pdf")
    fonts = subprocess.run(["pdffonts", str(path)], check=True, capture_output=True, text=True).stdout.splitlines()[2:]
    assert fonts and all(" yes yes " in line for line in fonts), fonts
    assert not any("Helvetica" in line for line in fonts)


def test_small_numbers_show_as_under_10_in_tables_and_charts(tmp_path: Path) -> None:
    text = pdftotext(report.write_pdf(sample(dumfries_people=4), tmp_path / "report.pdf"))
    table_row = [line for line in text.splitlines() if line.strip().startswith("HMP Dumfries")]
    assert sum("<10" in line for line in table_row) >= 2  # the people chart's label and the table's row
    for line in table_row:
        assert not re.search(r"(?<![\d,.])4(?![\d,.%])", line), line
    assert "10.0" not in text  # a hidden bar is drawn at 10, and never labelled with it
    # Only Dumfries is hidden in that column: the next smallest (Addiewell's 50) is withheld too.
    assert "*" in _line(text, "HMP Addiewell") and " 50 " not in _line(text, "HMP Addiewell")
    assert report.WITHHELD_NOTE.split(":")[0] in text


def test_nothing_in_the_file_tells_3_from_8_people(tmp_path: Path) -> None:
    """Two establishments' worth of data that differ only in a hidden figure give the same bytes:
    no table, bar, label or change lets a reader measure it. Without suppression they differ."""
    three, eight = sample(dumfries_people=3), sample(dumfries_people=8)
    assert report.pdf_bytes(three) == report.pdf_bytes(eight)
    assert report.pdf_bytes(three, suppressed=False) != report.pdf_bytes(eight, suppressed=False)


def test_a_change_from_a_hidden_figure_is_not_given(tmp_path: Path) -> None:
    data = dataclasses.replace(sample(), figures={**sample().figures, "people": 15},
                               previous={**sample().previous, "people": 6})
    line = _line(pdftotext(report.write_pdf(data, tmp_path / "r.pdf")), "People taking part")
    assert "<10" in line and "+9" not in line and "15" in line
    shown = report.Shown(True)
    assert shown.change("people", 15, 6) == "–"
    assert shown.change("people", 15, 12) == "+3 (+25%)" and shown.change("people", 15, 15) == "no change"
    assert shown.change("rat_coverage", Ratio(1, 2), Ratio(2, 4)) == "no change"
    assert report.Shown(False).change("people", 15, 6) == "+9 (+150%)"


def test_the_unsuppressed_copy_says_not_for_circulation_on_every_page(tmp_path: Path) -> None:
    path = report.write_pdf(sample(dumfries_people=4), tmp_path / "internal.pdf", suppressed=False)
    pages = int(pdfinfo(path)["Pages"])
    for n in range(1, pages + 1):
        assert report.NOT_FOR_CIRCULATION in pdftotext(path, n)
    assert "<10" not in pdftotext(path)
    assert re.search(r"HMP Dumfries\s.*\s4\s", pdftotext(path))


def test_secondary_suppression_only_when_one_figure_is_hidden() -> None:
    shown = report.Shown(True)
    assert shown.column("people", [50, 4, 30, 0]) == ["50", "<10", report.WITHHELD, "0"]
    assert shown.column("people", [50, 4, 3, 30]) == ["50", "<10", "<10", "30"]
    assert shown.column("sessions", [50, 4, 30]) == ["50", "4", "30"]  # sessions are not people
    assert report.Shown(False).column("people", [50, 4, 30]) == ["50", "4", "30"]


def test_progress_is_reported_and_a_cancelled_report_leaves_the_old_file(tmp_path: Path) -> None:
    path = tmp_path / "report.pdf"
    path.write_bytes(b"the old one")
    seen: list[tuple[int, str]] = []
    with pytest.raises(Cancelled):
        report.write_pdf(sample(), path, progress=lambda d, t, w: seen.append((d, w)), cancelled=lambda: len(seen) >= 2)
    assert path.read_bytes() == b"the old one"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["report.pdf"]
    seen.clear()
    report.write_pdf(sample(), path, progress=lambda d, t, w: seen.append((d, w)))
    assert path.read_bytes().startswith(b"%PDF") and [d for d, _w in seen] == list(range(1, len(seen) + 1))
    assert len(seen) == int(pdfinfo(path)["Pages"])


def test_a_folder_that_cannot_be_written_says_so(tmp_path: Path) -> None:
    with pytest.raises(report.NotSaved, match="could not be saved"):
        report.write_pdf(sample(), tmp_path / "no such folder" / "r.pdf")


def test_one_establishments_report_charts_its_programmes(tmp_path: Path) -> None:
    data = dataclasses.replace(sample(), national=False, scope="HMP Perth", establishments=[],
                               sessions_by_programme=[("Recovery Café", 40), ("SMART Recovery", 12)])
    path = report.write_pdf(data, tmp_path / "perth.pdf")
    text = pdftotext(path)
    assert "Sessions held by programme and activity" in text and "Recovery Café" in text
    assert "Figures by establishment" not in text
    assert pdfinfo(path)["Title"].endswith(", HMP Perth")
