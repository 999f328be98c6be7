"""People: register, edit, search, transfer between establishments."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy import and_, func, intersect, select, tuple_
from sqlalchemy.orm import aliased

from ..errors import NotFound, ValidationError
from ..models import (
    PERSON_KINDS,
    ActivityType,
    Attendance,
    AttendanceRole,
    AttendanceStatus,
    Establishment,
    Module,
    Person,
    PersonTransfer,
    Session,
    User,
)
from ..models.people import PersonSearchWord
from ..sync.changelog import logged_changes
from ..sync.hlc import to_datetime
from .base import Context, Page, choice, get_live, keyset_page, parse_date, text, to_record, tombstone
from .referrals import follow_transfer

EDITABLE = ("given_name", "family_name", "kind", "external_ref", "consent_date", "consent_scope",
            "liberation_date", "notes")


@dataclass(frozen=True)
class PersonRow:
    """One line of a people list."""

    id: str
    given_name: str
    family_name: str
    kind: str
    establishment_code: str | None
    external_ref: str | None
    liberation_date: dt.date | None = None

    @property
    def display_name(self) -> str:
        return f"{self.given_name} {self.family_name}"


def search_key(given: str, family: str) -> str:
    """The name searched on (stored on the person): "given family", case-folded."""
    return f"{given} {family}".casefold()


def person_problems(values: dict[str, Any]) -> list[ValidationError]:
    """Every problem with a person's details at once, each naming its field, so that a form can
    show them all before saving (pure: no database)."""
    found = []
    for key, value in values.items():
        try:
            _clean({key: value})
        except ValidationError as error:
            found.append(error)
    if not found:
        try:
            _clean(values)
        except ValidationError as error:
            found.append(error)
    return found


def sort_key(given: str, family: str) -> str:
    """The order people are listed in, everywhere: family name, then given name, case-folded (the
    search index holds the same, made by its triggers: migration 0008)."""
    return f"{family} {given}".casefold()


def _clean(values: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in values.items():
        match key:
            case "given_name":
                out[key] = text(value, "Given name", key, max_len=80)
            case "family_name":
                out[key] = text(value, "Family name", key, max_len=80)
            case "kind":
                out[key] = choice(value, PERSON_KINDS, "Kind of person", key)
            case "external_ref":
                out[key] = text(value, "Reference", key, required=False, max_len=40)
            case "consent_scope":
                out[key] = text(value, "Consent scope", key, required=False, max_len=200)
            case "consent_date" | "liberation_date":
                label = "Consent date" if key == "consent_date" else "Liberation date"
                out[key] = parse_date(value, label, key, required=False)
            case "notes":
                out[key] = text(value, "Notes", key, required=False, max_len=4000)
            case _:
                raise ValidationError(f"'{key}' can't be changed here.", key)
    if out.get("consent_date") and out["consent_date"] > dt.date.today():
        raise ValidationError("The consent date can't be in the future.", "consent_date")
    if out.get("consent_scope") and not out.get("consent_date", True):
        raise ValidationError("Give the date consent was recorded.", "consent_date")
    return out


def _live_establishment(s, establishment_id: str | None):  # noqa: ANN001, ANN202
    if establishment_id is None:
        return None
    est = s.get(Establishment, establishment_id)
    if est is None or est.deleted_hlc is not None:
        raise ValidationError("That establishment is not known to srcdesk.", "establishment_id")
    return est


def create_person(ctx: Context, *, given_name: str, family_name: str, kind: str = "prisoner",
                  establishment_id: str | None = None, **details: Any) -> Any:
    """Register a person. Their establishment defaults to this installation's."""
    ctx.require("person.add")
    values = _clean({"given_name": given_name, "family_name": family_name, "kind": kind, **details})
    with ctx.write("person.add") as s:
        est_id = establishment_id or ctx.installation.establishment_id
        est = _live_establishment(s, est_id)
        if est is not None and est.closed is not None:
            raise ValidationError(f"{est.name} closed on {est.closed:%d %B %Y}.", "establishment_id")
        if values.get("external_ref"):
            _refuse_duplicate_ref(s, values["external_ref"], None)
        person = Person(**values, establishment_id=est_id,
                        search_name=search_key(values["given_name"], values["family_name"]))
        s.add(person)
        s.flush()
        return to_record(person)


