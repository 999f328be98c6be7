"""The liberation record: what a person takes home, made by a coordinator, frozen, reprinted.

"A robust and meaningful recovery pathway that continues seamlessly throughout their custody and
on liberation carries on into their resettlement back into their community" (the strategy). When a
person's liberation date is near (:func:`upcoming_liberations`, the Today page's list), a
coordinator makes the record with them (:func:`make_record`): the area they go to, their own words
about their journey, and the day they agreed to it being made and shared. Its content (see
:mod:`srcdesk.reports.liberation_content`) is gathered once (:func:`gather`) and stored as it was
printed; :func:`reprint` gives that stored content back (never the database as it is now), and a
changed record is a new one.

Scoping: at an establishment PC, records are made for the people it holds at its own
establishment (the office would refuse another's in its bundle: :mod:`srcdesk.sync.authority`).
The office may make one for anyone.

The community organisations "near the area they go to" are those whose council area is that
area (live, not retired): :func:`organisations_in`, a small query of its own here.
"""

from __future__ import annotations

import datetime as dt
import os
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session as OrmSession

from ..errors import NotFound, PermissionDenied, ValidationError
from ..models import (
    LOCAL_AUTHORITIES,
    ORGANISATION_KINDS,
    ORGANISATION_ORDER,
    Certificate,
    CommunityOrganisation,
    Establishment,
    LiberationRecord,
    MilestoneDefinition,
    Person,
    PersonTransfer,
    Session,
    User,
)
from ..reports import liberation as pdf
from ..reports.certificate_content import CertificateContent
from ..reports.liberation_content import OFFICE_PLACE, VERSION, from_json, person_name, to_json
from ..sync.authority import local_refusal, refuse_here
from .base import Context, get_live, parse_date, text
from .completion import load_catalogue, module_completed_on, programme_completed_on
from .ladder import _attended, _held_levels, _person_facts

WEEKS = 8  # the Today page's list: liberations in the next 8 weeks
OWN_WORDS_MAX = 6000

# -- gathering the content ---------------------------------------------------------------------


def organisations_in(s: OrmSession, area: str) -> list[dict[str, Any]]:
    """The live community organisations in ``area`` (a council area): LEROs and recovery
    communities first, then services, by name; what they offer and how to reach them."""
    rows = s.execute(select(CommunityOrganisation).where(
        CommunityOrganisation.area == area, CommunityOrganisation.retired.is_(False),
        CommunityOrganisation.deleted_hlc.is_(None))).scalars()
    out = [{"name": o.name, "kind": o.kind, "kind_label": ORGANISATION_KINDS.get(o.kind, o.kind),
            "offers": (o.offers or "").strip(), "contact": (o.contact or "").strip()} for o in rows]
    out.sort(key=lambda o: (ORGANISATION_ORDER.get(o["kind"], 9), o["name"].casefold()))
    return out


def _establishment_names(s: OrmSession, person: Person, session_establishments: set[str]) -> list[str]:
    """Where the journey happened: the establishments of the sessions attended and of the
    person's transfers, by name, then the one they are at now."""
    ids = set(session_establishments)
    for frm, to in s.execute(select(PersonTransfer.from_establishment_id, PersonTransfer.to_establishment_id)
                             .where(PersonTransfer.person_id == person.id, PersonTransfer.deleted_hlc.is_(None))):
        ids |= {frm, to}
    ids.discard(None)  # type: ignore[arg-type]
    ids.discard(person.establishment_id)  # type: ignore[arg-type]
    names = sorted(e.name for e in (s.get(Establishment, i) for i in ids) if e is not None)
    current = s.get(Establishment, person.establishment_id) if person.establishment_id else None
    return names + ([current.name] if current is not None else [])


def _certificate_code(cert: Certificate) -> str:
    """The signed code exactly as the certificate prints it in its QR code ("" if it has none)."""
    if cert.content:
        try:
            return CertificateContent.from_json(cert.content).code
        except (ValueError, KeyError):
            pass
    return cert.code or ""


