"""The register: who was at a session, with what status and in what role."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import exists, func, select, tuple_

from ..errors import ValidationError
from ..models import (
    ActivityType,
    Attendance,
    AttendanceRole,
    AttendanceStatus,
    Establishment,
    Module,
    Person,
    Programme,
    Session,
    SessionFacilitator,
)
from .base import Context, get_live, revive, text, tombstone


@dataclass(frozen=True)
class RegisterEntry:
    """What the register says about one person (codes, e.g. 'present', 'participant')."""

    person_id: str
    status: str = "present"
    role: str = "participant"
    note: str | None = None


@dataclass(frozen=True)
class RegisterLine:
    person_id: str
    display_name: str
    external_ref: str | None
    status: str
    role: str
    note: str | None
    counts_as_attended: bool


@dataclass(frozen=True)
class SaveResult:
    added: int
    changed: int
    removed: int
    unchanged: int


def _codes(s) -> tuple[dict[str, AttendanceStatus], dict[str, AttendanceRole]]:  # noqa: ANN001
    statuses = {r.code: r for r in s.execute(select(AttendanceStatus).where(AttendanceStatus.deleted_hlc.is_(None))).scalars()}
    roles = {r.code: r for r in s.execute(select(AttendanceRole).where(AttendanceRole.deleted_hlc.is_(None))).scalars()}
    return statuses, roles


def _resolve(entry: RegisterEntry, statuses: dict, roles: dict) -> tuple[str, str]:
    status = statuses.get(entry.status)
    if status is None or status.retired:
        raise ValidationError(f"'{entry.status}' is not an attendance status.", "status")
    role = roles.get(entry.role)
    if role is None or role.retired:
        raise ValidationError(f"'{entry.role}' is not a role on the register.", "role")
    return status.id, role.id


def add_to_register(ctx: Context, session_id: str, entry: RegisterEntry) -> None:
    """Put one person on a session's register."""
    with ctx.write("register.take") as s:
        session = get_live(s, Session, session_id, "session")
        get_live(s, Person, entry.person_id, "person")
        statuses, roles = _codes(s)
        status_id, role_id = _resolve(entry, statuses, roles)
        existing = s.execute(
            select(Attendance).where(Attendance.session_id == session.id, Attendance.person_id == entry.person_id,
                                     Attendance.merged_into.is_(None))
        ).scalar_one_or_none()
        note = text(entry.note, "Note", "note", required=False, max_len=1000)
        if existing is not None and existing.deleted_hlc is None:
            raise ValidationError("This person is already on the register for this session.", "person_id")
        if existing is not None:  # removed earlier, now back: same row, tombstone cleared
            revive(existing)
            existing.status_id, existing.role_id, existing.note = status_id, role_id, note
        else:
            s.add(Attendance(session_id=session.id, person_id=entry.person_id, status_id=status_id,
                             role_id=role_id, note=note))


def save_register(ctx: Context, session_id: str, entries: Sequence[RegisterEntry]) -> SaveResult:
    """Save a whole register in one operation: the roster becomes exactly ``entries``.

    People left off are removed from the register (a tombstone with a reason); people
    already on it are updated only where something changed.
    """
    seen: set[str] = set()
    for e in entries:
        if e.person_id in seen:
            raise ValidationError("This person is already on the register for this session.", "person_id")
        seen.add(e.person_id)
    with ctx.write("register.take") as s:
        session = get_live(s, Session, session_id, "session")
        if session.cancelled:
            raise ValidationError("This session was cancelled; its register can't be taken.", "session_id")
        statuses, roles = _codes(s)
        current = {
            a.person_id: a for a in s.execute(select(Attendance).where(
                Attendance.session_id == session.id, Attendance.merged_into.is_(None))).scalars()
        }
        people = set(s.execute(
            select(Person.id).where(Person.id.in_(seen), Person.deleted_hlc.is_(None))
        ).scalars()) if seen else set()
        added = changed = unchanged = removed = 0
        for e in entries:
            if e.person_id not in people:
                raise ValidationError("Someone on the register is no longer recorded in srcdesk.", "person_id")
            status_id, role_id = _resolve(e, statuses, roles)
            note = text(e.note, "Note", "note", required=False, max_len=1000)
            row = current.get(e.person_id)
            if row is None:
                s.add(Attendance(session_id=session.id, person_id=e.person_id, status_id=status_id,
                                 role_id=role_id, note=note))
                added += 1
                continue
            if row.deleted_hlc is not None:
                revive(row)
                added += 1
            elif (row.status_id, row.role_id, row.note) == (status_id, role_id, note):
                unchanged += 1
                continue
            else:
                changed += 1
            row.status_id, row.role_id, row.note = status_id, role_id, note
        for person_id, row in current.items():
            if person_id not in seen and row.deleted_hlc is None:
                tombstone(row, "Removed from the register")
                removed += 1
        return SaveResult(added, changed, removed, unchanged)


def register(ctx: Context, session_id: str) -> list[RegisterLine]:
    """The register of a session, by name."""
    with ctx.read() as s:
        get_live(s, Session, session_id, "session")
        return _lines(s, session_id)


# -- the register screen: everything it shows, in one read ----------------------------------------


@dataclass(frozen=True)
class StatusChoice:
    """An attendance status as the register offers it (``key``: its one-letter shortcut)."""

    code: str
    name: str
    key: str
    counts_as_attended: bool
    retired: bool


@dataclass(frozen=True)
class RoleChoice:
    code: str
    name: str
    retired: bool