def _refuse_duplicate_ref(s, ref: str, person_id: str | None) -> None:  # noqa: ANN001
    q = select(Person.given_name, Person.family_name).where(
        Person.external_ref == ref, Person.deleted_hlc.is_(None)
    )
    if person_id:
        q = q.where(Person.id != person_id)
    other = s.execute(q).first()
    if other:
        raise ValidationError(
            f"The reference {ref} is already recorded for {other.given_name} {other.family_name}.", "external_ref"
        )


def update_person(ctx: Context, person_id: str, **changes: Any) -> Any:
    values = _clean(changes)
    with ctx.write("person.edit") as s:
        person = get_live(s, Person, person_id, "person")
        if values.get("external_ref"):
            _refuse_duplicate_ref(s, values["external_ref"], person_id)
        for key, value in values.items():
            setattr(person, key, value)
        person.search_name = search_key(person.given_name, person.family_name)
        s.flush()
        return to_record(person)


def transfer_person(ctx: Context, person_id: str, to_establishment_id: str | None, *,
                    on: dt.date | str, reason: str | None = None) -> Any:
    """Move a person to another establishment (None: left custody). History is kept; their open
    referrals follow them (:func:`srcdesk.services.referrals.follow_transfer`)."""
    on_date = parse_date(on, "Transfer date", "on")
    if on_date > dt.date.today():
        raise ValidationError("A transfer can't be recorded for a future date.", "on")
    with ctx.write("person.transfer") as s:
        person = get_live(s, Person, person_id, "person")
        est = _live_establishment(s, to_establishment_id)
        if to_establishment_id == person.establishment_id:
            raise ValidationError("The person is already at that establishment.", "to_establishment_id")
        if est is not None and est.closed is not None and est.closed <= on_date:
            raise ValidationError(f"{est.name} closed on {est.closed:%d %B %Y}.", "to_establishment_id")
        last = s.execute(
            select(PersonTransfer.transferred_on).where(
                PersonTransfer.person_id == person_id, PersonTransfer.deleted_hlc.is_(None)
            ).order_by(PersonTransfer.transferred_on.desc()).limit(1)
        ).scalar_one_or_none()
        if last and on_date < last:
            raise ValidationError(f"The last transfer was on {last:%d %B %Y}; this one can't be earlier.", "on")
        move = PersonTransfer(person_id=person_id, from_establishment_id=person.establishment_id,
                              to_establishment_id=to_establishment_id, transferred_on=on_date,
                              reason=text(reason, "Reason", "reason", required=False, max_len=1000))
        s.add(move)
        person.establishment_id = to_establishment_id
        # Their Early Release to Residential Rehabilitation referrals not closed follow them.
        follow_transfer(s, person_id, to_establishment_id)
        s.flush()
        return to_record(move)


def establishment_history(ctx: Context, person_id: str) -> list[Any]:
    with ctx.read() as s:
        get_live(s, Person, person_id, "person")
        rows = s.execute(
            select(PersonTransfer).where(PersonTransfer.person_id == person_id, PersonTransfer.deleted_hlc.is_(None))
            .order_by(PersonTransfer.transferred_on, PersonTransfer.id)
        ).scalars()
        return [to_record(r) for r in rows]


def delete_person(ctx: Context, person_id: str, reason: str) -> None:
    """Record that a person was registered in error (a tombstone; nothing is erased)."""
    with ctx.write("person.delete") as s:
        tombstone(get_live(s, Person, person_id, "person"), reason)