def _iso(day: int | None) -> str | None:
    return dt.date.fromordinal(day).isoformat() if day else None


def gather(s: OrmSession, person_id: str, *, area: str, own_words: str, made_on: dt.date,
           made_at: str | None) -> dict[str, Any]:
    """The content of a liberation record for ``person_id`` as the database has it now
    (``made_at``: the name of the establishment making it; None at the office). The completion
    rules are the certificates' (:mod:`srcdesk.services.completion`); a programme or module the
    person holds a valid certificate for counts as completed too."""
    person = get_live(s, Person, person_id, "person")
    attended = _attended(s, person_id)
    held = _held_levels(s, person_id)
    facts = _person_facts(s, person_id, attended, held)
    cat = load_catalogue(s)

    session_ids = [a[0] for a in attended]
    where_sessions: set[str] = set()
    for i in range(0, len(session_ids), 500):
        where_sessions |= set(s.execute(select(Session.establishment_id)
                                        .where(Session.id.in_(session_ids[i:i + 500]))).scalars())
    days = [a[1] for a in attended]

    programmes = []
    for p in cat.programmes.values():
        day = programme_completed_on(cat, facts, p.id)
        if day is not None or p.id in facts.certified:
            programmes.append({"code": p.code, "name": p.name, "completed_on": _iso(day)})
    programmes.sort(key=lambda p: (p["completed_on"] or "9999", p["name"]))

    modules = []
    for m in cat.modules.values():
        day = module_completed_on(cat, facts, m.id)
        if day is not None or m.id in facts.certified:
            prog = cat.programmes.get(m.programme_id)
            modules.append({"code": m.code, "name": m.name, "programme": prog.name if prog else "",
                            "completed_on": _iso(day)})
    modules.sort(key=lambda m: (m["programme"], m["completed_on"] or "9999", m["name"]))

    ladder = []
    for definition_id, achievement in held.items():
        definition = s.get(MilestoneDefinition, definition_id)
        if definition is not None:
            ladder.append({"level": definition.level, "name": definition.name,
                           "achieved_on": achievement.achieved_on.isoformat()})
    ladder.sort(key=lambda x: (x["level"], x["achieved_on"]))

    certificates = [
        {"serial": c.serial, "title": c.title, "kind": c.kind, "issued_on": c.issued_on.isoformat(),
         "code": _certificate_code(c)}
        for c in s.execute(select(Certificate).where(
            Certificate.person_id == person_id, Certificate.status == "valid", Certificate.deleted_hlc.is_(None))
            .order_by(Certificate.issued_on, Certificate.serial)).scalars()
    ]
    return {
        "v": VERSION,
        "name": person_name(person),
        "made_on": made_on.isoformat(),
        "made_at": made_at or OFFICE_PLACE,
        "establishments": _establishment_names(s, person, where_sessions),
        "area": area,
        "own_words": (own_words or "").strip(),
        "sessions": {"count": len(days), "first": days[0].isoformat() if days else None,
                     "last": days[-1].isoformat() if days else None},
        "programmes": programmes,
        "modules": modules,
        "ladder": ladder,
        "certificates": certificates,
        "organisations": organisations_in(s, area),
    }


# -- checks --------------------------------------------------------------------------------------


def _area(value: Any) -> str:
    wanted = " ".join(str(value or "").split())
    if not wanted:
        raise ValidationError("Choose the council area they are going to.", "area")
    for name in LOCAL_AUTHORITIES:
        if name.casefold() == wanted.casefold():
            return name
    raise ValidationError(f"'{wanted}' is not one of Scotland's 32 council areas; choose one from the list "
                          "(for example Glasgow City, Fife, Perth and Kinross).", "area")


def _consent(value: Any, today: dt.date) -> dt.date:
    if value is None or value == "":
        raise ValidationError("Record the day the person agreed to this record being made and shared: "
                              "it can't be made without their consent.", "consent_on")
    day = parse_date(value, "The consent date", "consent_on")
    assert day is not None
    if day > today:
        raise ValidationError("The consent date can't be in the future.", "consent_on")
    return day


