"""Sessions: record, edit, repeat weekly, cancel, list; recruit cohorts; facilitators."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy import and_, func, or_, select, tuple_

from ..dates import day_month_year
from ..errors import ValidationError
from ..ids import new_id
from ..models import (
    ActivityType,
    Attendance,
    AttendanceStatus,
    Establishment,
    Initiative,
    Module,
    Person,
    Programme,
    RecruitCohort,
    Session,
    SessionFacilitator,
)
from ..sync.authority import refuse_here
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
    facilitators: str = ""  # facilitators' names, comma-separated
    cancelled_reason: str | None = None


@dataclass(frozen=True)
class PersonChoice:
    """A person as offered in a picker (facilitators)."""

    id: str
    display_name: str
    external_ref: str | None
    establishment_code: str | None
    kind: str


@dataclass(frozen=True)
class SessionDetails:
    """Everything the session editor shows about one session."""

    session: Any  # SessionRecord
    facilitators: list[PersonChoice]
    programme_code: str | None  # the module's programme (None for an activity)
    cohort: Any | None  # RecruitCohortRecord
    on_register: int


@dataclass(frozen=True)
class SaveOutcome:
    """What :func:`save_session` did: the session saved and any weekly repeats made."""

    session: Any  # SessionRecord
    repeats: list[Any]
    cohort: Any | None  # the recruit cohort made on the way, if one was


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


def _check_initiative(s, initiative_id: str | None, establishment_id: str, on: dt.date) -> None:  # noqa: ANN001
    """A session may name an initiative of its own establishment that had not ended before its date."""
    if not initiative_id:
        return
    initiative = s.get(Initiative, initiative_id)
    if initiative is None or initiative.deleted_hlc is not None:
        raise ValidationError("That initiative is not known to srcdesk.", "initiative_id")
    if initiative.establishment_id != establishment_id:
        raise ValidationError(f"'{initiative.name}' is another establishment's initiative; a session names one "
                              "of its own establishment.", "initiative_id")
    if initiative.status == "ended" and (initiative.ended_on is None or initiative.ended_on < on):
        when = f" on {day_month_year(initiative.ended_on)}" if initiative.ended_on else ""
        raise ValidationError(f"'{initiative.name}' ended{when}, before this session's date.", "initiative_id")


def _set_facilitators(s, session: Session, person_ids: list[str]) -> None:  # noqa: ANN001
    if len(set(person_ids)) != len(person_ids):
        raise ValidationError("A facilitator is listed twice.", "facilitator_ids")
    current = {
        f.person_id: f for f in s.execute(
            select(SessionFacilitator).where(SessionFacilitator.session_id == session.id,
                                             SessionFacilitator.merged_into.is_(None))
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


def _create_in(s, ctx: Context, *, date: dt.date | str, start_time: str, end_time: str,  # noqa: ANN001
               module_id: str | None = None, activity_type_id: str | None = None,
               establishment_id: str | None = None, title: str | None = None,
               location: str | None = None, notes: str | None = None,
               recruit_cohort_id: str | None = None, facilitator_ids: list[str] | None = None,
               series_id: str | None = None, initiative_id: str | None = None) -> Session:
    day = parse_date(date, "Date", "date")
    start = parse_time(start_time, "Start time", "start_time")
    end = parse_time(end_time, "End time", "end_time")
    _check_times(start, end)
    est_id = establishment_id or ctx.installation.establishment_id
    if not est_id:
        raise ValidationError("Choose the establishment where the session took place.", "establishment_id")
    refuse_here(ctx, "session", {"establishment_id": est_id})  # what the office would refuse from here
    _check_establishment(s, est_id, day)
    _check_what(s, module_id, activity_type_id, recruit_cohort_id)
    _check_initiative(s, initiative_id, est_id, day)
    session = Session(
        establishment_id=est_id, date=day, start_time=start, end_time=end, module_id=module_id or None,
        activity_type_id=activity_type_id or None, recruit_cohort_id=recruit_cohort_id or None,
        title=text(title, "Title", "title", required=False),
        location=text(location, "Location", "location", required=False, max_len=120),
        notes=text(notes, "Notes", "notes", required=False, max_len=4000), series_id=series_id,
        initiative_id=initiative_id or None,
    )
    s.add(session)
    s.flush()
    _set_facilitators(s, session, list(facilitator_ids or []))
    s.flush()
    return session


def create_session(ctx: Context, *, date: dt.date | str, start_time: str, end_time: str,
                   module_id: str | None = None, activity_type_id: str | None = None,
                   establishment_id: str | None = None, title: str | None = None,
                   location: str | None = None, notes: str | None = None,
                   recruit_cohort_id: str | None = None, facilitator_ids: list[str] | None = None,
                   series_id: str | None = None, initiative_id: str | None = None) -> Any:
    # Checked before the transaction too, so bad input is refused without opening one.
    ctx.require("session.record")
    parse_date(date, "Date", "date")
    _check_times(parse_time(start_time, "Start time", "start_time"), parse_time(end_time, "End time", "end_time"))
    with ctx.write("session.record") as s:
        return to_record(_create_in(
            s, ctx, date=date, start_time=start_time, end_time=end_time, module_id=module_id,
            activity_type_id=activity_type_id, establishment_id=establishment_id, title=title,
            location=location, notes=notes, recruit_cohort_id=recruit_cohort_id,
            facilitator_ids=facilitator_ids, series_id=series_id, initiative_id=initiative_id,
        ))


UPDATABLE = frozenset({"date", "start_time", "end_time", "module_id", "activity_type_id", "title", "location",
                       "notes", "recruit_cohort_id", "facilitator_ids", "initiative_id"})


def _update_in(s, ctx: Context, session_id: str, changes: dict[str, Any]) -> Session:  # noqa: ANN001
    unknown = set(changes) - UPDATABLE
    if unknown:
        raise ValidationError(f"'{sorted(unknown)[0]}' can't be changed here.", sorted(unknown)[0])
    session = get_live(s, Session, session_id, "session")
    refuse_here(ctx, "session", {"establishment_id": session.establishment_id})
    if "date" in changes:
        session.date = parse_date(changes["date"], "Date", "date")
    if "start_time" in changes:
        session.start_time = parse_time(changes["start_time"], "Start time", "start_time")
    if "end_time" in changes:
        session.end_time = parse_time(changes["end_time"], "End time", "end_time")
    _check_times(session.start_time, session.end_time)
    for key in ("module_id", "activity_type_id", "recruit_cohort_id", "initiative_id"):
        if key in changes:
            setattr(session, key, changes[key] or None)
    _check_what(s, session.module_id, session.activity_type_id, session.recruit_cohort_id)
    _check_establishment(s, session.establishment_id, session.date)
    if changes.keys() & {"initiative_id", "date"}:
        _check_initiative(s, session.initiative_id, session.establishment_id, session.date)
    if "title" in changes:
        session.title = text(changes["title"], "Title", "title", required=False)
    if "location" in changes:
        session.location = text(changes["location"], "Location", "location", required=False, max_len=120)
    if "notes" in changes:
        session.notes = text(changes["notes"], "Notes", "notes", required=False, max_len=4000)
    if "facilitator_ids" in changes:
        _set_facilitators(s, session, list(changes["facilitator_ids"] or []))
    s.flush()
    return session


def update_session(ctx: Context, session_id: str, **changes: Any) -> Any:
    unknown = set(changes) - UPDATABLE
    if unknown:
        raise ValidationError(f"'{sorted(unknown)[0]}' can't be changed here.", sorted(unknown)[0])
    with ctx.write("session.edit") as s:
        return to_record(_update_in(s, ctx, session_id, changes))


def _repeat_in(s, template: Session, last_day: dt.date) -> list[Session]:  # noqa: ANN001
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
        try:
            _check_establishment(s, template.establishment_id, day)
            _check_initiative(s, template.initiative_id, template.establishment_id, day)
        except ValidationError as error:
            raise ValidationError(str(error), "until") from None
        copy = Session(
            establishment_id=template.establishment_id, date=day, start_time=template.start_time,
            end_time=template.end_time, module_id=template.module_id,
            activity_type_id=template.activity_type_id, recruit_cohort_id=template.recruit_cohort_id,
            title=template.title, location=template.location, series_id=template.series_id,
            initiative_id=template.initiative_id,
        )
        s.add(copy)
        made.append(copy)
    s.flush()
    for copy in made:
        for pid in facilitators:
            s.add(SessionFacilitator(session_id=copy.id, person_id=pid))
    s.flush()
    return made


def repeat_weekly(ctx: Context, session_id: str, until: dt.date | str) -> list[Any]:
    """Copy a session to the same weekday every week up to and including ``until``."""
    last_day = parse_date(until, "Repeat until", "until")
    with ctx.write("session.record") as s:
        template = get_live(s, Session, session_id, "session")
        return [to_record(c) for c in _repeat_in(s, template, last_day)]


def weekly_dates(first: dt.date, until: dt.date) -> list[dt.date]:
    """The dates ``repeat_weekly`` would add after ``first``, up to and including ``until``."""
    if until <= first:
        return []
    return [first + dt.timedelta(weeks=w) for w in range(1, (until - first).days // 7 + 1)]


def _cohort_values(name: Any, starts_on: Any, size: Any, prefix: str = "") -> tuple[str, dt.date, int | None]:
    start = parse_date(starts_on, "Cohort start date" if prefix else "Start date", f"{prefix}starts_on")
    if size is not None and (not isinstance(size, int) or isinstance(size, bool) or size < 1 or size > 500):
        raise ValidationError("A cohort's size is a number from 1 to 500.", f"{prefix}size")
    clean = text(name, "Cohort name", f"{prefix}name", max_len=120)
    return clean, start, size


def save_session(ctx: Context, session_id: str | None = None, *, new_cohort: dict[str, Any] | None = None,
                 repeat_until: dt.date | str | None = None, **fields: Any) -> SaveOutcome:
    """Record a new session (``session_id`` None) or change one, in one transaction.

    ``fields`` are those of :func:`create_session` (or :func:`update_session`'s changes).
    ``new_cohort`` (``name``, ``starts_on``, optional ``size``) makes a recruit cohort for this
    establishment and puts the session in it; its errors name the fields ``cohort_name``,
    ``cohort_starts_on``, ``cohort_size``. ``repeat_until`` (new sessions only) also records the
    session on the same weekday every week up to and including that date. Nothing is saved
    unless all of it can be.
    """
    ctx.require("session.record" if session_id is None else "session.edit")
    last_day = parse_date(repeat_until, "Repeat until", "until", required=False)
    if last_day is not None and session_id is not None:
        raise ValidationError("Only a new session can be repeated weekly.", "until")
    cohort_values = None
    if new_cohort is not None:
        cohort_values = _cohort_values(new_cohort.get("name"), new_cohort.get("starts_on"),
                                       new_cohort.get("size"), prefix="cohort_")
    with ctx.write("session.record" if session_id is None else "session.edit") as s:
        cohort = None
        if cohort_values is not None:
            name, start, size = cohort_values
            cohort = RecruitCohort(name=name, starts_on=start, size=size,
                                   establishment_id=fields.get("establishment_id")
                                   or ctx.installation.establishment_id)
            if session_id is not None and cohort.establishment_id is None:
                cohort.establishment_id = get_live(s, Session, session_id, "session").establishment_id
            s.add(cohort)
            s.flush()
            fields["recruit_cohort_id"] = cohort.id
        if session_id is None:
            session = _create_in(s, ctx, **fields)
        else:
            session = _update_in(s, ctx, session_id, fields)
        repeats = _repeat_in(s, session, last_day) if last_day is not None else []
        s.flush()
        return SaveOutcome(to_record(session), [to_record(r) for r in repeats],
                           to_record(cohort) if cohort is not None else None)


def cancel_session(ctx: Context, session_id: str, reason: str) -> Any:
    reason = text(reason, "Reason", "reason", max_len=1000)
    with ctx.write("session.cancel") as s:
        session = get_live(s, Session, session_id, "session")
        refuse_here(ctx, "session", {"establishment_id": session.establishment_id})
        if session.cancelled:
            raise ValidationError("This session is already cancelled.", "cancelled")
        session.cancelled = True
        session.cancelled_reason = reason
        s.flush()
        return to_record(session)


def delete_session(ctx: Context, session_id: str, reason: str) -> None:
    """Record that a session was entered in error (coordinators; its register goes with it)."""
    with ctx.write("session.delete") as s:
        session = get_live(s, Session, session_id, "session")
        refuse_here(ctx, "session", {"establishment_id": session.establishment_id})
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


# A filter matching more sessions than this is applied while walking the sessions newest first
# (the first page is found quickly among so many); a rarer one goes through its own index
# (few rows to sort). Either way the first page costs a few milliseconds, not a sort of 60,000.
DENSE_FILTER = 3000


def _like(word: str) -> str:
    return "%" + word.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


def _selective(s, column, value: str):  # noqa: ANN001, ANN202
    """``column == value``, keeping SQLite off ``column``'s index when the value is common."""
    n = s.execute(select(func.count()).select_from(Session).where(column == value)).scalar_one()
    return (column if n <= DENSE_FILTER else column.concat("")) == value


def list_sessions(ctx: Context, *, establishment_id: str | None = None, date_from: dt.date | str | None = None,
                  date_to: dt.date | str | None = None, programme_id: str | None = None,
                  module_id: str | None = None, activity_type_id: str | None = None,
                  facilitator_id: str | None = None, search: str = "", include_cancelled: bool = True,
                  limit: int = 100, after: tuple | None = None, initiative_id: str | None = None) -> Page[SessionRow]:
    """Newest first; keyset-paged by (date, start, id).

    The page is chosen first (filters, order, limit) and only its rows are then filled in
    (names, counts, facilitators), so a filter that matches many sessions stays quick.
    """
    limit = max(1, min(limit, 1000))
    d_from = parse_date(date_from, "From", "date_from", required=False)
    d_to = parse_date(date_to, "To", "date_to", required=False)
    if d_from and d_to and d_to < d_from:
        raise ValidationError("The 'to' date is before the 'from' date.", "date_to")
    with ctx.read() as s:
        page_q = select(Session.id, Session.date, Session.start_time).where(Session.deleted_hlc.is_(None))
        if establishment_id:
            page_q = page_q.where(Session.establishment_id == establishment_id)
        if d_from:
            page_q = page_q.where(Session.date >= d_from)
        if d_to:
            page_q = page_q.where(Session.date <= d_to)
        if programme_id:
            page_q = page_q.where(Session.module_id.in_(select(Module.id).where(Module.programme_id == programme_id)))
        if module_id:
            page_q = page_q.where(_selective(s, Session.module_id, module_id))
        if activity_type_id:
            page_q = page_q.where(_selective(s, Session.activity_type_id, activity_type_id))
        if not include_cancelled:
            page_q = page_q.where(Session.cancelled.is_(False))
        if initiative_id:
            page_q = page_q.where(Session.initiative_id == initiative_id)
        if facilitator_id:
            theirs = (SessionFacilitator.person_id == facilitator_id, SessionFacilitator.deleted_hlc.is_(None))
            n = s.execute(select(func.count()).select_from(SessionFacilitator)
                          .where(SessionFacilitator.person_id == facilitator_id)).scalar_one()
            if n <= DENSE_FILTER:  # their sessions, by the person index, then sorted
                page_q = page_q.where(Session.id.in_(select(SessionFacilitator.session_id).where(*theirs)))
            else:  # someone who runs a great many: walk the sessions newest first
                page_q = page_q.where(
                    select(SessionFacilitator.id).where(SessionFacilitator.session_id == Session.id, *theirs)
                    .correlate(Session).exists())
        for word in search.split():
            pattern = _like(word)
            # The session's name is its title, or else its module's or activity's name: match
            # those names in their own (small) tables, then the sessions by id.
            module_ids = select(Module.id).where(Module.name.like(pattern, escape="\\"))
            activity_ids = select(ActivityType.id).where(ActivityType.name.like(pattern, escape="\\"))
            page_q = page_q.where(or_(
                Session.title.like(pattern, escape="\\"),
                and_(Session.title.is_(None), or_(Session.module_id.in_(module_ids),
                                                  Session.activity_type_id.in_(activity_ids))),
                Session.location.like(pattern, escape="\\"),
                Session.notes.like(pattern, escape="\\"),
            ))
        if after:
            page_q = page_q.where(Session.date <= after[0],
                                  tuple_(Session.date, Session.start_time, Session.id) < tuple_(*after))
        page = (page_q.order_by(Session.date.desc(), Session.start_time.desc(), Session.id.desc())
                .limit(limit + 1).subquery("page"))

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
        facilitator_names = (
            select(func.group_concat(Person.given_name + " " + Person.family_name, ", "))
            .select_from(SessionFacilitator)
            .join(Person, Person.id == SessionFacilitator.person_id)
            .where(SessionFacilitator.session_id == Session.id, SessionFacilitator.deleted_hlc.is_(None))
            .correlate(Session).scalar_subquery()
        )
        q = (
            select(Session.id, Session.date, Session.start_time, Session.end_time, Establishment.code,
                   what.label("what"), Session.location, Session.cancelled, attended.label("attended"),
                   on_register.label("on_register"), facilitator_names.label("facilitators"),
                   Session.cancelled_reason)
            .select_from(page)
            .join(Session, Session.id == page.c.id)
            .join(Establishment, Establishment.id == Session.establishment_id)
            .outerjoin(Module, Module.id == Session.module_id)
            .outerjoin(ActivityType, ActivityType.id == Session.activity_type_id)
            .order_by(page.c.date.desc(), page.c.start_time.desc(), page.c.id.desc())
        )
        rows = s.execute(q).all()
    rows, cursor = keyset_page(rows, limit, lambda r: (r.date, r.start_time, r.id))
    return Page([SessionRow(r.id, r.date, r.start_time, r.end_time, r.code, r.what, r.location, r.cancelled,
                            r.attended, r.on_register, r.facilitators or "", r.cancelled_reason)
                 for r in rows], cursor)


def week_of(day: dt.date) -> tuple[dt.date, dt.date]:
    """The Monday and the Sunday of the week that contains ``day``."""
    monday = day - dt.timedelta(days=day.weekday())
    return monday, monday + dt.timedelta(days=6)


def sessions_between(ctx: Context, date_from: dt.date | str, date_to: dt.date | str, *,
                     establishment_id: str | None = None, include_cancelled: bool = True,
                     limit: int = 1000) -> list[SessionRow]:
    """Sessions from ``date_from`` to ``date_to`` (a week, say), in the order they happen."""
    page = list_sessions(ctx, establishment_id=establishment_id, date_from=date_from, date_to=date_to,
                         include_cancelled=include_cancelled, limit=limit)
    return sorted(page.items, key=lambda r: (r.date, r.start_time, r.end_time, r.what or ""))


def _choice(p: Person, code: str | None) -> PersonChoice:
    return PersonChoice(p.id, f"{p.given_name} {p.family_name}", p.external_ref, code, p.kind)


def get_session_details(ctx: Context, session_id: str) -> SessionDetails:
    """A session with its facilitators (by name), its programme and its recruit cohort."""
    with ctx.read() as s:
        session = get_live(s, Session, session_id, "session")
        people = s.execute(
            select(Person, Establishment.code)
            .join(SessionFacilitator, SessionFacilitator.person_id == Person.id)
            .outerjoin(Establishment, Establishment.id == Person.establishment_id)
            .where(SessionFacilitator.session_id == session_id, SessionFacilitator.deleted_hlc.is_(None))
            .order_by(Person.search_name)
        ).all()
        programme_code = None
        if session.module_id:
            programme_code = s.execute(
                select(Programme.code).join(Module, Module.programme_id == Programme.id)
                .where(Module.id == session.module_id)
            ).scalar_one_or_none()
        cohort = s.get(RecruitCohort, session.recruit_cohort_id) if session.recruit_cohort_id else None
        on_register = s.execute(
            select(func.count()).select_from(Attendance)
            .where(Attendance.session_id == session_id, Attendance.deleted_hlc.is_(None))
        ).scalar_one()
        return SessionDetails(to_record(session), [_choice(p, code) for p, code in people], programme_code,
                              to_record(cohort) if cohort is not None else None, on_register)


def list_recruit_cohorts(ctx: Context, *, establishment_id: str | None = None, limit: int = 200) -> list[Any]:
    """Recruit cohorts, newest first: this establishment's and those not tied to one
    (at the office with no ``establishment_id``: every cohort)."""
    est_id = establishment_id or ctx.installation.establishment_id
    q = select(RecruitCohort).where(RecruitCohort.deleted_hlc.is_(None))
    if est_id:
        q = q.where(or_(RecruitCohort.establishment_id == est_id, RecruitCohort.establishment_id.is_(None)))
    q = q.order_by(RecruitCohort.starts_on.desc(), RecruitCohort.name).limit(max(1, min(limit, 1000)))
    with ctx.read() as s:
        return [to_record(c) for c in s.execute(q).scalars()]


def list_facilitators(ctx: Context, *, establishment_id: str | None = None, search: str = "",
                      limit: int = 200) -> list[PersonChoice]:
    """People who have facilitated a session (at ``establishment_id`` if given), by name;
    ``search`` keeps those whose name words start with the typed words."""
    limit = max(1, min(limit, 1000))
    # Few people facilitate, many times each: hop through the person index from one facilitator
    # to the next (a few hundred index seeks) rather than reading every facilitator row; then
    # keep those who facilitate a live session (at the establishment, if one is given).
    sf = SessionFacilitator.__table__
    if establishment_id:
        # The establishment's sessions (its index) and their facilitators (the session's index).
        who = (select(sf.c.person_id).join(Session, Session.id == sf.c.session_id)
               .where(Session.establishment_id == establishment_id).distinct().subquery("who"))
    else:
        hop = select(func.min(sf.c.person_id).label("id")).cte("hop", recursive=True)
        hop = hop.union_all(
            select(select(func.min(sf.c.person_id)).where(sf.c.person_id > hop.c.id).scalar_subquery())
            .where(hop.c.id.is_not(None))
        )
        who = select(hop.c.id.label("person_id")).where(hop.c.id.is_not(None)).subquery("who")
    live = (
        select(SessionFacilitator.id).join(Session, Session.id == SessionFacilitator.session_id)
        .where(SessionFacilitator.person_id == Person.id, SessionFacilitator.deleted_hlc.is_(None),
               Session.deleted_hlc.is_(None))
    )
    if establishment_id:
        live = live.where(Session.establishment_id == establishment_id)
    q = (
        select(Person, Establishment.code)
        .select_from(who)
        .join(Person, Person.id == who.c.person_id)
        .outerjoin(Establishment, Establishment.id == Person.establishment_id)
        .where(Person.deleted_hlc.is_(None), live.exists())
    )
    for word in search.casefold().split():
        escaped = word.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        q = q.where(or_(Person.search_name.like(f"{escaped}%", escape="\\"),
                        Person.search_name.like(f"% {escaped}%", escape="\\")))
    q = q.order_by(Person.search_name, Person.id).limit(limit)
    with ctx.read() as s:
        return [_choice(p, code) for p, code in s.execute(q).all()]


def create_recruit_cohort(ctx: Context, *, name: str, starts_on: dt.date | str, size: int | None = None,
                          establishment_id: str | None = None) -> Any:
    ctx.require("cohort.record")
    name, start, size = _cohort_values(name, starts_on, size)
    with ctx.write("cohort.record") as s:
        if establishment_id:
            get_live(s, Establishment, establishment_id, "establishment")
        refuse_here(ctx, "recruit_cohort", {"establishment_id": establishment_id})
        cohort = RecruitCohort(name=name, starts_on=start, size=size, establishment_id=establishment_id)
        s.add(cohort)
        s.flush()
        return to_record(cohort)


def update_recruit_cohort(ctx: Context, cohort_id: str, *, name: str | None = None,
                          starts_on: dt.date | str | None = None, size: int | None = None) -> Any:
    if size is not None and (not isinstance(size, int) or size < 1 or size > 500):
        raise ValidationError("A cohort's size is a number from 1 to 500.", "size")
    with ctx.write("cohort.edit") as s:
        cohort = get_live(s, RecruitCohort, cohort_id, "recruit cohort")
        refuse_here(ctx, "recruit_cohort", {"establishment_id": cohort.establishment_id})
        if name is not None:
            cohort.name = text(name, "Cohort name", "name", max_len=120)
        if starts_on is not None:
            cohort.starts_on = parse_date(starts_on, "Start date", "starts_on")
        if size is not None:
            cohort.size = size
        s.flush()
        return to_record(cohort)