def get_person(ctx: Context, person_id: str) -> Any:
    with ctx.read() as s:
        return to_record(get_live(s, Person, person_id, "person"))


def person_by_ref_or_id(ctx: Context, text_: str) -> Any:
    """The live person whose reference (case ignored) or id is ``text_`` (the command line's
    ``--person``); NotFound says so in words."""
    wanted = (text_ or "").strip()
    with ctx.read() as s:
        person = s.execute(select(Person).where(func.upper(Person.external_ref) == wanted.upper(),
                                                Person.deleted_hlc.is_(None))).scalars().first()
        if person is None:
            person = s.get(Person, wanted)
        if person is None or person.deleted_hlc is not None:
            raise NotFound(f"No one here has the reference or id {wanted!r}.")
        return to_record(person)


# A typed word matching at most this many index rows is "rare": the search reads those rows
# and sorts them. A commoner word is looked for by walking the index in name order until a
# page is full (matches are dense, so that is quick).
RARE_WORD_ROWS = 3000


def _prefix_range(word: str) -> tuple[str, str | None]:
    """The [low, high) range of index words that start with ``word`` (code-point order,
    which is how SQLite compares UTF-8 text)."""
    last = ord(word[-1])
    if last >= 0x10FFFF:
        return word, None
    return word, word[:-1] + chr(last + 1)


def _starts_with(column, word: str):  # noqa: ANN001, ANN202
    low, high = _prefix_range(word)
    if high is None:
        return and_(column >= low, func.substr(column, 1, len(word)) == word)
    return and_(column >= low, column < high)


def search_words(query: str) -> list[str]:
    """The words of a search, as they are matched (case-folded, duplicates and words that
    are the start of another typed word dropped: "jo john" finds the same as "john")."""
    words = dict.fromkeys("".join(c if c >= " " else " " for c in query.casefold()).split())
    return [w for w in words if not any(o != w and o.startswith(w) for o in words)]


def search_people(ctx: Context, query: str = "", *, establishment_id: str | None = None,
                  kind: str | None = None, limit: int = 100, after: tuple | None = None) -> Page[PersonRow]:
    """People with a name word starting with each typed word (or whose reference starts with it).

    "mc" finds McDonald and Hamish McKay; "john s" finds John Smith and Sam Johnson. Case
    doesn't matter. Ordered by name; keyset-paged: pass ``page.after`` back for the next page.

    Everything is decided in the compact ``person_search_word`` index (kept by triggers, see
    migrations 0002-0003); only the page of people found is read from ``person``.
    """
    limit = max(1, min(limit, 1000))
    words = search_words(query)
    idx = PersonSearchWord

    def narrowed(q):  # noqa: ANN001, ANN202
        if establishment_id:
            q = q.where(idx.establishment_id == establishment_id)
        if kind:
            q = q.where(idx.kind == kind)
        if after:
            q = q.where(tuple_(idx.search_name, idx.person_id) > tuple_(*after))
        return q

    with ctx.read() as s:
        sizes = {w: s.execute(select(func.count()).select_from(
            select(idx.person_id).where(_starts_with(idx.word, w)).limit(RARE_WORD_ROWS + 1).subquery()
        )).scalar_one() for w in words}
        first = min(words, key=lambda w: sizes[w]) if words else ""
        if words and sizes[first] == 0:
            return Page([], None)
        if not words:
            # The empty word: one index row per person, already in name order.
            found = narrowed(select(idx.search_name, idx.person_id).where(idx.word == ""))
        elif sizes[first] <= RARE_WORD_ROWS:
            # Read the rarest word's few index rows, check the other words of each, then sort.
            found = narrowed(select(idx.search_name, idx.person_id).where(_starts_with(idx.word, first)).distinct())
            for w in words:
                if w != first:
                    other = aliased(PersonSearchWord)
                    found = found.where(select(other.person_id).where(
                        other.person_id == idx.person_id, _starts_with(other.word, w)).exists())
        elif len(words) > 1:
            # Several common words: the people in all of their index ranges (sorted merges).
            found = intersect(*(narrowed(select(idx.search_name, idx.person_id).where(_starts_with(idx.word, w)))
                                for w in words)).subquery()
            found = select(found.c.search_name, found.c.person_id)
        elif establishment_id or kind:
            # One common word, and filters that keep few of its rows: read them, then sort.
            found = narrowed(select(idx.search_name, idx.person_id).where(_starts_with(idx.word, first)).distinct())
        else:
            # One common word over everyone: walk the index in name order, one group of rows
            # per person, until a page is full (``word || ''`` keeps SQLite from choosing the
            # word's range instead, which would sort most of the list).
            found = (narrowed(select(idx.search_name, idx.person_id))
                     .group_by(idx.search_name, idx.person_id)
                     .having(func.max(_starts_with(idx.word + "", first)) == 1))
        cols = found.selected_columns
        page = found.order_by(cols.search_name, cols.person_id).limit(limit + 1).subquery()
        rows = s.execute(
            select(Person.id, Person.given_name, Person.family_name, Person.kind, Establishment.code,
                   Person.external_ref, Person.liberation_date, page.c.search_name)
            .join(page, page.c.person_id == Person.id)
            .outerjoin(Establishment, Establishment.id == Person.establishment_id)
            .order_by(page.c.search_name, page.c.person_id)
        ).all()
    rows, cursor = keyset_page(rows, limit, lambda r: (r.search_name, r.id))
    return Page([PersonRow(r.id, r.given_name, r.family_name, r.kind, r.code, r.external_ref, r.liberation_date)
                 for r in rows], cursor)