def _held_here(ctx: Context, person: Person) -> None:
    """At an establishment PC, only its own people (what the office would accept in its bundle)."""
    inst = ctx.installation
    if inst.is_office:
        return
    if person.establishment_id != inst.establishment_id:
        raise PermissionDenied(f"{person_name(person)} is not at {inst.name or 'this establishment'}: a liberation "
                               "record is made by the establishment they are at, or at the SRC office.")


def _place(s: OrmSession, ctx: Context) -> str | None:
    est_id = ctx.installation.establishment_id
    est = s.get(Establishment, est_id) if est_id and not ctx.installation.is_office else None
    return est.name if est is not None else None


# -- the service --------------------------------------------------------------------------------


@dataclass(frozen=True)
class UpcomingRow:
    person_id: str
    display_name: str
    liberation_date: dt.date
    days: int  # from today
    establishment_code: str | None
    establishment: str | None
    record_made: dt.date | None  # the latest liberation record's date, if any


@dataclass(frozen=True)
class RecordRow:
    id: str
    person_id: str
    name: str  # as printed
    made_on: dt.date
    made_by: str  # the user's display name
    place: str  # where it was made
    area: str
    consent_on: dt.date
    printed_count: int


def upcoming_liberations(ctx: Context, today: dt.date | None = None, weeks: int = WEEKS) -> list[UpcomingRow]:
    """People with a liberation date from ``today`` to ``today`` + ``weeks`` weeks (both days
    included), soonest first: at an establishment its own people; at the office everyone, with
    their establishment. With the date of the last liberation record made for them, if any."""
    today = today or dt.date.today()
    if weeks < 1:
        raise ValidationError("The number of weeks must be at least 1.", "weeks")
    until = today + dt.timedelta(weeks=weeks)
    last = (select(LiberationRecord.person_id, func.max(LiberationRecord.made_on).label("made"))
            .where(LiberationRecord.deleted_hlc.is_(None)).group_by(LiberationRecord.person_id).subquery())
    q = (select(Person.id, Person.given_name, Person.family_name, Person.liberation_date, Establishment.code,
                Establishment.name, last.c.made)
         .outerjoin(Establishment, Establishment.id == Person.establishment_id)
         .outerjoin(last, last.c.person_id == Person.id)
         .where(Person.deleted_hlc.is_(None), Person.liberation_date >= today, Person.liberation_date <= until))
    if not ctx.installation.is_office:
        q = q.where(Person.establishment_id == ctx.installation.establishment_id)
    with ctx.read() as s:
        rows = s.execute(q).all()
    out = [UpcomingRow(pid, f"{given} {family}".strip(), day, (day - today).days, code, name, made)
           for pid, given, family, day, code, name, made in rows]
    out.sort(key=lambda r: (r.liberation_date, r.display_name.casefold()))
    return out


def preview(ctx: Context, person_id: str, *, area: str, own_words: str = "") -> dict[str, Any]:
    """What a record made now would print (nothing stored): the dialog's preview."""
    area = _area(area)
    with ctx.read() as s:
        person = get_live(s, Person, person_id, "person")
        _held_here(ctx, person)
        return gather(s, person_id, area=area, own_words=own_words, made_on=dt.date.today(), made_at=_place(s, ctx))


def make_record(ctx: Context, person_id: str, *, area: str, own_words: str, consent_on: dt.date | str,
                today: dt.date | None = None, write_to: str | os.PathLike[str] | None = None) -> RecordRow:
    """A coordinator makes a liberation record with the person: its content is gathered now and
    kept as printed (``printed_count`` 1: it is made to be printed). With ``write_to``, the PDF is
    written there before the record is kept: if it can't be, no record is kept either."""
    ctx.require("liberation.record")
    today = today or dt.date.today()
    area = _area(area)
    consent = _consent(consent_on, today)
    words = text(own_words, "Their own words", "own_words", required=False, max_len=OWN_WORDS_MAX) or ""
    with ctx.write("liberation.record") as s:
        person = get_live(s, Person, person_id, "person")
        _held_here(ctx, person)
        est_id = None if ctx.installation.is_office else ctx.installation.establishment_id
        refuse_here(ctx, "liberation_record", {"establishment_id": est_id})
        content = gather(s, person_id, area=area, own_words=words, made_on=today, made_at=_place(s, ctx))
        row = LiberationRecord(person_id=person_id, establishment_id=est_id, made_on=today, made_by=ctx.user.id,
                               area=area, consent_on=consent, own_words=words or None, content=to_json(content),
                               printed_count=1)
        s.add(row)
        s.flush()
        if write_to is not None:
            pdf.write_pdf(content, write_to)
        return _row(s, row)


