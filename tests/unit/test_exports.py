"""Exports: the XLSX/CSV writer (read back from the files themselves) and the export service
(what, who, scope, the export record, cancel)."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import re
import zipfile
from pathlib import Path
from xml.etree import ElementTree as ET

import pytest
from sqlalchemy import select

from srcdesk.errors import Cancelled, PermissionDenied, ValidationError
from srcdesk.models import ExportRecord
from srcdesk.reports import exports as writer
from srcdesk.reports.exports import DATE, INTEGER, NUMBER, TEXT, YES_NO, Column, csv_cell, write_rows
from srcdesk.services import attendance, exports, people, sessions
from srcdesk.services.attendance import RegisterEntry
from srcdesk.services.base import Context

NS = {"m": "http://schemas.openxmlformats.org/spreadsheetml/2006/main"}
DAY = dt.date(2026, 3, 31)
COLUMNS = (Column("Date", DATE), Column("Name", TEXT), Column("Count", INTEGER), Column("Hours", NUMBER),
           Column("Attended", YES_NO))
ROWS = [(DAY, "=HYPERLINK(\"http://x\")", 5, 1.5, True), (dt.date(2025, 4, 1), "Ann £ Ç", -3, None, False),
        (None, None, "<10", 2.25, None)]


# -- reading an XLSX back (no openpyxl: the zip's XML) ------------------------------------------------


class Sheet:
    def __init__(self, path: Path) -> None:
        with zipfile.ZipFile(path) as z:
            self.names = z.namelist()
            self.xml = z.read("xl/worksheets/sheet1.xml").decode()
            self.root = ET.fromstring(self.xml)
            self.shared = []
            if "xl/sharedStrings.xml" in self.names:
                sst = ET.fromstring(z.read("xl/sharedStrings.xml"))
                self.shared = ["".join(t.text or "" for t in si.iter(f"{{{NS['m']}}}t")) for si in sst]
            styles = ET.fromstring(z.read("xl/styles.xml"))
            fmts = {f.get("numFmtId"): f.get("formatCode") for f in styles.iter(f"{{{NS['m']}}}numFmt")}
            xfs = styles.find("m:cellXfs", NS)
            self.style_format = [fmts.get(xf.get("numFmtId")) for xf in xfs]
            self.tables = [z.read(n).decode() for n in self.names if n.startswith("xl/tables/")]

    def cells(self) -> dict[str, tuple[str | None, str | None, str | None]]:
        """A1 -> (type, value, number format)."""
        out = {}
        for c in self.root.iter(f"{{{NS['m']}}}c"):
            t = c.get("t")
            v = c.find("m:v", NS)
            value = v.text if v is not None else "".join(x.text or "" for x in c.iter(f"{{{NS['m']}}}t")) or None
            if t == "s":
                value = self.shared[int(value)]
            assert c.find("m:f", NS) is None, "no cell of an export is a formula"
            out[c.get("r")] = (t, value, self.style_format[int(c.get("s", "0"))])
        return out

    def frozen_header(self) -> bool:
        pane = self.root.find("m:sheetViews/m:sheetView/m:pane", NS)
        return pane is not None and pane.get("ySplit") == "1" and pane.get("state") == "frozen"


def test_xlsx_small_is_a_real_table_with_typed_cells(tmp_path: Path) -> None:
    path = tmp_path / "out.xlsx"
    assert write_rows(path, "xlsx", COLUMNS, ROWS, title="Sessions") == 3
    sheet = Sheet(path)
    assert sheet.frozen_header()
    assert len(sheet.tables) == 1 and 'ref="A1:E4"' in sheet.tables[0] and "<autoFilter" in sheet.tables[0]
    assert [re.search(r'name="([^"]+)"', c).group(1) for c in re.findall(r"<tableColumn [^>]+>", sheet.tables[0])] \
        == ["Date", "Name", "Count", "Hours", "Attended"]
    cells = sheet.cells()
    assert cells["A1"][1] == "Date" and cells["E1"][1] == "Attended"
    t, value, fmt = cells["A2"]
    assert t is None and float(value) == 46112 and fmt == "dd/mm/yyyy"  # 31/03/2026 as an Excel date
    assert cells["B2"][:2] == ("s", '=HYPERLINK("http://x")')  # text, never a formula
    assert cells["C2"][:2] == (None, "5") and cells["D2"][1] == "1.5" and cells["C3"][1] == "-3"
    assert cells["E2"][:2] == ("b", "1") and cells["E3"][:2] == ("b", "0") and cells["B3"][1] == "Ann £ Ç"
    assert cells["C4"][:2] == ("s", "<10")  # a suppressed figure stays text
    assert "A4" not in cells and "B4" not in cells  # None: an empty cell
    cols = ET.fromstring(sheet.xml).find("m:cols", NS)
    widths = {n: float(c.get("width")) for c in cols for n in range(int(c.get("min")), int(c.get("max")) + 1)}
    assert sorted(widths) == [1, 2, 3, 4, 5] and min(widths.values()) > 6
    assert widths[2] > widths[5]  # the long text's column is wider


def test_xlsx_large_streams_with_an_autofilter_and_frozen_header(tmp_path: Path, monkeypatch) -> None:  # noqa: ANN001
    monkeypatch.setattr(writer, "TABLE_ROWS", 5)
    path = tmp_path / "big.xlsx"
    rows = ((DAY + dt.timedelta(days=i), f"row {i}", i, i / 2, i % 2 == 0) for i in range(12))
    assert write_rows(path, "xlsx", COLUMNS, rows) == 12
    sheet = Sheet(path)
    assert sheet.frozen_header() and not sheet.tables  # constant memory: no add_table()
    assert re.search(r'<autoFilter ref="A1:E13"/>', sheet.xml)
    cells = sheet.cells()
    assert cells["B13"][:2] == ("inlineStr", "row 11") and cells["C13"][1] == "11"
    assert cells["A13"][2] == "dd/mm/yyyy" and float(cells["A13"][1]) == 46112 + 11
    assert not list(tmp_path.glob("*.part")) and sorted(p.name for p in tmp_path.iterdir()) == ["big.xlsx"]


AWKWARD = ("plain", "tab\there", "bell\x07", "nul\x00x", "_x0041_ literal", "_X00e9_ too", "not _xZZZZ_",
           "non-char \ufffe\uffff", " lead", "trail ", "a & b < c > d \"q\"", "line\nbreak", "£ Ç ✓ 😀", "=1+2", "")


@pytest.mark.parametrize("table_rows", [3, 10_000])  # constant memory (streamed rows), and a real table
def test_xlsx_sheet_is_what_xlsxwriters_own_worksheet_writes(tmp_path: Path, monkeypatch, table_rows: int) -> None:  # noqa: ANN001
    """The faster worksheet (escape only the cells that need it, a row's XML in one write) writes
    the very same sheet as XlsxWriter's stock Worksheet, byte for byte, awkward strings included."""
    from xlsxwriter.worksheet import Worksheet

    monkeypatch.setattr(writer, "TABLE_ROWS", table_rows)
    rows = [(DAY + dt.timedelta(days=i), text, i, i / 4, i % 3 == 0) for i, text in enumerate(AWKWARD * 3)]
    ours, stock = tmp_path / "ours.xlsx", tmp_path / "stock.xlsx"
    assert write_rows(ours, "xlsx", COLUMNS, rows) == len(rows)
    assert writer._sheet_class() is not Worksheet
    monkeypatch.setattr(writer, "_sheet_class", lambda: Worksheet)
    assert write_rows(stock, "xlsx", COLUMNS, rows) == len(rows)
    with zipfile.ZipFile(ours) as a, zipfile.ZipFile(stock) as b:
        assert a.namelist() == b.namelist()
        for name in a.namelist():
            if name != "docProps/core.xml":  # holds the time it was written
                assert a.read(name) == b.read(name), name
    xml = Sheet(ours).xml
    assert "_x0007_" in xml and "_x005F_x0041_" in xml and "_xFFFE__xFFFF_" in xml or table_rows > len(rows)
    assert ("inlineStr" in xml) == (len(rows) > table_rows)


def test_rows_past_a_sheets_limit_go_on_on_the_next_sheet(tmp_path: Path, monkeypatch) -> None:  # noqa: ANN001
    monkeypatch.setattr(writer, "TABLE_ROWS", 2)
    monkeypatch.setattr(writer, "XLSX_MAX_ROWS", 5)  # a header and 4 rows a sheet
    path = tmp_path / "long.xlsx"
    assert write_rows(path, "xlsx", COLUMNS, ((DAY, f"row {i}", i, 0.5, True) for i in range(10)),
                      title="Attendance") == 10
    with zipfile.ZipFile(path) as z:
        sheets = sorted(n for n in z.namelist() if n.startswith("xl/worksheets/sheet"))
        book = z.read("xl/workbook.xml").decode()
        third = z.read("xl/worksheets/sheet3.xml").decode()
    assert sheets == ["xl/worksheets/sheet1.xml", "xl/worksheets/sheet2.xml", "xl/worksheets/sheet3.xml"]
    assert 'name="Attendance"' in book and 'name="Attendance (2)"' in book and 'name="Attendance (3)"' in book
    assert '<autoFilter ref="A1:E3"/>' in third and "row 9" in third and "Date" in third
    assert '<autoFilter ref="A1:E5"/>' in Sheet(path).xml


def test_csv_has_a_bom_and_no_formulas(tmp_path: Path) -> None:
    path = tmp_path / "out.csv"
    write_rows(path, "csv", COLUMNS, ROWS)
    raw = path.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf") and b"\r\n" in raw
    rows = list(csv.reader(io.StringIO(raw.decode("utf-8-sig"))))
    assert rows[0] == ["Date", "Name", "Count", "Hours", "Attended"]
    assert rows[1] == ["2026-03-31", "'=HYPERLINK(\"http://x\")", "5", "1.5", "Yes"]
    assert rows[2] == ["2025-04-01", "Ann £ Ç", "-3", "", "No"]  # a negative number stays a number
    assert rows[3] == ["", "", "<10", "2.25", ""]
    # the one guard, shared with `srcdesk certificates eligible --format csv`
    assert [csv_cell(v) for v in ("+1", "-x", "@a", "\tb", "ok", None)] == ["'+1", "'-x", "'@a", "'\tb", "ok", ""]


@pytest.mark.parametrize("fmt", ["xlsx", "csv"])
def test_cancel_leaves_no_file_and_an_old_one_untouched(tmp_path: Path, monkeypatch, fmt: str) -> None:  # noqa: ANN001
    monkeypatch.setattr(writer, "PROGRESS_EVERY", 3)
    monkeypatch.setattr(writer, "TABLE_ROWS", 4)
    target = tmp_path / f"out.{fmt}"
    target.write_text("the old one")
    seen: list[int] = []
    rows = ((DAY, "x", i, 0.5, True) for i in range(100))
    with pytest.raises(Cancelled):
        write_rows(target, fmt, COLUMNS, rows, progress=lambda done, total, what: seen.append(done),
                   cancelled=lambda: len(seen) >= 2)
    assert seen == [3, 6]
    assert target.read_text() == "the old one"
    assert sorted(p.name for p in tmp_path.iterdir()) == [target.name]


def test_a_failure_before_the_name_leaves_nothing(tmp_path: Path) -> None:
    def refuse(_rows: int) -> None:
        raise PermissionDenied("no")

    with pytest.raises(PermissionDenied):
        write_rows(tmp_path / "x.csv", "csv", COLUMNS, ROWS, before_replace=refuse)
    assert list(tmp_path.iterdir()) == []


# -- the service -------------------------------------------------------------------------------


@pytest.fixture
def out(tmp_path: Path) -> Path:
    """A folder for the exports alone (the data folder is beside it)."""
    folder = tmp_path / "exports"
    folder.mkdir()
    return folder


def _records(ctx: Context) -> list[ExportRecord]:
    with ctx.db.read() as s:
        return list(s.execute(select(ExportRecord).order_by(ExportRecord.exported_at)).scalars())


def _register(ctx: Context, day: dt.date, start: str, *people_ids: str, module: str = "mod-rat-01") -> str:
    s = sessions.create_session(ctx, date=day, start_time=start, end_time="23:00", module_id=module)
    for pid in people_ids:
        attendance.add_to_register(ctx, s.id, RegisterEntry(pid, "present", "participant"))
    return s.id


def test_sessions_export_needs_only_figures_and_is_recorded(ctx: Context, recorder: Context, out: Path) -> None:
    _register(ctx, DAY, "10:00")
    _register(ctx, DAY - dt.timedelta(days=40), "10:00")
    path = out / "sessions.xlsx"
    result = exports.export(recorder, "sessions", path, file_format="xlsx",
                            filters={"date_from": DAY - dt.timedelta(days=7), "search": ""})
    assert result.rows == 1 and result.message() == "Exported 1 row of sessions to sessions.xlsx."
    cells = Sheet(path).cells()
    assert cells["E2"][1] == "Recovery awareness for new recruits" or cells["E2"][1]
    assert cells["D2"][1] == "PER" and "A3" not in cells
    [rec] = _records(ctx)
    assert (rec.what, rec.personal, rec.file_format, rec.rows, rec.file_name, rec.user_name) == (
        "sessions", False, "xlsx", 1, "sessions.xlsx", "Recorder")
    assert json.loads(rec.filters) == {"date_from": (DAY - dt.timedelta(days=7)).isoformat(),
                                       "establishment_id": ctx.installation.establishment_id}
    assert rec.id == result.record_id and str(out) not in rec.file_name


def test_personal_exports_need_a_coordinator(ctx: Context, recorder: Context, coordinator: Context,
                                             out: Path) -> None:
    people.create_person(ctx, given_name="Ada", family_name="Adams", external_ref="A10000")
    for what, filters in (("people", {}), ("attendance", {}), ("certificates", {}), ("eligible", {})):
        with pytest.raises(PermissionDenied, match="Only a coordinator can export lists with people's names"):
            exports.export(recorder, what, out / f"{what}.csv", file_format="csv", filters=filters)
        assert exports.refusal(recorder, what).startswith("Only a coordinator")
        assert exports.refusal(coordinator, what) == ""
    assert list(out.iterdir()) == [] and _records(ctx) == []
    result = exports.export(coordinator, "people", out / "people.csv", file_format="csv")
    assert result.rows == 1
    rows = list(csv.reader(io.StringIO((out / "people.csv").read_text("utf-8-sig"))))
    assert rows[1][:2] == ["Adams", "Ada"] and rows[1][4] == "A10000"
    [rec] = _records(ctx)
    assert rec.personal and rec.what == "people" and rec.user_name == "Coordinator"


def test_attendance_is_one_row_per_register_entry_in_keyset_pages(ctx: Context, out: Path,
                                                                  monkeypatch) -> None:  # noqa: ANN001
    monkeypatch.setattr(exports, "PAGE", 2)  # sessions on the same day and time cross page boundaries
    ada = people.create_person(ctx, given_name="Ada", family_name="Adams", external_ref="A1")
    bob = people.create_person(ctx, given_name="Bob", family_name="Brown", external_ref="B2")
    for n in range(5):
        _register(ctx, DAY - dt.timedelta(days=n // 2), "10:00", ada.id, bob.id)
    _register(ctx, DAY - dt.timedelta(days=30), "10:00", ada.id)  # before the period asked for
    result = exports.export(ctx, "attendance", out / "a.csv", file_format="csv",
                            filters={"date_from": DAY - dt.timedelta(days=3), "date_to": DAY})
    assert result.rows == 10
    rows = list(csv.DictReader(io.StringIO((out / "a.csv").read_text("utf-8-sig"))))
    assert [r["Prison number"] for r in rows] == ["A1", "B2"] * 5
    assert [r["Date"] for r in rows] == sorted(r["Date"] for r in rows)
    assert {r["Status"] for r in rows} == {"Present"} and {r["Attended"] for r in rows} == {"Yes"}
    assert rows[0]["Establishment"] == "PER" and rows[0]["Family name"] == "Adams"


def test_one_sessions_register(ctx: Context, out: Path) -> None:
    ada = people.create_person(ctx, given_name="Ada", family_name="Adams")
    bob = people.create_person(ctx, given_name="Bob", family_name="Brown")
    sid = _register(ctx, DAY, "10:00", ada.id, bob.id)
    _register(ctx, DAY, "14:00", ada.id)
    result = exports.export(ctx, "register", out / "r.xlsx", file_format="xlsx", filters={"session_id": sid})
    assert result.rows == 2
    cells = Sheet(out / "r.xlsx").cells()
    assert cells["H2"][1] == "Adams" and cells["H3"][1] == "Brown" and "A4" not in cells
    with pytest.raises(ValidationError):
        exports.export(ctx, "register", out / "r2.xlsx", file_format="xlsx")


def test_an_establishment_exports_only_its_own(ctx: Context, out: Path) -> None:
    from srcdesk.models import Establishment

    with ctx.db.read() as s:
        other = s.execute(select(Establishment.id).where(Establishment.code == "BAR")).scalar_one()
    for what in ("sessions", "attendance", "people"):
        with pytest.raises(PermissionDenied, match="own records only"):
            exports.export(ctx, what, out / "x.csv", file_format="csv", filters={"establishment_id": other})
    assert _records(ctx) == [] and list(out.iterdir()) == []
    with pytest.raises(ValidationError, match="can't be filtered by colour"):
        exports.export(ctx, "sessions", out / "x.csv", file_format="csv", filters={"colour": "red"})


def test_the_office_exports_one_establishment_or_all(office: Context, out: Path) -> None:
    from srcdesk.models import Establishment

    with office.db.read() as s:
        per = s.execute(select(Establishment.id).where(Establishment.code == "PER")).scalar_one()
    a = people.create_person(office, given_name="Ann", family_name="Per", establishment_id=per)
    people.create_person(office, given_name="Bea", family_name="Nowhere")
    everyone = exports.export(office, "people", out / "all.csv", file_format="csv")
    theirs = exports.export(office, "people", out / "per.csv", file_format="csv",
                            filters={"establishment_id": per})
    assert (everyone.rows, theirs.rows) == (2, 1)
    assert a.given_name in (out / "per.csv").read_text("utf-8-sig")


def test_a_cancelled_export_is_not_recorded(ctx: Context, out: Path, monkeypatch) -> None:  # noqa: ANN001
    monkeypatch.setattr(writer, "PROGRESS_EVERY", 1)
    for n in range(3):
        _register(ctx, DAY - dt.timedelta(days=n), "10:00")
    with pytest.raises(Cancelled):
        exports.export(ctx, "sessions", out / "s.xlsx", file_format="xlsx", cancelled=lambda: True)
    assert _records(ctx) == [] and list(out.iterdir()) == []


def test_indicators_by_establishment_with_small_numbers_suppressed(office: Context, out: Path,
                                                                    monkeypatch) -> None:  # noqa: ANN001
    from srcdesk.models import Establishment
    from srcdesk.reports import indicators

    with office.db.read() as s:
        ids = dict(s.execute(select(Establishment.code, Establishment.id)).all())
    values = {"sessions": 7, "attendances": 4, "people": 12, "new_people": 0, "signoffs": 0,
              "certificates_issued": 0, "certificates_revoked": 0, "rat_coverage": indicators.Ratio(2, 3),
              "facilitator_hours": 10.5}
    monkeypatch.setattr(indicators, "by_establishment", lambda s, period: {ids["PER"]: values, ids["BAR"]: values})
    monkeypatch.setattr(indicators, "figures", lambda s, period, est=None: indicators.Figures(period, est, values))
    monkeypatch.setattr(indicators, "suppress", lambda v, about_people=True: "<10" if 1 <= v <= 9 else str(v))
    result = exports.export(office, "indicators", out / "i.csv", file_format="csv",
                            filters={"period": "2025-Q3"})
    assert result.rows == 3
    rows = list(csv.DictReader(io.StringIO((out / "i.csv").read_text("utf-8-sig"))))
    assert [r["Code"] for r in rows] == ["BAR", "PER", ""] and rows[2]["Establishment"] == "All establishments"
    assert rows[0]["Sessions held"] == "7" and rows[0]["Attendances"] == "<10" and rows[0]["People taking part"] == "12"
    assert rows[0]["Facilitator hours"] == "10.5" and rows[0]["RAT coverage: cohorts with"] == "2"
    assert "October–December 2025" in rows[0]["Period"]
    [rec] = _records(office)
    assert not rec.personal and json.loads(rec.filters) == {"period": "2025-Q3", "suppress": True}
    plain = exports.export(office, "indicators", out / "i.xlsx", file_format="xlsx",
                           filters={"period": "2025-26", "suppress": False})
    assert Sheet(plain.path).cells()["E2"][1] == "4"


def test_export_log_newest_first(ctx: Context, out: Path) -> None:
    exports.export(ctx, "sessions", out / "one.csv", file_format="csv")
    exports.export(ctx, "people", out / "two.xlsx", file_format="xlsx")
    log = exports.export_log(ctx)
    assert [(r.what, r.file_name, r.file_format, r.personal) for r in log] == [
        ("people", "two.xlsx", "xlsx", True), ("sessions", "one.csv", "csv", False)]


def test_indicators_at_an_establishment_are_its_own_row(ctx: Context, recorder: Context, out: Path) -> None:
    """With helper A's indicators themselves: one session, one person attending, in 2025-Q3."""
    ada = people.create_person(ctx, given_name="Ada", family_name="Adams")
    _register(ctx, dt.date(2025, 11, 5), "10:00", ada.id)
    result = exports.export(recorder, "indicators", out / "i.csv", file_format="csv", filters={"period": "2025-Q3"})
    assert result.rows == 1  # its own establishment, no national total
    [row] = list(csv.DictReader(io.StringIO((out / "i.csv").read_text("utf-8-sig"))))
    assert row["Code"] == "PER" and row["Sessions held"] == "1"
    assert row["Attendances"] == "<10" and row["People taking part"] == "<10"
    exports.export(recorder, "indicators", out / "plain.csv", file_format="csv",
                   filters={"period": "2025-Q3", "suppress": False})
    [row] = list(csv.DictReader(io.StringIO((out / "plain.csv").read_text("utf-8-sig"))))
    assert row["Attendances"] == "1" and row["People taking part"] == "1"