@dataclass(frozen=True)
class SessionSummary:
    """What a session is, for the head of its register."""

    id: str
    date: dt.date
    start_time: str
    end_time: str
    what: str  # the title, else the module or activity name
    programme: str | None  # the module's programme, None for an activity
    location: str | None
    establishment_id: str
    establishment_code: str
    establishment_name: str
    series_id: str | None
    cancelled: bool
    cancelled_reason: str | None
    facilitators: tuple[str, ...] = ()


@dataclass(frozen=True)
class RegisterSheet:
    """A session's register with everything needed to take it."""

    session: SessionSummary
    lines: list[RegisterLine]
    statuses: list[StatusChoice]  # all of them, in order (retired ones too, for old lines)
    roles: list[RoleChoice]


@dataclass(frozen=True)
class PreviousRegister:
    """The register of the session before this one (``session`` None if there is none)."""

    session: SessionSummary | None
    lines: list[RegisterLine]
    same_series: bool  # False: found by module/activity at the establishment (no series)


def _summary_query():  # noqa: ANN202
    return (
        select(Session.id, Session.date, Session.start_time, Session.end_time,
               func.coalesce(Session.title, Module.name, ActivityType.name).label("what"),
               Programme.name.label("programme"), Session.location, Session.establishment_id,
               Establishment.code, Establishment.name.label("establishment_name"), Session.series_id,
               Session.cancelled, Session.cancelled_reason)
        .join(Establishment, Establishment.id == Session.establishment_id)
        .outerjoin(Module, Module.id == Session.module_id)
        .outerjoin(Programme, Programme.id == Module.programme_id)
        .outerjoin(ActivityType, ActivityType.id == Session.activity_type_id)
    )


def _summary(s, session_id: str) -> SessionSummary:  # noqa: ANN001
    row = s.execute(_summary_query().where(Session.id == session_id, Session.deleted_hlc.is_(None))).first()
    if row is None:
        get_live(s, Session, session_id, "session")  # raises NotFound with the usual sentence
    names = s.execute(
        select(Person.given_name, Person.family_name)
        .join(SessionFacilitator, SessionFacilitator.person_id == Person.id)
        .where(SessionFacilitator.session_id == session_id, SessionFacilitator.deleted_hlc.is_(None))
        .order_by(func.lower(Person.family_name), func.lower(Person.given_name))
    ).all()
    return SessionSummary(row.id, row.date, row.start_time, row.end_time, row.what, row.programme, row.location,
                          row.establishment_id, row.code, row.establishment_name, row.series_id,
                          bool(row.cancelled), row.cancelled_reason,
                          tuple(f"{g} {f}" for g, f in names))


def _lines(s, session_id: str) -> list[RegisterLine]:  # noqa: ANN001
    rows = s.execute(
        select(Person.id, Person.given_name, Person.family_name, Person.external_ref, AttendanceStatus.code,
               AttendanceRole.code, Attendance.note, AttendanceStatus.counts_as_attended)
        .join(Person, Person.id == Attendance.person_id)
        .join(AttendanceStatus, AttendanceStatus.id == Attendance.status_id)
        .join(AttendanceRole, AttendanceRole.id == Attendance.role_id)
        .where(Attendance.session_id == session_id, Attendance.deleted_hlc.is_(None))
        .order_by(func.lower(Person.family_name), func.lower(Person.given_name), Person.id)
    ).all()
    return [RegisterLine(r[0], f"{r[1]} {r[2]}", r[3], r[4], r[5], r[6], r[7]) for r in rows]


def load_register(ctx: Context, session_id: str) -> RegisterSheet:
    """Everything the register screen shows, in one read: the session, its lines, the codes."""
    with ctx.read() as s:
        summary = _summary(s, session_id)
        lines = _lines(s, session_id)
        statuses = [
            StatusChoice(r.code, r.name, (r.key or "").upper(), bool(r.counts_as_attended), bool(r.retired))
            for r in s.execute(select(AttendanceStatus).where(AttendanceStatus.deleted_hlc.is_(None))
                               .order_by(AttendanceStatus.sort_order, AttendanceStatus.name)).scalars()
        ]
        roles = [
            RoleChoice(r.code, r.name, bool(r.retired))
            for r in s.execute(select(AttendanceRole).where(AttendanceRole.deleted_hlc.is_(None))
                               .order_by(AttendanceRole.sort_order, AttendanceRole.name)).scalars()
        ]
    return RegisterSheet(summary, lines, statuses, roles)


def previous_register(ctx: Context, session_id: str) -> PreviousRegister:
    """The people on the register of the session before this one.

    A session in a series ("repeat weekly") looks back along its series only: the first session
    of a new course has no previous register, even if another course ran the same module. A
    session without a series looks back to the last session of the same module or activity at
    the same establishment. Cancelled sessions and sessions whose register is empty are skipped.
    """
    with ctx.read() as s:
        this = get_live(s, Session, session_id, "session")
        has_register = exists().where(Attendance.session_id == Session.id, Attendance.deleted_hlc.is_(None))
        q = (
            select(Session.id)
            .where(Session.deleted_hlc.is_(None), Session.cancelled.is_(False), Session.id != this.id,
                   tuple_(Session.date, Session.start_time, Session.id) < tuple_(this.date, this.start_time, this.id),
                   has_register)
            .order_by(Session.date.desc(), Session.start_time.desc(), Session.id.desc())
            .limit(1)
        )
        if this.series_id:
            q = q.where(Session.series_id == this.series_id)
        else:
            q = q.where(Session.establishment_id == this.establishment_id)
            if this.module_id:
                q = q.where(Session.module_id == this.module_id)
            else:
                q = q.where(Session.activity_type_id == this.activity_type_id)
        previous_id = s.execute(q).scalar_one_or_none()
        if previous_id is None:
            return PreviousRegister(None, [], bool(this.series_id))
        return PreviousRegister(_summary(s, previous_id), _lines(s, previous_id), bool(this.series_id))
