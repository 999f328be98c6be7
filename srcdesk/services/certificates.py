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
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Integer, cast, func, select
from sqlalchemy.orm import Session as OrmSession

from ..errors import ValidationError
from ..models import (
    CERTIFICATE_KINDS,
    Certificate,
    LocalState,
    MilestoneAchievement,
    MilestoneDefinition,
    Module,
    Person,
    Programme,
)
from .base import Context, change_status, choice, get_live, parse_date, saved, text, to_record

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


def issue(ctx: Context, *, person_id: str, kind: str, title: str | None = None, issued_on: dt.date | str | None = None,
          programme_id: str | None = None, module_id: str | None = None, achievement_id: str | None = None,
          recipient_name: str | None = None) -> Any:
    """Issue a certificate for a programme, module, milestone or award (coordinators)."""
    ctx.require("certificate.issue")
    choice(kind, CERTIFICATE_KINDS, "Kind of certificate", "kind")
    day = parse_date(issued_on or dt.date.today(), "Date of issue", "issued_on")
    if day > dt.date.today():
        raise ValidationError("A certificate can't be dated in the future.", "issued_on")
    with ctx.write("certificate.issue") as s:
        person = get_live(s, Person, person_id, "person")
        name = text(recipient_name or f"{person.given_name} {person.family_name}", "Name as printed",
                    "recipient_name", max_len=170)
        subject = None
        if kind in ("programme", "award"):
            subject = get_live(s, Programme, programme_id or "", "programme").name
        elif kind == "module":
            subject = get_live(s, Module, module_id or "", "module").name
        else:
            achievement = get_live(s, MilestoneAchievement, achievement_id or "", "milestone achievement")
            if achievement.person_id != person_id:
                raise ValidationError("That milestone belongs to someone else.", "achievement_id")
            if achievement.status != "active":
                raise ValidationError(f"That milestone is {achievement.status}.", "achievement_id")
            subject = s.get(MilestoneDefinition, achievement.definition_id).name
        cert = Certificate(
            serial=new_serial(s, ctx, day.year), person_id=person_id, recipient_name=name, kind=kind,
            title=text(title or subject, "What it certifies", "title", max_len=250),
            programme_id=programme_id if kind in ("programme", "award") else None,
            module_id=module_id if kind == "module" else None,
            achievement_id=achievement_id if kind == "milestone" else None,
            issued_on=day, issued_by=ctx.user.id, status="valid",
        )
        s.add(cert)
        s.flush()
        return to_record(cert)


def revoke(ctx: Context, certificate_id: str, reason: str) -> Any:
    reason = text(reason, "Reason", "reason", max_len=1000)
    with ctx.write("certificate.revoke", "revoke certificates") as s:
        cert = get_live(s, Certificate, certificate_id, "certificate")
        change_status(cert, "certificate", "valid", "revoked", reason)
        return saved(s, cert)


def supersede(ctx: Context, certificate_id: str, reason: str, *, recipient_name: str | None = None,
              title: str | None = None) -> Any:
    """Reissue with corrections (e.g. the name as printed); the old one is kept as superseded."""
    reason = text(reason, "Reason", "reason", max_len=1000)
    with ctx.write("certificate.revoke", "reissue certificates") as s:
        old = get_live(s, Certificate, certificate_id, "certificate")
        change_status(old, "certificate", "valid", "superseded", reason)
        today = dt.date.today()
        new = Certificate(
            serial=new_serial(s, ctx, today.year), person_id=old.person_id,
            recipient_name=text(recipient_name or old.recipient_name, "Name as printed", "recipient_name", max_len=170),
            kind=old.kind, title=text(title or old.title, "What it certifies", "title", max_len=250),
            programme_id=old.programme_id, module_id=old.module_id, achievement_id=old.achievement_id,
            issued_on=today, issued_by=ctx.user.id, status="valid", supersedes_id=old.id,
        )
        return saved(s, new)


def certificates_for(ctx: Context, person_id: str) -> list[Any]:
    with ctx.read() as s:
        return [to_record(c) for c in s.execute(
            select(Certificate).where(Certificate.person_id == person_id, Certificate.deleted_hlc.is_(None))
            .order_by(Certificate.issued_on, Certificate.serial)
        ).scalars()]


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