def _row(s: OrmSession, r: LiberationRecord) -> RecordRow:
    user = s.get(User, r.made_by) if r.made_by else None
    est = s.get(Establishment, r.establishment_id) if r.establishment_id else None
    content = from_json(r.content)
    return RecordRow(r.id, r.person_id, content.get("name", ""), r.made_on, user.display_name if user else "",
                     est.name if est else OFFICE_PLACE, r.area or "", r.consent_on, r.printed_count)


def records(ctx: Context, person_id: str) -> list[RecordRow]:
    """The liberation records made for a person, the latest first."""
    with ctx.read() as s:
        get_live(s, Person, person_id, "person")
        rows = s.execute(select(LiberationRecord).where(LiberationRecord.person_id == person_id,
                                                        LiberationRecord.deleted_hlc.is_(None))
                         .order_by(LiberationRecord.made_on.desc(), LiberationRecord.id)).scalars()
        return [_row(s, r) for r in rows]


def last_own_words(ctx: Context, person_id: str) -> tuple[str, str | None]:
    """The own words and the area of the person's latest record ("" and None if none yet)."""
    with ctx.read() as s:
        r = s.execute(select(LiberationRecord).where(LiberationRecord.person_id == person_id,
                                                     LiberationRecord.deleted_hlc.is_(None))
                      .order_by(LiberationRecord.made_on.desc(), LiberationRecord.id.desc())).scalars().first()
        return ((r.own_words or "", r.area) if r is not None else ("", None))


def content_of(ctx: Context, record_id: str) -> dict[str, Any]:
    """A record's stored content (as printed), without counting a print."""
    with ctx.read() as s:
        return from_json(get_live(s, LiberationRecord, record_id, "liberation record").content)


def reprint(ctx: Context, record_id: str, write_to: str | os.PathLike[str] | None = None) -> dict[str, Any]:
    """The stored content of a record, to print again, and one more print counted. What it prints
    is what was printed first (the database as it is now is not read). A record made at another
    establishment (the person was transferred since) is reprinted without being counted here:
    only its own establishment or the office may change it. With ``write_to``, the PDF is written
    there (the print is counted only if it was)."""
    ctx.require("liberation.record")
    with ctx.write("liberation.record") as s:
        row = get_live(s, LiberationRecord, record_id, "liberation record")
        inst = ctx.installation
        if local_refusal("liberation_record", {"establishment_id": row.establishment_id}, office=inst.is_office,
                         establishment_id=inst.establishment_id) is None:
            row.printed_count = (row.printed_count or 0) + 1
            s.flush()
        content = from_json(row.content)
        if write_to is not None:
            pdf.write_pdf(content, write_to)
        return content


def find_person(ctx: Context, wanted: str) -> Any:
    """The person named on the command line: an id, a reference, or a unique name ("Given Family")."""
    from .people import person_by_ref_or_id

    try:
        return person_by_ref_or_id(ctx, wanted)
    except NotFound:
        pass
    words = " ".join(wanted.split()).casefold()
    with ctx.read() as s:
        found = [p for p in s.execute(select(Person).where(Person.deleted_hlc.is_(None),
                                                           Person.search_name == words)).scalars()]
        if not found:
            raise NotFound(f"No one here has the name, reference or id {wanted!r}.")
        if len(found) > 1:
            raise ValidationError(f"{len(found)} people are called {wanted!r}: give their id or reference instead.")
        from .base import to_record

        return to_record(found[0])