@dataclass(frozen=True)
class PersonDetails:
    """What a person's page shows at the top: the person, where they are, and their consent."""

    person: Any  # the Person record
    kind_name: str
    establishment_code: str | None
    establishment_name: str | None
    consent_recorded_by: str | None  # display name of the user who last recorded the consent
    consent_recorded_at: dt.datetime | None  # when (UTC) it was recorded on srcdesk
    registered_by: str | None
    registered_at: dt.datetime | None


def _user_names(s, user_ids: set[str | None]) -> dict[str, str]:  # noqa: ANN001
    ids = {u for u in user_ids if u}
    if not ids:
        return {}
    return dict(s.execute(select(User.id, User.display_name).where(User.id.in_(ids))).all())


def person_details(ctx: Context, person_id: str) -> PersonDetails:
    """A person with their establishment, and who recorded their consent and when (from the
    change log: the latest change that set the consent date or scope)."""
    with ctx.read() as s:
        person = get_live(s, Person, person_id, "person")
        est = s.get(Establishment, person.establishment_id) if person.establishment_id else None
        consent_by = consent_at = None
        if person.consent_date is not None or person.consent_scope is not None:
            # Read through the change log's own reader: an insert may be logged without its values
            # (they are the row's; see sync.changelog).
            changes = logged_changes(s.connection().connection.driver_connection, "person", person_id)
            for change in sorted(changes, key=lambda c: c.version, reverse=True):
                if any(change.fields.get(k) is not None for k in ("consent_date", "consent_scope")):
                    consent_by, consent_at = change.user, to_datetime(change.hlc)
                    break
        names = _user_names(s, {consent_by, person.created_by})
        return PersonDetails(
            person=to_record(person), kind_name=PERSON_KINDS.get(person.kind, person.kind),
            establishment_code=est.code if est else None, establishment_name=est.name if est else None,
            consent_recorded_by=names.get(consent_by or "") if consent_by else None,
            consent_recorded_at=consent_at,
            registered_by=names.get(person.created_by or ""), registered_at=to_datetime(person.created_hlc),
        )


