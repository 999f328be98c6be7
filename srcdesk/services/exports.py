"""What can be exported, with which filters, by whom; and the record of every export.

One entry point, :func:`export`, serves every list's "Export…" (:mod:`srcdesk.ui.export`) and
``srcdesk export …``::

    result = export(ctx, "sessions", path, file_format="xlsx", filters={"date_from": "2026-04-01"})

* **What** (:data:`KINDS`): ``sessions``, ``attendance`` (one row per register entry), ``register``
  (one session's register entries: ``session_id``), ``people``, ``certificates``, ``eligible``
  (certificates people are due) and ``indicators`` (the headline figures by establishment for a
  period). The filters are the lists' own (the same keyword arguments as the services that fill
  them), so an export holds what the list shows, every page of it.
* **Who**: lists with people's names, prison numbers or attendance are personal and need
  ``export.personal`` (a coordinator); the others (sessions without facilitators' names, the
  figures) ``export.figures`` (any role).
* **Scope**: as the lists: an establishment exports only its own records (asking for another's
  is refused); the office any establishment's, or all.
* **Bounded memory**: rows come from the database in keyset pages (:data:`PAGE`) and go straight
  to the file (:func:`srcdesk.reports.exports.write_rows`).
* **Recorded**: every export writes one ``export_record`` row (who, what, the filters as JSON, how
  many rows, the format and the file's name, never its folder) in the same call, once the file is
  complete and before it takes its name: no export file exists that the record lacks. A refused,
  failed or cancelled export writes no file and no record.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import func, select, tuple_

from ..errors import NotFound, PermissionDenied, ValidationError
from ..ids import new_id
from ..models import (
    ActivityType,
    Attendance,
    AttendanceRole,
    AttendanceStatus,
    Establishment,
    ExportRecord,
    Module,
    Person,
    Programme,
    Session,
)
from ..reports.exports import DATE, DATETIME, FORMATS, INTEGER, NUMBER, TEXT, TIME, YES_NO, Column, write_rows
from .base import Context, parse_date

PAGE = 1000  # rows a keyset page (sessions for the attendance: their register entries follow)
Progress = Callable[[int, int, str], Any]


@dataclass(frozen=True)
class Kind:
    """One kind of export."""

    name: str  # "sessions": what the record and the command line call it
    label: str  # "Sessions": the sheet's name and the dialog's title
    personal: bool  # names, prison numbers or attendance in it: needs export.personal
    columns: tuple[Column, ...]
    rows: Callable[[Context, dict[str, Any]], Iterator[tuple]]  # filters already checked and scoped
    filters: frozenset[str]  # the filters it takes (the list service's keyword arguments)

    @property
    def action(self) -> str:
        return "export.personal" if self.personal else "export.figures"


@dataclass(frozen=True)
class ExportResult:
    what: str
    label: str
    path: Path
    file_format: str
    rows: int
    record_id: str

    def message(self) -> str:
        """What the person is told at the end: "Exported 1,234 rows of sessions to sessions.xlsx."."""
        return (f"Exported {self.rows:,} row{'s' if self.rows != 1 else ''} of {self.label.lower()} "
                f"to {self.path.name}.")


@dataclass(frozen=True)
class ExportLogRow:
    exported_at: dt.datetime
    user_name: str
    what: str
    personal: bool
    file_format: str
    rows: int
    file_name: str
    filters: str


# -- the rows ------------------------------------------------------------------------------


def _paged(fetch: Callable[[tuple | None], Any]) -> Iterator[Any]:
    """Every item of a keyset-paged list service, page by page (``fetch(after) -> Page``)."""
    after = None
    while True:
        page = fetch(after)
        yield from page.items
        if page.after is None:
            return
        after = page.after


def _session_rows(ctx: Context, f: dict[str, Any]) -> Iterator[tuple]:
    from . import sessions

    for r in _paged(lambda after: sessions.list_sessions(ctx, **f, limit=PAGE, after=after)):
        yield (r.date, r.start_time, r.end_time, r.establishment_code, r.what, r.location, r.cancelled,
               r.attended, r.on_register, r.cancelled_reason)


def _people_rows(ctx: Context, f: dict[str, Any]) -> Iterator[tuple]:
    from . import people

    f = dict(f)
    query = f.pop("query", "") or ""
    for r in _paged(lambda after: people.search_people(ctx, query, **f, limit=PAGE, after=after)):
        yield (r.family_name, r.given_name, r.kind, r.establishment_code, r.external_ref, r.liberation_date)


def _certificate_rows(ctx: Context, f: dict[str, Any]) -> Iterator[tuple]:
    from . import certificates

    for r in _paged(lambda after: certificates.list_certificates(ctx, **f, limit=PAGE, after=after)):
        yield (r.serial, r.issued_on, r.recipient_name, r.title, r.kind, r.place, r.status, r.status_changed_on,
               r.status_reason)


def _eligible_rows(ctx: Context, f: dict[str, Any]) -> Iterator[tuple]:
    from . import eligibility

    for r in _paged(lambda after: eligibility.eligible_certificates(ctx, **f, limit=PAGE, after=after)):
        yield (r.external_ref, r.display_name, r.establishment_code, r.kind, r.award_code, r.title, r.completed_on)


def _attendance_rows(ctx: Context, f: dict[str, Any]) -> Iterator[tuple]:
    """One row per register entry, oldest session first: a page of sessions (keyset by date,
    start, id, through the sessions' date indexes), then their entries (by the register's index)."""
    what = func.coalesce(Session.title, Module.name, ActivityType.name)
    after: tuple | None = None
    while True:
        with ctx.read() as s:
            q = select(Session.id, Session.date, Session.start_time).where(Session.deleted_hlc.is_(None))
            if f.get("session_id"):
                q = q.where(Session.id == f["session_id"])
            if f.get("establishment_id"):
                q = q.where(Session.establishment_id == f["establishment_id"])
            if f.get("date_from"):
                q = q.where(Session.date >= f["date_from"])
            if f.get("date_to"):
                q = q.where(Session.date <= f["date_to"])
            if after is not None:
                q = q.where(Session.date >= after[0],
                            tuple_(Session.date, Session.start_time, Session.id) > tuple_(*after))
            keys = s.execute(q.order_by(Session.date, Session.start_time, Session.id).limit(PAGE)).all()
            if not keys:
                return
            page = [k.id for k in keys]
            rows = s.execute(
                select(Session.date, Session.start_time, Establishment.code, what, Programme.name, Person.external_ref,
                       Person.given_name, Person.family_name, AttendanceStatus.name,
                       AttendanceStatus.counts_as_attended, AttendanceRole.name)
                .select_from(Attendance)
                .join(Session, Session.id == Attendance.session_id)
                .join(Establishment, Establishment.id == Session.establishment_id)
                .outerjoin(Module, Module.id == Session.module_id)
                .outerjoin(Programme, Programme.id == Module.programme_id)
                .outerjoin(ActivityType, ActivityType.id == Session.activity_type_id)
                .join(Person, Person.id == Attendance.person_id)
                .join(AttendanceStatus, AttendanceStatus.id == Attendance.status_id)
                .join(AttendanceRole, AttendanceRole.id == Attendance.role_id)
                .where(Attendance.session_id.in_(page), Attendance.deleted_hlc.is_(None))
                .order_by(Session.date, Session.start_time, Session.id, Person.family_name, Person.given_name,
                          Person.id)
            ).all()
        yield from rows
        if len(keys) < PAGE:
            return
        after = (keys[-1].date, keys[-1].start_time, keys[-1].id)


def _indicator_rows(ctx: Context, f: dict[str, Any]) -> Iterator[tuple]:
    from ..reports import indicators

    period = f["period"]
    own = f.get("establishment_id")
    with ctx.read() as s:
        values = indicators.by_establishment(s, period)
        names = {e.id: (e.code, e.name) for e in s.execute(
            select(Establishment).where(Establishment.merged_into.is_(None))).scalars()}
        total = indicators.figures(s, period, None).values if not own else None
    ordered = sorted((est_id for est_id in values if est_id in names), key=lambda i: names[i][1])
    for est_id in ordered:
        if own and est_id != own:
            continue
        yield (period.label, *names[est_id], *_indicator_cells(values[est_id], f["suppress"]))
    if total is not None:
        yield (period.label, "", "All establishments", *_indicator_cells(total, f["suppress"]))


def _indicator_cells(values: dict[str, Any], suppress: bool) -> list[Any]:
    from ..reports import indicators

    cells: list[Any] = []
    for ind in indicators.INDICATORS:
        value = values.get(ind.code)
        if isinstance(value, indicators.Ratio):
            cells += [value.numerator, value.denominator]
            continue
        if suppress and ind.about_people and value is not None and indicators.suppress(value) == "<10":
            value = "<10"
        cells.append(value)
    return cells


def _indicator_columns() -> tuple[Column, ...]:
    from ..reports import indicators

    cols = [Column("Period", TEXT), Column("Code", TEXT), Column("Establishment", TEXT)]
    for ind in indicators.INDICATORS:
        if ind.unit == "ratio":  # both parts: a spreadsheet divides, and nothing is lost to rounding
            cols += [Column(f"{ind.label}: cohorts with", INTEGER), Column(f"{ind.label}: cohorts", INTEGER)]
        else:
            cols.append(Column(ind.label, NUMBER if ind.unit == "hours" else INTEGER))
    return tuple(cols)


ATTENDANCE_COLUMNS = (
    Column("Date", DATE), Column("Start", TIME), Column("Establishment", TEXT), Column("Session", TEXT),
    Column("Programme", TEXT), Column("Prison number", TEXT), Column("Given name", TEXT),
    Column("Family name", TEXT), Column("Status", TEXT), Column("Attended", YES_NO), Column("Role", TEXT))
SESSION_FILTERS = frozenset({"establishment_id", "date_from", "date_to", "programme_id", "module_id",
                             "activity_type_id", "facilitator_id", "search", "include_cancelled"})

KINDS: dict[str, Kind] = {k.name: k for k in (
    Kind("sessions", "Sessions", False, (
        Column("Date", DATE), Column("Start", TIME), Column("End", TIME), Column("Establishment", TEXT),
        Column("Session", TEXT), Column("Location", TEXT), Column("Cancelled", YES_NO), Column("Present", INTEGER),
        Column("On register", INTEGER), Column("Why cancelled", TEXT)),
        _session_rows, SESSION_FILTERS),
    Kind("attendance", "Attendance", True, ATTENDANCE_COLUMNS, _attendance_rows,
         frozenset({"establishment_id", "date_from", "date_to"})),
    Kind("register", "Register", True, ATTENDANCE_COLUMNS, _attendance_rows, frozenset({"session_id"})),
    Kind("people", "People", True, (
        Column("Family name", TEXT), Column("Given name", TEXT), Column("Kind", TEXT), Column("Establishment", TEXT),
        Column("Prison number", TEXT), Column("Liberation date", DATE)),
        _people_rows, frozenset({"query", "establishment_id", "kind"})),
    Kind("certificates", "Certificates", True, (
        Column("Serial", TEXT), Column("Issued on", DATE), Column("Name", TEXT), Column("For", TEXT),
        Column("Kind", TEXT), Column("Issued at", TEXT), Column("Status", TEXT), Column("Status changed", DATE),
        Column("Reason", TEXT)),
        _certificate_rows, frozenset({"status", "establishment_id", "programme_id", "person_id", "search"})),
    Kind("eligible", "Certificates due", True, (
        Column("Prison number", TEXT), Column("Name", TEXT), Column("Establishment", TEXT), Column("Kind", TEXT),
        Column("Code", TEXT), Column("For", TEXT), Column("Completed on", DATE)),
        _eligible_rows, frozenset({"establishment_id", "kind"})),
    Kind("indicators", "Indicators", False, (), _indicator_rows,
         frozenset({"period", "establishment_id", "suppress"})),
)}
_ = DATETIME  # (the writer also takes date-times; no export here has one yet)


def kind(what: str) -> Kind:
    try:
        return KINDS[what]
    except KeyError:
        raise ValidationError(f"There is no export of '{what}'. Choose one of: {', '.join(KINDS)}.",
                              "what") from None


def columns(what: str) -> tuple[Column, ...]:
    k = kind(what)
    return _indicator_columns() if what == "indicators" else k.columns


def refusal(ctx: Context, what: str) -> str:
    """Why this signed-in user may not make this export ("" if they may): for the UI."""
    return ctx.refusal(kind(what).action)


def suggested_name(what: str, file_format: str, today: dt.date) -> str:
    """``srcdesk-sessions-2026-12-03.xlsx``."""
    return f"srcdesk-{what}-{today.isoformat()}.{file_format}"


# -- filters ---------------------------------------------------------------------------------


def _checked(ctx: Context, k: Kind, filters: dict[str, Any]) -> dict[str, Any]:
    """The filters, checked, with the scope applied: an establishment's own records only."""
    unknown = set(filters) - k.filters
    if unknown:
        raise ValidationError(f"An export of {k.label.lower()} can't be filtered by {', '.join(sorted(unknown))}.",
                              sorted(unknown)[0])
    f = {key: value for key, value in filters.items() if value is not None and value != ""}
    for key in ("date_from", "date_to"):
        if key in f:
            f[key] = parse_date(f[key], "From" if key == "date_from" else "Until", key)
    if f.get("date_from") and f.get("date_to") and f["date_to"] < f["date_from"]:
        raise ValidationError("The 'until' date is before the 'from' date.", "date_to")
    if "period" in k.filters:
        from ..reports.periods import Period, parse_period

        period = f.get("period")
        if period is None:
            raise ValidationError("Say which period: a plan year like 2025-26 or a quarter like 2025-Q3.", "period")
        f["period"] = period if isinstance(period, Period) else parse_period(str(period))
        f["suppress"] = bool(f.get("suppress", True))
    own = ctx.installation.establishment_id
    if not ctx.installation.is_office and "establishment_id" in k.filters:
        if f.get("establishment_id") not in (None, own):
            raise PermissionDenied("At an establishment, exports hold that establishment's own records only.")
        f["establishment_id"] = own
    if k.name == "register":
        if not f.get("session_id"):
            raise ValidationError("Say which session's register to export.", "session_id")
        with ctx.read() as s:
            session = s.get(Session, f["session_id"])
            if session is None or session.deleted_hlc is not None:
                raise NotFound("That session no longer exists.")
            if not ctx.installation.is_office and session.establishment_id != own:
                raise PermissionDenied("At an establishment, exports hold that establishment's own records only.")
    return f


