"""Write rows with typed columns to an Excel workbook (XlsxWriter) or a CSV file, for every export.

One writer serves every list's "Export…", ``srcdesk export …`` and the bench::

    columns = (Column("Date", DATE), Column("Session"), Column("Present", INTEGER))
    n = write_rows(path, "xlsx", columns, rows, title="Sessions", progress=report, cancelled=stop.is_set)

Rows are read once, as they come (an iterator over keyset pages of the database), so an export
of any size takes bounded memory.

XLSX: dates are Excel dates (shown day/month/year), times of day Excel times, numbers are numbers,
yes/no columns Excel's TRUE/FALSE (CSV: Yes/No), text is always written as text (a cell starting with "=" is never run as a formula), the header row is frozen and filters
sit on every column; columns are as wide as their heading and the first rows need. A list of up to
:data:`TABLE_ROWS` rows becomes a real Excel table (banded rows, filter buttons, referable by
name). A longer one is written in XlsxWriter's ``constant_memory`` mode, which streams each row to
disk as it is written instead of keeping every cell until the end; that mode does not support
``add_table()`` (a table's header cells and range are written into cells the mode has already
flushed), so the long sheet gets the same frozen header with an ``autofilter()`` over all its
rows instead: the same filter buttons, without the table's banding. The first rows are held back
to choose: fewer than :data:`TABLE_ROWS` and the source has ended. Past Excel's 1,048,576 rows a
sheet, the rows go on on a second sheet ("Attendance (2)"), with the same header.

CSV: UTF-8 with a byte-order mark (Excel then reads accents and "£" right), dates as ISO
``2026-03-31``, and every text cell that a spreadsheet would run as a formula gets a leading
apostrophe (:func:`csv_cell`, also used by ``srcdesk certificates eligible --format csv``).

Either way the file appears whole or not at all: it is written to a temporary file beside the
target and moved over it (``os.replace``) at the end. ``progress(done, total, what)`` is called
every :data:`PROGRESS_EVERY` rows; ``cancelled()`` is asked as often, and if it says so the
temporary file is removed, the target is untouched and :class:`~srcdesk.errors.Cancelled` is
raised. ``before_replace(rows)`` runs once the file is complete and before it takes the target's
name (the services record the export there: no file appears that the export record lacks).
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import itertools
import os
import re
import tempfile
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import Cancelled, SrcdeskError

TEXT, INTEGER, NUMBER, DATE, DATETIME, TIME, YES_NO = ("text", "integer", "number", "date", "datetime", "time",
                                                      "yes_no")
KINDS = (TEXT, INTEGER, NUMBER, DATE, DATETIME, TIME, YES_NO)
FORMATS = ("xlsx", "csv")

TABLE_ROWS = 20_000  # up to this many rows: a real Excel table; more: constant memory and an autofilter
PROGRESS_EVERY = 2_000  # rows between progress reports and cancel checks
WIDTH_SAMPLE = 500  # rows looked at to size the columns
MAX_WIDTH = 60  # characters
XLSX_MAX_ROWS = 1_048_576  # Excel's limit of rows on a sheet, header included: more go on the next sheet
XLSX_MAX_TEXT = 32_767  # characters in one cell

Progress = Callable[[int, int, str], Any]


class ExportNotSaved(SrcdeskError):
    """The export could not be written where it was asked for (the message says where and why)."""


@dataclass(frozen=True)
class Column:
    """One column of an export: its heading and what its values are (see :data:`KINDS`)."""

    heading: str
    kind: str = TEXT
    width: int | None = None  # characters; None: from the heading and the first rows

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"column kind {self.kind!r} is not one of {KINDS}")


# A cell a spreadsheet would run as a formula starts with one of these: it gets a leading "'".
CSV_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def csv_cell(value: object) -> str:
    """A value as CSV text that no spreadsheet runs as a formula ("=HYPERLINK(…)" -> "'=HYPERLINK(…)")."""
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(CSV_FORMULA_START) else text


def _csv_value(value: Any, kind: str) -> str:
    if value is None:
        return ""
    if kind == YES_NO:
        return "Yes" if value else "No"
    if kind in (DATE, DATETIME) and isinstance(value, dt.date):
        return value.isoformat(sep=" ", timespec="minutes") if isinstance(value, dt.datetime) else value.isoformat()
    if kind in (INTEGER, NUMBER) and isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)
    return csv_cell(value)


def _not_saved(path: Path, error: OSError) -> ExportNotSaved:
    reason = error.strerror or type(error).__name__
    return ExportNotSaved(f"The export could not be saved as {path} ({reason}). If that file is open in "
                          "another program (Excel keeps it locked), close it; or choose another folder. "
                          "Then try again.")


def _remove(path: Path) -> None:
    try:
        path.unlink()
    except FileNotFoundError:
        pass


class _Ticker:
    """Progress reports and cancel checks every PROGRESS_EVERY rows."""

    def __init__(self, progress: Progress | None, cancelled: Callable[[], bool] | None, total: int,
                 what: str) -> None:
        self.progress, self.cancelled, self.total, self.what = progress, cancelled, total, what

    def check(self, done: int) -> None:
        if self.cancelled is not None and self.cancelled():
            raise Cancelled("The export was cancelled; no file was saved.")
        if self.progress is not None:
            self.progress(done, max(self.total, done), f"{self.what}: {done:,} rows written…")


def write_rows(path: str | os.PathLike[str], file_format: str, columns: Sequence[Column], rows: Iterable[Sequence[Any]],
               *, title: str = "Export", total: int = 0, progress: Progress | None = None,
               cancelled: Callable[[], bool] | None = None,
               before_replace: Callable[[int], Any] | None = None) -> int:
    """Write ``rows`` (each a sequence matching ``columns``) to ``path`` as ``file_format``
    ("xlsx" or "csv"); returns how many rows were written (the header not counted). ``title``
    names the sheet and the progress; ``total`` (0: unknown) is what progress counts towards."""
    if file_format not in FORMATS:
        raise ValueError(f"file format {file_format!r} is not one of {FORMATS}")
    path = Path(path)
    try:
        fd, partial_name = tempfile.mkstemp(prefix=f".{path.stem}-", suffix=f".{file_format}.part", dir=path.parent)
    except OSError as exc:
        raise _not_saved(path, exc) from exc
    os.close(fd)
    partial = Path(partial_name)
    ticker = _Ticker(progress, cancelled, total, title)
    try:
        if file_format == "csv":
            n = _write_csv(partial, columns, rows, ticker)
        else:
            n = _write_xlsx(partial, columns, rows, ticker, title)
        ticker.check(n)
        if before_replace is not None:
            before_replace(n)
        os.replace(partial, path)
    except OSError as exc:
        _remove(partial)
        raise _not_saved(path, exc) from exc
    except BaseException:
        _remove(partial)
        raise
    return n


def _write_csv(path: Path, columns: Sequence[Column], rows: Iterable[Sequence[Any]], ticker: _Ticker) -> int:
    kinds = [c.kind for c in columns]
    n = 0
    with open(path, "w", encoding="utf-8-sig", newline="") as f:
        out = csv.writer(f)  # "\r\n" line ends: what Excel itself writes
        out.writerow([csv_cell(c.heading) for c in columns])
        for row in rows:
            out.writerow([_csv_value(v, k) for v, k in zip(row, kinds, strict=True)])
            n += 1
            if n % PROGRESS_EVERY == 0:
                ticker.check(n)
    return n


def _shown_len(value: Any, kind: str) -> int:
    if value is None:
        return 0
    if kind == DATE:
        return 10
    if kind == DATETIME:
        return 16
    if kind == YES_NO:
        return 5
    if kind == TIME:
        return 5
    return len(str(value))


def _widths(columns: Sequence[Column], sample: Sequence[Sequence[Any]]) -> list[int]:
    widths = []
    for i, c in enumerate(columns):
        if c.width is not None:
            widths.append(c.width)
            continue
        longest = max((_shown_len(r[i], c.kind) for r in sample), default=0)
        widths.append(min(MAX_WIDTH, max(len(c.heading) + 4, longest + 2, 6)))  # +4: the filter button
    return widths


def _sheet_name(title: str) -> str:
    """A sheet name Excel accepts: at most 31 characters, none of []:*?/\\."""
    cleaned = "".join(" " if ch in "[]:*?/\\" else ch for ch in title).strip().strip("'")
    return (cleaned or "Export")[:31]


def _write_xlsx(path: Path, columns: Sequence[Column], rows: Iterable[Sequence[Any]], ticker: _Ticker,
                title: str) -> int:
    import xlsxwriter  # only exports need it (~60 ms to import)

    source: Iterator[Sequence[Any]] = iter(rows)
    held = list(itertools.islice(source, TABLE_ROWS + 1))  # enough to choose table or stream
    as_table = len(held) <= TABLE_ROWS
    workbook = xlsxwriter.Workbook(str(path), {
        "constant_memory": not as_table,
        "tmpdir": str(path.parent),  # the streamed sheets' own temporary files: beside the export
        "strings_to_numbers": False, "strings_to_formulas": False, "strings_to_urls": False,
        "default_date_format": "dd/mm/yyyy",
    })
    try:
        workbook.set_properties({"title": title, "comments": "Exported by srcdesk"})
        header = workbook.add_format({"bold": True, "bg_color": "#DDE4EE", "bottom": 1})
        date_formats = {DATE: workbook.add_format({"num_format": "dd/mm/yyyy"}),
                        DATETIME: workbook.add_format({"num_format": "dd/mm/yyyy hh:mm"})}
        number_format = workbook.add_format({"num_format": "0.0#"})
        widths = _widths(columns, held[:WIDTH_SAMPLE])
        kinds = [c.kind for c in columns]
        last_col = len(columns) - 1
        serials: dict[Any, float] = {}  # a date's Excel serial number, worked out once per date
        sheets = 0

        def new_sheet() -> Any:
            nonlocal sheets
            sheets += 1
            name = _sheet_name(title) if sheets == 1 else f"{_sheet_name(title)[:25]} ({sheets})"
            sheet = workbook.add_worksheet(name, worksheet_class=_sheet_class())
            for i, width in enumerate(widths):
                sheet.set_column(i, i, width)
            sheet.freeze_panes(1, 0)
            if not as_table:  # a table writes its own header
                for i, c in enumerate(columns):
                    sheet.write_string(0, i, c.heading, header)
            return sheet

        sheet = new_sheet()
        write_string, write_number, write_boolean = _writers(sheet)
        times: dict[Any, float | None] = {}  # "10:30" -> its fraction of a day
        time_format = workbook.add_format({"num_format": "hh:mm"})
        n = r = 0  # rows written; the row on this sheet
        # One branch per cell, no call in between: XlsxWriter's own work is most of the time.
        for row in itertools.chain(held, source):
            n += 1
            r += 1
            if r == XLSX_MAX_ROWS:  # this sheet is full (Excel's limit): go on on the next
                sheet.autofilter(0, 0, r - 1, last_col)
                sheet = new_sheet()
                write_string, write_number, write_boolean = _writers(sheet)
                r = 1
            for col, value in enumerate(row):
                if value is None:
                    continue
                kind = kinds[col]
                if kind is TIME:
                    fraction = times.get(value, -1.0)
                    if fraction == -1.0:
                        if len(times) > 10_000:
                            times.clear()
                        fraction = times[value] = _day_fraction(value)
                    if fraction is None:
                        write_string(r, col, str(value))
                    else:
                        write_number(r, col, fraction, time_format)
                elif value.__class__ is str:
                    write_string(r, col, value)
                elif kind is YES_NO:
                    write_boolean(r, col, bool(value))
                elif kind is DATE or kind is DATETIME:
                    if isinstance(value, dt.date):
                        serial = serials.get(value)
                        if serial is None:
                            if len(serials) > 100_000:
                                serials.clear()
                            serial = serials[value] = _excel_serial(value)
                        write_number(r, col, serial, date_formats[kind])
                    else:
                        write_string(r, col, str(value))
                elif kind is INTEGER or kind is NUMBER:
                    if isinstance(value, int | float) and not isinstance(value, bool):
                        write_number(r, col, value, number_format if kind is NUMBER else None)
                    else:  # a suppressed figure ("<10") stays text
                        write_string(r, col, str(value))
                else:
                    write_string(r, col, str(value))
            if n % PROGRESS_EVERY == 0:
                ticker.check(n)
        del held
        if as_table:
            sheet.add_table(0, 0, max(n, 1), last_col, {
                "name": "Export", "style": "Table Style Light 9", "autofilter": True,
                "columns": [{"header": c.heading, "header_format": header} for c in columns],
            })
        else:
            sheet.autofilter(0, 0, r, last_col)
        ticker.check(n)
    except BaseException:
        _close_quietly(workbook)
        raise
    workbook.close()
    return n


def _close_quietly(workbook: Any) -> None:
    """Release the workbook's temporary files without writing it (the caller removes the file)."""
    try:
        for sheet in workbook.worksheets():
            handle = getattr(sheet, "row_data_fh", None)
            if handle is not None:
                handle.close()
            name = getattr(sheet, "row_data_filename", None)
            if name:
                _remove(Path(name))
    except Exception:  # noqa: BLE001 - best effort on the way out of a failure
        pass


