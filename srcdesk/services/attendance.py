"""The register: who was at a session, with what status and in what role."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import select

from ..errors import ValidationError
from ..models import Attendance, AttendanceRole, AttendanceStatus, Person, Session
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
    with ctx.write("recorder", "take registers") as s:
        session = get_live(s, Session, session_id, "session")
        get_live(s, Person, entry.person_id, "person")
        statuses, roles = _codes(s)
        status_id, role_id = _resolve(entry, statuses, roles)
        existing = s.execute(
            select(Attendance).where(Attendance.session_id == session.id, Attendance.person_id == entry.person_id)
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
    with ctx.write("recorder", "take registers") as s:
        session = get_live(s, Session, session_id, "session")
        if session.cancelled:
            raise ValidationError("This session was cancelled; its register can't be taken.", "session_id")
        statuses, roles = _codes(s)
        current = {
            a.person_id: a for a in s.execute(select(Attendance).where(Attendance.session_id == session.id)).scalars()
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
        rows = s.execute(
            select(Person.id, Person.given_name, Person.family_name, Person.external_ref, AttendanceStatus.code,
                   AttendanceRole.code, Attendance.note, AttendanceStatus.counts_as_attended)
            .join(Person, Person.id == Attendance.person_id)
            .join(AttendanceStatus, AttendanceStatus.id == Attendance.status_id)
            .join(AttendanceRole, AttendanceRole.id == Attendance.role_id)
            .where(Attendance.session_id == session_id, Attendance.deleted_hlc.is_(None))
            .order_by(Person.search_name, Person.id)
        ).all()
    return [RegisterLine(r[0], f"{r[1]} {r[2]}", r[3], r[4], r[5], r[6], r[7]) for r in rows]
