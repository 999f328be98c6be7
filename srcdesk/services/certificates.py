"""Certificates: issue with an offline-minted serial, revoke, supersede. Never deleted."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import select

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


def serial_prefix(ctx: Context) -> str:
    return ctx.installation.establishment_code or "OFF"


def mint_serial(s, prefix: str, year: int) -> str:  # noqa: ANN001
    """Next serial such as ``SRC-PER-2024-000123`` from this installation's counter.

    The counter lives in this database and also moves past any serial with the same
    prefix and year that arrived from elsewhere, so numbers are never reused here.
    """
    key = f"serial:{prefix}:{year}"
    state = s.get(LocalState, key)
    last = int(state.value) if state else 0
    stem = f"SRC-{prefix}-{year}-"
    highest = s.execute(
        select(Certificate.serial).where(Certificate.serial.like(f"{stem}%")).order_by(Certificate.serial.desc()).limit(1)
    ).scalar_one_or_none()
    if highest and highest[len(stem):].isdigit():
        last = max(last, int(highest[len(stem):]))
    number = last + 1
    if state is None:
        s.add(LocalState(key=key, value=str(number)))
    else:
        state.value = str(number)
    return f"{stem}{number:06d}"


def issue(ctx: Context, *, person_id: str, kind: str, title: str | None = None, issued_on: dt.date | str | None = None,
          programme_id: str | None = None, module_id: str | None = None, achievement_id: str | None = None,
          recipient_name: str | None = None) -> Any:
    """Issue a certificate for a programme, module, milestone or award (coordinators)."""
    choice(kind, CERTIFICATE_KINDS, "Kind of certificate", "kind")
    day = parse_date(issued_on or dt.date.today(), "Date of issue", "issued_on")
    if day > dt.date.today():
        raise ValidationError("A certificate can't be dated in the future.", "issued_on")
    with ctx.write("coordinator", "issue certificates") as s:
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
            serial=mint_serial(s, serial_prefix(ctx), day.year), person_id=person_id, recipient_name=name, kind=kind,
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
    with ctx.write("coordinator", "revoke certificates") as s:
        cert = get_live(s, Certificate, certificate_id, "certificate")
        change_status(cert, "certificate", "valid", "revoked", reason)
        return saved(s, cert)


def supersede(ctx: Context, certificate_id: str, reason: str, *, recipient_name: str | None = None,
              title: str | None = None) -> Any:
    """Reissue with corrections (e.g. the name as printed); the old one is kept as superseded."""
    reason = text(reason, "Reason", "reason", max_len=1000)
    with ctx.write("coordinator", "reissue certificates") as s:
        old = get_live(s, Certificate, certificate_id, "certificate")
        change_status(old, "certificate", "valid", "superseded", reason)
        today = dt.date.today()
        new = Certificate(
            serial=mint_serial(s, serial_prefix(ctx), today.year), person_id=old.person_id,
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
