"""Certificates: issue with an offline-minted serial, revoke, supersede. Never deleted.

**Serials** are minted offline, on the PC that issues the certificate, so they must not clash
with those of any other PC, including another PC at the same establishment that has not heard of
this one (PCs issue certificates before they are enrolled, and between trips to the office):

    SRC-PER-2026-3F9A-000123
    │   │   │    │    └ this PC's own counter for (establishment, year, tag), from 1
    │   │   │    └ the PC's tag: the last 4 hex digits of its installation id, upper case
    │   │   └ the year of issue
    │   └ the establishment code of the PC (``OFF`` at the office)
    └ SRC

The tag is the random end of the installation's uuid7, so it needs no enrolment. Two PCs of one
establishment share a tag with odds of 1 in 65,536 (2 PCs), 3 in 65,536 (3 PCs), 10 in 65,536
(5 PCs). Even then only serials that a PC mints before it has seen the other's certificates can
clash: the counter always moves past the highest serial of its stem this PC holds, from anywhere,
and a PC that finds a certificate another PC minted under its own tag widens its tag to 8 hex
digits for good (``SRC-PER-2026-1B2C3F9A-000001``), which the other PC's wide tag matches with odds
of 1 in 65,536 again. A serial on two valid certificates is noted by ``srcdesk check``
(:func:`serial_clashes`): reissue one of them, which gives it a serial of its own.

Serials minted before the tag existed (``SRC-PER-2026-000123``, one counter per establishment and
year on each PC) stay valid and are never renamed; two PCs of one establishment may have minted
the same one, so ``certificate.serial`` is not unique in the database (migration 0006) and both
certificates travel everywhere. The tagged form has counters of its own.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Integer, cast, func, select, tuple_
from sqlalchemy.orm import Session as OrmSession

from ..errors import NotFound, ValidationError
from ..ids import new_id
from ..models import (
    CERTIFICATE_KINDS,
    CERTIFICATE_STATUSES,
    Certificate,
    Establishment,
    LocalState,
    MilestoneAchievement,
    MilestoneDefinition,
    Module,
    Person,
    Programme,
)
from ..reports.certificate_content import CertificateContent, Signatory
from ..sync import certcode
from ..sync.authority import refuse_here
from .base import (
    Context,
    Page,
    change_status,
    choice,
    get_live,
    keyset_page,
    parse_date,
    saved,
    text,
    to_record,
)
from .certificate_design import design_for_print

TAG_DIGITS = 4
WIDE_TAG_DIGITS = 8
TAG_KEY = "serial:tag"  # local_state: set once this PC widened its tag (another PC used its short one)


def serial_prefix(ctx: Context) -> str:
    return ctx.installation.establishment_code or "OFF"


def installation_tag(installation_id: str, digits: int = TAG_DIGITS) -> str:
    """The last ``digits`` hex digits of an installation id, upper case: the random end of its
    uuid7 (the counter and clock bits are at the front), so PCs set up at the same moment differ."""
    return installation_id.replace("-", "")[-digits:].upper()


def serial_tag(s: OrmSession, installation_id: str, prefix: str) -> str:
    """This PC's tag in its serials: 4 hex digits, or 8 from the day it holds a certificate that
    another PC minted under its own 4 (the two PCs' ids end alike), so the clash stops there."""
    state = s.get(LocalState, TAG_KEY)
    if state is not None:
        return state.value
    short = installation_tag(installation_id)
    shared = s.execute(
        select(Certificate.id).where(*_starting(f"SRC-{prefix}-"), Certificate.origin_id != installation_id,
                                     Certificate.serial.like(f"SRC-{prefix}-____-{short}-%")).limit(1)
    ).first()
    if shared is None:
        return short
    wide = installation_tag(installation_id, WIDE_TAG_DIGITS)
    s.add(LocalState(key=TAG_KEY, value=wide))
    return wide


def mint_serial(s: OrmSession, *, prefix: str, tag: str, year: int) -> str:
    """Next serial such as ``SRC-PER-2026-3F9A-000123`` from this installation's counter.

    The counter lives in this database and also moves past any serial with the same stem that
    arrived from elsewhere, so a number is never minted twice here.
    """
    stem = f"SRC-{prefix}-{year}-{tag}-"
    key = f"serial:{prefix}:{year}:{tag}"  # (the untagged form's counters were serial:PER:2026)
    state = s.get(LocalState, key)
    number = func.substr(Certificate.serial, len(stem) + 1)
    highest = s.execute(
        select(func.max(cast(number, Integer))).where(
            *_starting(stem), number != "", number.op("NOT GLOB")("*[^0-9]*"))
    ).scalar_one()
    n = max(int(state.value) if state else 0, highest or 0) + 1
    if state is None:
        s.add(LocalState(key=key, value=str(n)))
    else:
        state.value = str(n)
    return f"{stem}{n:06d}"


def _starting(stem: str) -> tuple[Any, ...]:
    """Serials that start with ``stem`` (ending in ``-``), as a range the serial index serves."""
    return Certificate.serial >= stem, Certificate.serial < stem[:-1] + chr(ord(stem[-1]) + 1)


def new_serial(s: OrmSession, ctx: Context, year: int) -> str:
    """The next serial this PC mints for a certificate issued in ``year``."""
    prefix = serial_prefix(ctx)
    return mint_serial(s, prefix=prefix, tag=serial_tag(s, ctx.installation.id, prefix), year=year)


# -- issuing ------------------------------------------------------------------------------------

OFFICE_PLACE = "Scottish Recovery Consortium"
OFFICE_CODE = "OFF"


@dataclass(frozen=True)
class Award:
    """What a certificate is for, resolved from its ids: the words it prints and its code."""

    kind: str
    award_code: str
    title: str
    statement: str
    detail: str
    programme_id: str | None = None
    module_id: str | None = None
    achievement_id: str | None = None


# The words between the name and what it certifies, by kind; a module's and a level's line under it.
STATEMENTS = {"programme": "has successfully completed", "award": "has achieved",
              "module": "has successfully completed the module", "milestone": "is recognised as"}
LEVEL_DETAIL = "on the peer-volunteer ladder of the recovery community"


def module_detail(programme_name: str | None) -> str:
    return f"a module of the {programme_name}" if programme_name else ""


def _award(s: OrmSession, person_id: str, kind: str, programme_id: str | None, module_id: str | None,
           achievement_id: str | None) -> Award:
    if kind in ("programme", "award"):
        programme = get_live(s, Programme, programme_id or "", "programme")
        kind = "award" if kind == "award" or programme.kind == "award" else "programme"
        return Award(kind, programme.code, programme.name, STATEMENTS[kind], "", programme_id=programme.id)
    if kind == "module":
        module = get_live(s, Module, module_id or "", "module")
        programme = s.get(Programme, module.programme_id)
        return Award(kind, module.code, module.name, STATEMENTS[kind],
                     module_detail(programme.name if programme is not None else None), module_id=module.id)
    achievement = get_live(s, MilestoneAchievement, achievement_id or "", "milestone achievement")
    if achievement.person_id != person_id:
        raise ValidationError("That milestone belongs to someone else.", "achievement_id")
    if achievement.status != "active":
        raise ValidationError(f"That milestone is {achievement.status}.", "achievement_id")
    level = s.get(MilestoneDefinition, achievement.definition_id)
    return Award(kind, level.code, level.name, STATEMENTS[kind], LEVEL_DETAIL, achievement_id=achievement.id)


def find_award(ctx: Context, person_id: str, code: str) -> Award:
    """What ``code`` names for this person: a programme's, a module's or a ladder level's code
    (case ignored); a level needs the person to hold it (their active achievement is used)."""
    code = (code or "").strip()
    with ctx.read() as s:
        folded = func.upper(code)
        programme = s.execute(select(Programme).where(func.upper(Programme.code) == folded,
                                                      Programme.merged_into.is_(None),
                                                      Programme.deleted_hlc.is_(None))).scalar_one_or_none()
        if programme is not None:
            return _award(s, person_id, programme.kind if programme.kind == "award" else "programme",
                          programme.id, None, None)
        module = s.execute(select(Module).where(func.upper(Module.code) == folded, Module.merged_into.is_(None),
                                                Module.deleted_hlc.is_(None))).scalars().first()
        if module is not None:
            return _award(s, person_id, "module", None, module.id, None)
        level = s.execute(select(MilestoneDefinition).where(func.upper(MilestoneDefinition.code) == folded,
                                                            MilestoneDefinition.merged_into.is_(None))
                          ).scalar_one_or_none()
        if level is None:
            raise ValidationError(f"No programme, module or ladder level has the code {code!r}.", "award")
        held = s.execute(select(MilestoneAchievement.id).where(
            MilestoneAchievement.person_id == person_id, MilestoneAchievement.definition_id == level.id,
            MilestoneAchievement.status == "active", MilestoneAchievement.deleted_hlc.is_(None))
            .order_by(MilestoneAchievement.achieved_on.desc())).scalars().first()
        if held is None:
            raise ValidationError(f"This person has not been signed off as {level.name}.", "award")
        return _award(s, person_id, "milestone", None, None, held)


def _place(s: OrmSession, ctx: Context) -> tuple[str | None, str, str]:
    """(establishment id, its name as printed, its code) of this installation; the office's own."""
    est_id = ctx.installation.establishment_id
    if est_id is None:
        return None, OFFICE_PLACE, OFFICE_CODE
    est = s.get(Establishment, est_id)
    return est_id, est.name, est.code


def _signatories(s: OrmSession, ctx: Context) -> tuple[tuple[Signatory, ...], str]:
    """The signatories and footer to freeze into a certificate: the office's design if it names
    any signatory, else the coordinator issuing it."""
    people, footer = design_for_print(s)
    return people or (Signatory(ctx.user.display_name, "Issued by"),), footer


@dataclass(frozen=True)
class IssueRequest:
    """One certificate to issue: for whom, what for, and the name to print (None: their name)."""

    person_id: str
    kind: str
    programme_id: str | None = None
    module_id: str | None = None
    achievement_id: str | None = None
    recipient_name: str | None = None


def _issue_date(issued_on: dt.date | str | None) -> dt.date:
    day = parse_date(issued_on or dt.date.today(), "Date of issue", "issued_on")
    if day > dt.date.today():
        raise ValidationError("A certificate can't be dated in the future.", "issued_on")
    return day


def _make(s: OrmSession, ctx: Context, key: Any, request: IssueRequest, day: dt.date, *,
          title: str | None = None, supersedes: Certificate | None = None, batch_id: str | None = None) -> Certificate:
    """A new certificate with its serial, its content frozen and its code signed (not yet flushed)."""
    choice(request.kind, CERTIFICATE_KINDS, "Kind of certificate", "kind")
    person = get_live(s, Person, request.person_id, "person")
    award = _award(s, person.id, request.kind, request.programme_id, request.module_id, request.achievement_id)
    name = text(request.recipient_name or f"{person.given_name} {person.family_name}", "Name as printed",
                "recipient_name", max_len=170)
    title = text(title or award.title, "What it certifies", "title", max_len=250)
    est_id, place, est_code = _place(s, ctx)
    serial = new_serial(s, ctx, day.year)
    code = certcode.sign(key, serial=serial, award_code=award.award_code, issued_on=day,
                         establishment_code=est_code, name=name)
    signatories, footer = _signatories(s, ctx)
    content = CertificateContent(
        serial=serial, name=name, title=title, kind=award.kind, statement=award.statement, detail=award.detail,
        issued_on=day, place=place, establishment_code=est_code, award_code=award.award_code, code=code,
        signatories=signatories, footer=footer)
    cert = Certificate(
        serial=serial, person_id=person.id, recipient_name=name, kind=award.kind, title=title,
        programme_id=award.programme_id, module_id=award.module_id, achievement_id=award.achievement_id,
        issued_on=day, issued_by=ctx.user.id, status="valid", supersedes_id=supersedes.id if supersedes else None,
        establishment_id=est_id, award_code=award.award_code, content=content.to_json(), code=code,
        batch_id=batch_id)
    s.add(cert)
    return cert


def _signing_key(ctx: Context) -> Any:
    """This installation's signing key (read from its keys folder once per operation)."""
    from .trust import local_identity  # trust imports services that import this module

    return local_identity(ctx).signing_key


def issue(ctx: Context, *, person_id: str, kind: str, title: str | None = None, issued_on: dt.date | str | None = None,
          programme_id: str | None = None, module_id: str | None = None, achievement_id: str | None = None,
          recipient_name: str | None = None) -> Any:
    """Issue one certificate for a programme, module, ladder level or award (coordinators): its
    printed content is frozen and its QR code signed by this PC's key now."""
    ctx.require("certificate.issue")
    day = _issue_date(issued_on)
    key = _signing_key(ctx)
    with ctx.write("certificate.issue") as s:
        cert = _make(s, ctx, key, IssueRequest(person_id, kind, programme_id, module_id, achievement_id,
                                               recipient_name), day, title=title)
        s.flush()
        return to_record(cert)


@dataclass(frozen=True)
class Batch:
    id: str
    certificates: list[Any]  # records, in the order asked for


def issue_batch(ctx: Context, requests: Sequence[IssueRequest], *, issued_on: dt.date | str | None = None,
                progress: Callable[[int, int], None] | None = None) -> Batch:
    """Issue many certificates at once (a graduation): one transaction, so all are issued or none;
    they share a batch id, by which they are printed together."""
    ctx.require("certificate.issue")
    if not requests:
        raise ValidationError("Choose at least one certificate to issue.", "requests")
    day = _issue_date(issued_on)
    key = _signing_key(ctx)
    batch_id = new_id()
    made: list[Certificate] = []
    with ctx.write("certificate.issue") as s:
        for i, request in enumerate(requests):
            made.append(_make(s, ctx, key, request, day, batch_id=batch_id))
            if progress is not None:
                progress(i + 1, len(requests))
        s.flush()
        return Batch(batch_id, [to_record(c) for c in made])


def revoke(ctx: Context, certificate_id: str, reason: str) -> Any:
    """Revoke a valid certificate (never deleted: its record says when, by whom and why, and the
    revocation travels to every PC)."""
    reason = text(reason, "Reason", "reason", max_len=1000)
    with ctx.write("certificate.revoke", "revoke certificates") as s:
        cert = get_live(s, Certificate, certificate_id, "certificate")
        refuse_here(ctx, "certificate", {"establishment_id": cert.establishment_id})
        change_status(cert, "certificate", "valid", "revoked", reason)
        cert.status_changed_on, cert.status_changed_by = dt.date.today(), ctx.user.id
        return saved(s, cert)


def reissue(ctx: Context, certificate_id: str, reason: str, *, recipient_name: str | None = None,
            title: str | None = None, issued_on: dt.date | str | None = None) -> Any:
    """Reissue with corrections (e.g. the name as printed): a new certificate with a serial and
    code of its own that supersedes the old one, which is kept as superseded."""
    reason = text(reason, "Reason", "reason", max_len=1000)
    day = _issue_date(issued_on)
    key = _signing_key(ctx)
    with ctx.write("certificate.revoke", "reissue certificates") as s:
        old = get_live(s, Certificate, certificate_id, "certificate")
        refuse_here(ctx, "certificate", {"establishment_id": old.establishment_id})
        change_status(old, "certificate", "valid", "superseded", reason)
        old.status_changed_on, old.status_changed_by = dt.date.today(), ctx.user.id
        request = IssueRequest(old.person_id, old.kind, old.programme_id, old.module_id, old.achievement_id,
                               recipient_name or old.recipient_name)
        if old.kind == "milestone":  # the level may have been superseded since: reissue what was certified
            achievement = s.get(MilestoneAchievement, old.achievement_id)
            if achievement is not None and achievement.status != "active":
                raise ValidationError(f"The milestone this certifies is now {achievement.status}: revoke the "
                                      "certificate instead, or issue one for the current level.", "achievement_id")
        new = _make(s, ctx, key, request, day, title=title or old.title, supersedes=old)
        s.flush()
        return to_record(new)



# -- reading -------------------------------------------------------------------------------------


def certificates_for(ctx: Context, person_id: str) -> list[Any]:
    with ctx.read() as s:
        return [to_record(c) for c in s.execute(
            select(Certificate).where(Certificate.person_id == person_id, Certificate.deleted_hlc.is_(None))
            .order_by(Certificate.issued_on, Certificate.serial)
        ).scalars()]


def content_of(s: OrmSession, cert: Certificate) -> CertificateContent:
    """What ``cert`` prints: its frozen content; a certificate issued before content was frozen
    (no code either) is printed from its record, with the design of today."""
    if cert.content:
        return CertificateContent.from_json(cert.content)
    award = Award(cert.kind, cert.award_code or "", cert.title, STATEMENTS.get(cert.kind, STATEMENTS["programme"]), "")
    try:
        award = _award(s, cert.person_id, cert.kind, cert.programme_id, cert.module_id, cert.achievement_id)
    except (ValidationError, NotFound):
        pass
    est = _issued_at(s, cert.establishment_id, cert.serial)
    signatories = design_for_print(s)[0]
    return CertificateContent(
        serial=cert.serial, name=cert.recipient_name, title=cert.title, kind=cert.kind, statement=award.statement,
        detail=award.detail, issued_on=cert.issued_on, place=est.name if est else OFFICE_PLACE,
        establishment_code=est.code if est else OFFICE_CODE, award_code=award.award_code, code="",
        signatories=signatories, footer="")


def _serial_code(serial: str) -> str | None:
    """The establishment code a serial was minted under (``SRC-PER-…``), if it has one."""
    parts = serial.split("-")
    return parts[1] if len(parts) > 2 and parts[0] == "SRC" else None


def _issued_at(s: OrmSession, establishment_id: str | None, serial: str) -> Establishment | None:
    """Where a certificate was issued: its establishment, or for one issued before certificates
    named it, the establishment its serial was minted under (None: the office)."""
    if establishment_id:
        return s.get(Establishment, establishment_id)
    code = _serial_code(serial)
    if code in (None, OFFICE_CODE):
        return None
    return s.execute(select(Establishment).where(Establishment.code == code,
                                                 Establishment.merged_into.is_(None))).scalars().first()


def contents(ctx: Context, certificate_ids: Sequence[str]) -> list[CertificateContent]:
    """What to print for these certificates, in the order given (any signed-in user may print a
    certificate they can see; a revoked or superseded one is refused: print its reissue)."""
    with ctx.read() as s:
        out = []
        for cid in certificate_ids:
            cert = s.get(Certificate, cid)
            if cert is None or cert.deleted_hlc is not None:
                raise NotFound("That certificate no longer exists.")
            if cert.status != "valid":
                raise ValidationError(f"Certificate {cert.serial} is {cert.status}; it can't be printed.", "status")
            out.append(content_of(s, cert))
        return out


def select_for_print(ctx: Context, *, serials: Sequence[str] = (), issued_on: dt.date | str | None = None,
                     batch_id: str | None = None) -> list[str]:
    """Ids of the valid certificates named by serials, issued on a day, or of one batch (in serial
    order for a day or a batch; as given for serials). Unknown serials are refused by name."""
    with ctx.read() as s:
        live = (Certificate.deleted_hlc.is_(None), Certificate.status == "valid")
        if serials:
            ids, unknown = [], []
            for serial in serials:
                found = s.execute(select(Certificate.id).where(*live, Certificate.serial == serial.strip().upper())
                                  .order_by(Certificate.issued_on.desc())).scalars().first()
                (ids.append(found) if found else unknown.append(serial))
            if unknown:
                raise NotFound(f"No valid certificate has the serial {', '.join(unknown)}.")
            return ids
        if batch_id:
            where = Certificate.batch_id == batch_id.strip()
        elif issued_on:
            where = Certificate.issued_on == parse_date(issued_on, "Date of issue", "issued_on")
        else:
            raise ValidationError("Say which certificates: serials, a date of issue or a batch.", "serials")
        ids = list(s.execute(select(Certificate.id).where(*live, where).order_by(Certificate.serial)).scalars())
        if not ids:
            raise NotFound("No valid certificate matches that.")
        return ids


@dataclass(frozen=True)
class CertificateRow:
    id: str
    serial: str
    recipient_name: str
    person_id: str
    kind: str
    title: str
    issued_on: dt.date
    status: str
    status_reason: str | None
    status_changed_on: dt.date | None
    place: str
    establishment_id: str | None
    programme_id: str | None
    batch_id: str | None
    has_code: bool


def list_certificates(ctx: Context, *, status: str | None = None, establishment_id: str | None = None,
                      programme_id: str | None = None, person_id: str | None = None, search: str | None = None,
                      after: tuple | None = None, limit: int = 100) -> Page[CertificateRow]:
    """Certificates, newest first, keyset-paged by (issued on, serial, id). ``search``: the start
    of a serial, or words of the name as printed. ``programme_id`` includes its modules'."""
    limit = max(1, min(limit, 1000))
    with ctx.read() as s:
        q = (select(Certificate, Establishment.name).outerjoin(Establishment, Establishment.id == Certificate.establishment_id)
             .where(Certificate.deleted_hlc.is_(None)))
        if status:
            choice(status, CERTIFICATE_STATUSES, "Status", "status")
            q = q.where(Certificate.status == status)
        if establishment_id:
            q = q.where(Certificate.establishment_id == establishment_id)
        if programme_id:
            q = q.where((Certificate.programme_id == programme_id) | Certificate.module_id.in_(
                select(Module.id).where(Module.programme_id == programme_id)))
        if person_id:
            q = q.where(Certificate.person_id == person_id)
        words = (search or "").strip()
        if words:
            if words.upper().startswith("SRC-"):  # the start of a serial: a range the serial index serves
                stem = words.upper()
                q = q.where(Certificate.serial >= stem, Certificate.serial < stem + "\U0010ffff")
            else:
                for word in words.split():
                    q = q.where(Certificate.recipient_name.ilike(f"%{word}%"))
        if after:
            day, serial, cid = after
            day = dt.date.fromisoformat(day) if isinstance(day, str) else day
            q = q.where(tuple_(Certificate.issued_on, Certificate.serial, Certificate.id) < tuple_(day, serial, cid))
        rows = s.execute(q.order_by(Certificate.issued_on.desc(), Certificate.serial.desc(), Certificate.id.desc())
                         .limit(limit + 1)).all()
        names = dict(s.execute(select(Establishment.code, Establishment.name).where(
            Establishment.merged_into.is_(None))).all())

        def _legacy_place(c: Certificate) -> str:  # issued before certificates named where (or at the office)
            return OFFICE_PLACE if c.content or c.establishment_id else names.get(_serial_code(c.serial) or "",
                                                                                   OFFICE_PLACE)
        items = [CertificateRow(c.id, c.serial, c.recipient_name, c.person_id, c.kind, c.title, c.issued_on, c.status,
                                c.status_reason, c.status_changed_on, est_name or _legacy_place(c), c.establishment_id,
                                c.programme_id, c.batch_id, bool(c.code)) for c, est_name in rows]
    items, cursor = keyset_page(items, limit, lambda r: (r.issued_on, r.serial, r.id))
    return Page(items, cursor)


# -- serials on two certificates ---------------------------------------------------------------


@dataclass(frozen=True)
class ClashingCertificate:
    id: str
    recipient_name: str
    issued_on: dt.date
    origin_id: str  # the PC that issued it


@dataclass(frozen=True)
class SerialClash:
    """A serial printed on two or more valid certificates (minted on two PCs of one establishment
    before serials carried the PC's tag, or by two PCs whose tags were alike)."""

    serial: str
    certificates: tuple[ClashingCertificate, ...]

    @property
    def note(self) -> str:
        who = "; ".join(f"{c.recipient_name}, issued {c.issued_on:%d %b %Y}" for c in self.certificates)
        return (f"{len(self.certificates)} valid certificates have the serial {self.serial} ({who}), made on "
                "different PCs: reissue all but one of them, so that each has a serial of its own.")


def serial_clashes(conn: Any) -> list[SerialClash]:
    """Every serial held by two or more valid certificates, for ``srcdesk check`` to note (nothing
    is broken: both certificates exist on paper, and the records and their QR codes tell them
    apart; a reissue gives one a new serial and leaves the old record superseded). ``conn``: a
    SQLAlchemy connection or session."""
    live = (Certificate.deleted_hlc.is_(None), Certificate.status == "valid")
    shared = select(Certificate.serial).where(*live).group_by(Certificate.serial).having(func.count() > 1)
    rows = conn.execute(
        select(Certificate.serial, Certificate.id, Certificate.recipient_name, Certificate.issued_on,
               Certificate.origin_id)
        .where(*live, Certificate.serial.in_(shared))
        .order_by(Certificate.serial, Certificate.issued_on, Certificate.id)
    ).all()
    clashes: dict[str, list[ClashingCertificate]] = {}
    for serial, *rest in rows:
        clashes.setdefault(serial, []).append(ClashingCertificate(*rest))
    return [SerialClash(serial, tuple(certs)) for serial, certs in clashes.items()]
