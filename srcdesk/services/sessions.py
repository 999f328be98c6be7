"""Sessions: record, edit, repeat weekly, cancel, list; recruit cohorts; facilitators."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy import exists, func, or_, select, tuple_

from ..errors import ValidationError
from ..ids import new_id
from ..models import (
    ActivityType,
    Attendance,
    AttendanceStatus,
    Establishment,
    Module,
    Person,
    Programme,
    RecruitCohort,
    Session,
    SessionFacilitator,
)
from .base import (
    Context,
    Page,
    get_live,
    keyset_page,
    parse_date,
    parse_time,
    revive,
    text,
    to_record,
    tombstone,
)

MAX_REPEATS = 104  # two years of weekly sessions
RAT_PROGRAMME_CODE = "RAT"


@dataclass(frozen=True)
class SessionRow:
    """One line of a sessions list."""

    id: str
    date: dt.date
    start_time: str
    end_time: str
    establishment_code: str
    what: str  # module or activity name (or title)
    location: str | None
    cancelled: bool
    attended: int
    on_register: int


def _check_times(start: str, end: str) -> None:
    if end <= start:
        raise ValidationError("A session can't end before it starts.", "end_time")


def _check_what(s, module_id: str | None, activity_type_id: str | None, cohort_id: str | None) -> None:  # noqa: ANN001
    if bool(module_id) == bool(activity_type_id):
        raise ValidationError("Choose either a module or an activity type for the session.", "module_id")
    if module_id:
        module = s.get(Module, module_id)
        if module is None or module.deleted_hlc is not None:
            raise ValidationError("That module is not known to srcdesk.", "module_id")
        if module.retired:
            raise ValidationError(f"The module '{module.name}' is retired; choose a current one.", "module_id")
        programme = s.get(Programme, module.programme_id)
        if cohort_id and programme.code != RAT_PROGRAMME_CODE:
            raise ValidationError("A recruit cohort goes with Recovery Awareness Training only.", "recruit_cohort_id")
    else:
        activity = s.get(ActivityType, activity_type_id)
        if activity is None or activity.deleted_hlc is not None:
            raise ValidationError("That activity type is not known to srcdesk.", "activity_type_id")
        if activity.retired:
            raise ValidationError(f"The activity type '{activity.name}' is retired.", "activity_type_id")
        if cohort_id:
            raise ValidationError("A recruit cohort goes with Recovery Awareness Training only.", "recruit_cohort_id")
    if cohort_id:
        get_live(s, RecruitCohort, cohort_id, "recruit cohort")


def _check_establishment(s, establishment_id: str, on: dt.date) -> None:  # noqa: ANN001
    est = s.get(Establishment, establishment_id)
    if est is None or est.deleted_hlc is not None:
        raise ValidationError("That establishment is not known to srcdesk.", "establishment_id")
    if est.closed is not None and on >= est.closed:
        raise ValidationError(f"{est.name} closed on {est.closed:%d %B %Y}.", "date")
    if est.opened is not None and on < est.opened:
        raise ValidationError(f"{est.name} opened on {est.opened:%d %B %Y}.", "date")


def _set_facilitators(s, session: Session, person_ids: list[str]) -> None:  # noqa: ANN001
    if len(set(person_ids)) != len(person_ids):
        raise ValidationError("A facilitator is listed twice.", "facilitator_ids")
    current = {
        f.person_id: f for f in s.execute(
            select(SessionFacilitator).where(SessionFacilitator.session_id == session.id)
        ).scalars()
    }
    for pid in person_ids:
        get_live(s, Person, pid, "facilitator")
        row = current.get(pid)
        if row is None:
            s.add(SessionFacilitator(session_id=session.id, person_id=pid))
        elif row.deleted_hlc is not None:
            revive(row)
    for pid, row in current.items():
        if pid not in person_ids and row.deleted_hlc is None:
            tombstone(row, "Removed from the session's facilitators")


def create_session(ctx: Context, *, date: dt.date | str, start_time: str, end_time: str,
                   module_id: str | None = None, activity_type_id: str | None = None,
                   establishment_id: str | None = None, title: str | None = None,
                   location: str | None = None, notes: str | None = None,
                   recruit_cohort_id: str | None = None, facilitator_ids: list[str] | None = None,
                   series_id: str | None = None) -> Any:
    day = parse_date(date, "Date", "date")
    start = parse_time(start_time, "Start time", "start_time")
    end = parse_time(end_time, "End time", "end_time")
    _check_times(start, end)
    est_id = establishment_id or ctx.installation.establishment_id
    if not est_id:
        raise ValidationError("Choose the establishment where the session took place.", "establishment_id")
    with ctx.write("recorder", "record sessions") as s:
        _check_establishment(s, est_id, day)
        _check_what(s, module_id, activity_type_id, recruit_cohort_id)
        session = Session(
            establishment_id=est_id, date=day, start_time=start, end_time=end, module_id=module_id or None,
            activity_type_id=activity_type_id or None, recruit_cohort_id=recruit_cohort_id or None,
            title=text(title, "Title", "title", required=False),
            location=text(location, "Location", "location", required=False, max_len=120),
            notes=text(notes, "Notes", "notes", required=False, max_len=4000), series_id=series_id,
        )
        s.add(session)
        s.flush()
        _set_facilitators(s, session, list(facilitator_ids or []))
        s.flush()
        return to_record(session)


def update_session(ctx: Context, session_id: str, **changes: Any) -> Any:
    allowed = {"date", "start_time", "end_time", "module_id", "activity_type_id", "title", "location",
               "notes", "recruit_cohort_id", "facilitator_ids"}
    unknown = set(changes) - allowed
    if unknown:
        raise ValidationError(f"'{sorted(unknown)[0]}' can't be changed here.", sorted(unknown)[0])
    with ctx.write("recorder", "edit sessions") as s:
        session = get_live(s, Session, session_id, "session")
        if "date" in changes:
            session.date = parse_date(changes["date"], "Date", "date")
        if "start_time" in changes:
            session.start_time = parse_time(changes["start_time"], "Start time", "start_time")
        if "end_time" in changes:
            session.end_time = parse_time(changes["end_time"], "End time", "end_time")
        _check_times(session.start_time, session.end_time)
        for key in ("module_id", "activity_type_id", "recruit_cohort_id"):
            if key in changes:
                setattr(session, key, changes[key] or None)
        _check_what(s, session.module_id, session.activity_type_id, session.recruit_cohort_id)
        _check_establishment(s, session.establishment_id, session.date)
        if "title" in changes:
            session.title = text(changes["title"], "Title", "title", required=False)
        if "location" in changes:
            session.location = text(changes["location"], "Location", "location", required=False, max_len=120)
        if "notes" in changes:
            session.notes = text(changes["notes"], "Notes", "notes", required=False, max_len=4000)
        if "facilitator_ids" in changes:
            _set_facilitators(s, session, list(changes["facilitator_ids"] or []))
        s.flush()
        return to_record(session)


def repeat_weekly(ctx: Context, session_id: str, until: dt.date | str) -> list[Any]:
    """Copy a session to the same weekday every week up to and including ``until``."""
    last_day = parse_date(until, "Repeat until", "until")
    with ctx.write("recorder", "record sessions") as s:
        template = get_live(s, Session, session_id, "session")
        if last_day <= template.date:
            raise ValidationError("'Repeat until' must be after the session's date.", "until")
        weeks = (last_day - template.date).days // 7
        if weeks > MAX_REPEATS:
            raise ValidationError(f"Repeat at most {MAX_REPEATS} weeks at a time.", "until")
        if template.series_id is None:
            template.series_id = new_id()
        facilitators = s.execute(
            select(SessionFacilitator.person_id).where(
                SessionFacilitator.session_id == template.id, SessionFacilitator.deleted_hlc.is_(None)
            )
        ).scalars().all()
        made = []
        for week in range(1, weeks + 1):
            day = template.date + dt.timedelta(weeks=week)
            _check_establishment(s, template.establishment_id, day)
            copy = Session(
                establishment_id=template.establishment_id, date=day, start_time=template.start_time,
                end_time=template.end_time, module_id=template.module_id,
                activity_type_id=template.activity_type_id, recruit_cohort_id=template.recruit_cohort_id,
                title=template.title, location=template.location, series_id=template.series_id,
            )
            s.add(copy)
            made.append(copy)
        s.flush()
        for copy in made:
            for pid in facilitators:
                s.add(SessionFacilitator(session_id=copy.id, person_id=pid))
        s.flush()
        return [to_record(c) for c in made]


def cancel_session(ctx: Context, session_id: str, reason: str) -> Any:
    reason = text(reason, "Reason", "reason", max_len=1000)
    with ctx.write("recorder", "cancel sessions") as s:
        session = get_live(s, Session, session_id, "session")
        if session.cancelled:
            raise ValidationError("This session is already cancelled.", "cancelled")
        session.cancelled = True
        session.cancelled_reason = reason
        s.flush()
        return to_record(session)


def delete_session(ctx: Context, session_id: str, reason: str) -> None:
    """Record that a session was entered in error (coordinators; its register goes with it)."""
    with ctx.write("coordinator", "delete sessions") as s:
        session = get_live(s, Session, session_id, "session")
        tombstone(session, reason)
        for row in s.execute(
            select(Attendance).where(Attendance.session_id == session_id, Attendance.deleted_hlc.is_(None))
        ).scalars():
            tombstone(row, f"Session deleted: {reason}")


def get_session(ctx: Context, session_id: str) -> Any:
    with ctx.read() as s:
        return to_record(get_live(s, Session, session_id, "session"))


def facilitators(ctx: Context, session_id: str) -> list[str]:
    with ctx.read() as s:
        return list(s.execute(
            select(SessionFacilitator.person_id).where(
                SessionFacilitator.session_id == session_id, SessionFacilitator.deleted_hlc.is_(None)
            )
        ).scalars())


def list_sessions(ctx: Context, *, establishment_id: str | None = None, date_from: dt.date | str | None = None,
                  date_to: dt.date | str | None = None, programme_id: str | None = None,
                  module_id: str | None = None, activity_type_id: str | None = None,
                  facilitator_id: str | None = None, search: str = "", include_cancelled: bool = True,
                  limit: int = 100, after: tuple | None = None) -> Page[SessionRow]:
    """Newest first; keyset-paged by (date, start, id)."""
    limit = max(1, min(limit, 1000))
    d_from = parse_date(date_from, "From", "date_from", required=False)
    d_to = parse_date(date_to, "To", "date_to", required=False)
    if d_from and d_to and d_to < d_from:
        raise ValidationError("The 'to' date is before the 'from' date.", "date_to")
    what = func.coalesce(Session.title, Module.name, ActivityType.name)
    attended = (
        select(func.count()).select_from(Attendance)
        .join(AttendanceStatus, AttendanceStatus.id == Attendance.status_id)
        .where(Attendance.session_id == Session.id, Attendance.deleted_hlc.is_(None),
               AttendanceStatus.counts_as_attended.is_(True))
        .correlate(Session).scalar_subquery()
    )
    on_register = (
        select(func.count()).select_from(Attendance)
        .where(Attendance.session_id == Session.id, Attendance.deleted_hlc.is_(None))
        .correlate(Session).scalar_subquery()
    )
    q = (
        select(Session.id, Session.date, Session.start_time, Session.end_time, Establishment.code,
               what.label("what"), Session.location, Session.cancelled, attended.label("attended"),
               on_register.label("on_register"))
        .join(Establishment, Establishment.id == Session.establishment_id)
        .outerjoin(Module, Module.id == Session.module_id)
        .outerjoin(ActivityType, ActivityType.id == Session.activity_type_id)
        .where(Session.deleted_hlc.is_(None))
    )
    if establishment_id:
        q = q.where(Session.establishment_id == establishment_id)
    if d_from:
        q = q.where(Session.date >= d_from)
    if d_to:
        q = q.where(Session.date <= d_to)
    if programme_id:
        q = q.where(Module.programme_id == programme_id)
    if module_id:
        q = q.where(Session.module_id == module_id)
    if activity_type_id:
        q = q.where(Session.activity_type_id == activity_type_id)
    if not include_cancelled:
        q = q.where(Session.cancelled.is_(False))
    if facilitator_id:
        q = q.where(exists().where(
            SessionFacilitator.session_id == Session.id, SessionFacilitator.person_id == facilitator_id,
            SessionFacilitator.deleted_hlc.is_(None),
        ))
    for word in search.split():
        pattern = "%" + word.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        q = q.where(or_(what.ilike(pattern, escape="\\"), Session.location.ilike(pattern, escape="\\"),
                        Session.notes.ilike(pattern, escape="\\")))
    if after:
        q = q.where(tuple_(Session.date, Session.start_time, Session.id) < tuple_(*after))
    q = q.order_by(Session.date.desc(), Session.start_time.desc(), Session.id.desc()).limit(limit + 1)
    with ctx.read() as s:
        rows = s.execute(q).all()
    rows, cursor = keyset_page(rows, limit, lambda r: (r.date, r.start_time, r.id))
    return Page([SessionRow(r.id, r.date, r.start_time, r.end_time, r.code, r.what, r.location, r.cancelled,
                            r.attended, r.on_register) for r in rows], cursor)


def create_recruit_cohort(ctx: Context, *, name: str, starts_on: dt.date | str, size: int | None = None,
                          establishment_id: str | None = None) -> Any:
    start = parse_date(starts_on, "Start date", "starts_on")
    if size is not None and (not isinstance(size, int) or size < 1 or size > 500):
        raise ValidationError("A cohort's size is a number from 1 to 500.", "size")
    with ctx.write("recorder", "record recruit cohorts") as s:
        if establishment_id:
            get_live(s, Establishment, establishment_id, "establishment")
        cohort = RecruitCohort(name=text(name, "Cohort name", "name", max_len=120), starts_on=start, size=size,
                               establishment_id=establishment_id)
        s.add(cohort)
        s.flush()
        return to_record(cohort)


def update_recruit_cohort(ctx: Context, cohort_id: str, *, name: str | None = None,
                          starts_on: dt.date | str | None = None, size: int | None = None) -> Any:
    if size is not None and (not isinstance(size, int) or size < 1 or size > 500):
        raise ValidationError("A cohort's size is a number from 1 to 500.", "size")
    with ctx.write("recorder", "edit recruit cohorts") as s:
        cohort = get_live(s, RecruitCohort, cohort_id, "recruit cohort")
        if name is not None:
            cohort.name = text(name, "Cohort name", "name", max_len=120)
        if starts_on is not None:
            cohort.starts_on = parse_date(starts_on, "Start date", "starts_on")
        if size is not None:
            cohort.size = size
        s.flush()
        return to_record(cohort)