def _writers(sheet: Any) -> tuple[Callable, Callable, Callable]:
    """The sheet's cell writers, looked up once (not per cell): XlsxWriter's undecorated ones
    (``write_string`` is ``_write_string`` behind a decorator that tries ``int(row)`` on every call
    to accept "A1" notation, which rows and columns given as numbers never need)."""
    return (getattr(sheet, "_write_string", sheet.write_string), getattr(sheet, "_write_number", sheet.write_number),
            getattr(sheet, "_write_boolean", sheet.write_boolean))


# What XlsxWriter's escape of control characters changes: a control character, "_xHHHH_" (escaped
# again), U+FFFE or U+FFFF. A cell without any of them comes out of that escape as it went in.
_CONTROL_ESCAPED = re.compile("[\x00-\x08\x0b-\x1f\ufffe\uffff]|_x[0-9a-fA-F]{4}_")
_SHEET_CLASS: Any = None


def _sheet_class() -> Any:
    """XlsxWriter's worksheet, the same XML, with two costs of its constant-memory mode taken off
    the inner loop (the class is made on first use: xlsxwriter is imported only by exports):

    * each string cell went through two regular-expression substitutions and two replaces to
      escape control characters; one search now finds the (rare) cells that need any of them, and
      only those take XlsxWriter's own escape;
    * each cell's XML was a ``write`` to the row-data temporary file, a text file opened for
      reading too, whose every write also resets its decoder (a Python call); a row's cells now
      go to a string buffer and the row to the file in one write.

    Worksheet subclasses are XlsxWriter's own extension point (``add_worksheet(name,
    worksheet_class=...)``)."""
    global _SHEET_CLASS
    if _SHEET_CLASS is not None:
        return _SHEET_CLASS
    from xlsxwriter.worksheet import Worksheet

    escape = Worksheet._escape_control_characters
    needs_escape = _CONTROL_ESCAPED.search

    class Sheet(Worksheet):  # type: ignore[misc]
        @staticmethod
        def _escape_control_characters(data: Any) -> Any:
            if not isinstance(data, str):  # a boolean's 1 or 0 (XlsxWriter's own returns these as they are)
                return data
            return data if needs_escape(data) is None else escape(data)

        def _write_single_row(self, current_row_num: int = 0) -> None:
            out = self.fh
            if out is None or not self.constant_memory:
                super()._write_single_row(current_row_num)
                return
            row = self.__dict__.setdefault("_row_buffer", io.StringIO())
            self.fh = row
            try:
                super()._write_single_row(current_row_num)
            finally:
                self.fh = out
            out.write(row.getvalue())
            row.seek(0)
            row.truncate()

    _SHEET_CLASS = Sheet
    return Sheet


def _day_fraction(value: Any) -> float | None:
    """A time of day ("10:30" or a ``time``) as Excel's fraction of a day; None if it is not one."""
    if isinstance(value, dt.time):
        return (value.hour * 3600 + value.minute * 60 + value.second) / 86_400
    try:
        parsed = dt.time.fromisoformat(str(value))
    except ValueError:
        return None
    return (parsed.hour * 3600 + parsed.minute * 60 + parsed.second) / 86_400


_EPOCH = dt.datetime(1899, 12, 30)  # Excel's day 0 (with its 1900 leap-year quirk, from 1 March 1900 on)


def _excel_serial(value: dt.date) -> float:
    """A date (or date and time) as Excel's serial number, shown as a date by the cell's format."""
    moment = value if isinstance(value, dt.datetime) else dt.datetime(value.year, value.month, value.day)
    delta = moment.replace(tzinfo=None) - _EPOCH
    return delta.days + delta.seconds / 86_400