def _as_json(f: dict[str, Any]) -> str:
    def plain(value: Any) -> Any:
        code = getattr(value, "code", None)  # a Period
        if code is not None:
            return code
        return value.isoformat() if isinstance(value, dt.date) else str(value)
    return json.dumps(f, sort_keys=True, default=plain)


# -- the export ---------------------------------------------------------------------------------


def export(ctx: Context, what: str, path: str | Path, *, file_format: str, filters: dict[str, Any] | None = None,
           progress: Progress | None = None, cancelled: Callable[[], bool] | None = None) -> ExportResult:
    """Write the export ``what`` with ``filters`` to ``path`` as ``file_format`` (xlsx or csv), and
    record it; refused (nothing written) without the export's permission or outside the scope."""
    k = kind(what)
    if file_format not in FORMATS:
        raise ValidationError(f"Export as one of: {', '.join(FORMATS)}.", "file_format")
    ctx.require("export.personal" if k.personal else "export.figures")
    f = _checked(ctx, k, dict(filters or {}))
    path = Path(path)
    record_id = new_id()
    user = ctx.user
    assert user is not None  # ctx.require refused otherwise

    def record(rows: int) -> None:
        with ctx.write("export.personal" if k.personal else "export.figures") as s:
            s.add(ExportRecord(
                id=record_id, user_id=user.id, user_name=user.display_name or user.username, what=k.name,
                exported_at=dt.datetime.fromtimestamp(ctx.db.wall_ms() / 1000, tz=dt.UTC).replace(tzinfo=None),
                personal=k.personal, file_format=file_format, filters=_as_json(f), rows=rows, file_name=path.name))

    rows = write_rows(path, file_format, columns(what), k.rows(ctx, f), title=k.label, progress=progress,
                      cancelled=cancelled, before_replace=record)
    return ExportResult(k.name, k.label, path, file_format, rows, record_id)


def export_log(ctx: Context, *, limit: int = 200) -> list[ExportLogRow]:
    """The export record, newest first: who took what out, and when."""
    ctx.require("export.figures", "see the record of exports")
    with ctx.read() as s:
        rows = s.execute(select(ExportRecord).order_by(ExportRecord.exported_at.desc(), ExportRecord.id.desc())
                         .limit(max(1, min(limit, 10_000)))).scalars().all()
        return [ExportLogRow(r.exported_at, r.user_name, r.what, r.personal, r.file_format, r.rows, r.file_name,
                             r.filters) for r in rows]