@dataclass(frozen=True)
class TransferRow:
    """One move in a person's establishment history, with the establishments' names."""

    id: str
    transferred_on: dt.date
    from_code: str | None
    from_name: str | None
    to_code: str | None
    to_name: str | None  # None: left custody
    reason: str | None
    recorded_by: str | None


def transfer_history(ctx: Context, person_id: str) -> list[TransferRow]:
    """A person's moves between establishments, oldest first, ready to show."""
    src, dst = aliased(Establishment), aliased(Establishment)
    with ctx.read() as s:
        get_live(s, Person, person_id, "person")
        rows = s.execute(
            select(PersonTransfer.id, PersonTransfer.transferred_on, PersonTransfer.reason, PersonTransfer.created_by,
                   src.code.label("from_code"), src.name.label("from_name"),
                   dst.code.label("to_code"), dst.name.label("to_name"))
            .outerjoin(src, src.id == PersonTransfer.from_establishment_id)
            .outerjoin(dst, dst.id == PersonTransfer.to_establishment_id)
            .where(PersonTransfer.person_id == person_id, PersonTransfer.deleted_hlc.is_(None))
            .order_by(PersonTransfer.transferred_on, PersonTransfer.id)
        ).all()
        names = _user_names(s, {r.created_by for r in rows})
    return [TransferRow(r.id, r.transferred_on, r.from_code, r.from_name, r.to_code, r.to_name, r.reason,
                        names.get(r.created_by or "")) for r in rows]


@dataclass(frozen=True)
class AttendanceHistoryRow:
    """One session on a person's attendance history."""

    session_id: str
    date: dt.date
    start_time: str
    what: str  # the session's title, module or activity
    establishment_code: str | None
    status: str
    role: str
    counts_as_attended: bool
    cancelled: bool


def attendance_history(ctx: Context, person_id: str, *, after: tuple | None = None,
                       limit: int = 100) -> Page[AttendanceHistoryRow]:
    """The sessions a person is on the register of, newest first; keyset-paged by
    (date, session id): pass ``page.after`` back for older ones."""
    limit = max(1, min(limit, 1000))
    q = (
        select(Session.id, Session.date, Session.start_time, Session.cancelled,
               func.coalesce(Session.title, Module.name, ActivityType.name).label("what"),
               Establishment.code, AttendanceStatus.name.label("status"),
               AttendanceStatus.counts_as_attended, AttendanceRole.name.label("role"))
        .select_from(Attendance)
        .join(Session, Session.id == Attendance.session_id)
        .join(AttendanceStatus, AttendanceStatus.id == Attendance.status_id)
        .join(AttendanceRole, AttendanceRole.id == Attendance.role_id)
        .outerjoin(Module, Module.id == Session.module_id)
        .outerjoin(ActivityType, ActivityType.id == Session.activity_type_id)
        .outerjoin(Establishment, Establishment.id == Session.establishment_id)
        .where(Attendance.person_id == person_id, Attendance.deleted_hlc.is_(None), Session.deleted_hlc.is_(None))
    )
    if after:
        day, session_id = after
        q = q.where(tuple_(Session.date, Session.id) < tuple_(parse_date(day, "Date", "after"), session_id))
    q = q.order_by(Session.date.desc(), Session.id.desc()).limit(limit + 1)
    with ctx.read() as s:
        get_live(s, Person, person_id, "person")
        rows = s.execute(q).all()
    rows, cursor = keyset_page(rows, limit, lambda r: (r.date.isoformat(), r.id))
    return Page([AttendanceHistoryRow(r.id, r.date, r.start_time, r.what or "", r.code, r.status, r.role,
                                      bool(r.counts_as_attended), bool(r.cancelled)) for r in rows], cursor)


__all__ = ["AttendanceHistoryRow", "PersonDetails", "PersonRow", "TransferRow", "attendance_history",
           "create_person", "delete_person", "establishment_history", "get_person", "person_details",
           "search_people", "search_words", "transfer_history", "transfer_person", "update_person"]
