"""Initiatives in establishments, community organisations (LEROs), referrals.

At an establishment PC, its own initiatives and its own links to community organisations only:
the office would refuse another establishment's in its bundle (:mod:`srcdesk.sync.authority`), so
the person is told at once. Community organisations themselves are shared: coordinators anywhere
add and edit them.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import select

from ..errors import ValidationError
from ..models import (
    INITIATIVE_KINDS,
    INITIATIVE_STATUSES,
    REFERRAL_STAGES,
    REFERRAL_STATUSES,
    CommunityOrganisation,
    Establishment,
    Initiative,
    OrganisationLink,
    Person,
    Referral,
    ReferralStage,
)
from ..sync.authority import refuse_here
from .base import Context, choice, get_live, parse_date, revive, saved, text, to_record, tombstone

# -- initiatives --------------------------------------------------------------------------------


def _initiative_values(values: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in values.items():
        match key:
            case "kind":
                out[key] = choice(value, INITIATIVE_KINDS, "Kind of initiative", key)
            case "name":
                out[key] = text(value, "Name", key)
            case "status":
                out[key] = choice(value, INITIATIVE_STATUSES, "Status", key)
            case "started_on" | "last_reviewed_on":
                out[key] = parse_date(value, "Date", key, required=False)
            case "review_notes":
                out[key] = text(value, "Review notes", key, required=False, max_len=8000)
            case _:
                raise ValidationError(f"'{key}' can't be set on an initiative.", key)
    return out


def create_initiative(ctx: Context, *, kind: str, name: str, establishment_id: str | None = None,
                      **values: Any) -> Any:
    ctx.require("initiative.record")
    clean = _initiative_values({"kind": kind, "name": name, **values})
    with ctx.write("initiative.record") as s:
        est_id = establishment_id or ctx.installation.establishment_id
        refuse_here(ctx, "initiative", {"establishment_id": est_id})
        get_live(s, Establishment, est_id or "", "establishment")
        return saved(s, Initiative(establishment_id=est_id, **clean))


def update_initiative(ctx: Context, initiative_id: str, **values: Any) -> Any:
    ctx.require("initiative.edit")
    clean = _initiative_values(values)
    with ctx.write("initiative.edit") as s:
        row = get_live(s, Initiative, initiative_id, "initiative")
        refuse_here(ctx, "initiative", {"establishment_id": row.establishment_id})
        return saved(s, row, clean)


def initiatives(ctx: Context, establishment_id: str | None = None) -> list[Any]:
    with ctx.read() as s:
        q = select(Initiative).where(Initiative.deleted_hlc.is_(None))
        if establishment_id:
            q = q.where(Initiative.establishment_id == establishment_id)
        return [to_record(r) for r in s.execute(q.order_by(Initiative.name)).scalars()]


# -- community organisations -------------------------------------------------------------------


def _org_values(values: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in values.items():
        match key:
            case "name":
                out[key] = text(value, "Name", key)
            case "kind":
                out[key] = choice(value, ("lero", "service"), "Kind of organisation", key)
            case "area":
                out[key] = text(value, "Area", key, required=False, max_len=120)
            case "contact" | "notes":
                out[key] = text(value, key.capitalize(), key, required=False, max_len=4000)
            case _:
                raise ValidationError(f"'{key}' can't be set on an organisation.", key)
    return out


def create_organisation(ctx: Context, *, name: str, kind: str = "lero", **values: Any) -> Any:
    ctx.require("organisation.edit")
    clean = _org_values({"name": name, "kind": kind, **values})
    with ctx.write("organisation.edit", "add community organisations") as s:
        return saved(s, CommunityOrganisation(**clean))


def update_organisation(ctx: Context, organisation_id: str, **values: Any) -> Any:
    ctx.require("organisation.edit")
    clean = _org_values(values)
    with ctx.write("organisation.edit", "edit community organisations") as s:
        return saved(s, get_live(s, CommunityOrganisation, organisation_id, "organisation"), clean)


def retire_organisation(ctx: Context, organisation_id: str, retired: bool = True) -> Any:
    with ctx.write("organisation.edit", "retire community organisations") as s:
        return saved(s, get_live(s, CommunityOrganisation, organisation_id, "organisation"), {"retired": retired})


def link_organisation(ctx: Context, organisation_id: str, establishment_id: str) -> None:
    ctx.require("organisation.edit")
    refuse_here(ctx, "organisation_link", {"establishment_id": establishment_id})
    with ctx.write("organisation.edit", "connect organisations to establishments") as s:
        get_live(s, CommunityOrganisation, organisation_id, "organisation")
        get_live(s, Establishment, establishment_id, "establishment")
        link = s.execute(select(OrganisationLink).where(
            OrganisationLink.organisation_id == organisation_id, OrganisationLink.establishment_id == establishment_id,
            OrganisationLink.merged_into.is_(None),
        )).scalar_one_or_none()
        if link is None:
            s.add(OrganisationLink(organisation_id=organisation_id, establishment_id=establishment_id))
        elif link.deleted_hlc is None:
            raise ValidationError("That organisation is already connected to that establishment.")
        else:
            revive(link)


def unlink_organisation(ctx: Context, organisation_id: str, establishment_id: str, reason: str) -> None:
    ctx.require("organisation.edit")
    refuse_here(ctx, "organisation_link", {"establishment_id": establishment_id})
    with ctx.write("organisation.edit", "disconnect organisations from establishments") as s:
        link = s.execute(select(OrganisationLink).where(
            OrganisationLink.organisation_id == organisation_id, OrganisationLink.establishment_id == establishment_id,
            OrganisationLink.deleted_hlc.is_(None), OrganisationLink.merged_into.is_(None),
        )).scalar_one_or_none()
        if link is None:
            raise ValidationError("That organisation is not connected to that establishment.")
        tombstone(link, reason)


# -- referrals (Early Release to Residential Rehabilitation Protocol) -------------------------


def create_referral(ctx: Context, *, person_id: str, referred_on: dt.date | str,
                    organisation_id: str | None = None, notes: str | None = None) -> Any:
    ctx.require("referral.record")
    day = parse_date(referred_on, "Referral date", "referred_on")
    if day > dt.date.today():
        raise ValidationError("A referral can't be dated in the future.", "referred_on")
    with ctx.write("referral.record") as s:
        person = get_live(s, Person, person_id, "person")
        if not person.establishment_id:
            raise ValidationError("This person is not at an establishment.", "person_id")
        if organisation_id:
            get_live(s, CommunityOrganisation, organisation_id, "organisation")
        referral = Referral(person_id=person_id, establishment_id=person.establishment_id,
                            organisation_id=organisation_id, status="open",
                            notes=text(notes, "Notes", "notes", required=False, max_len=4000))
        s.add(referral)
        s.flush()
        s.add(ReferralStage(referral_id=referral.id, stage="identified", reached_on=day))
        s.flush()
        return to_record(referral)


def record_stage(ctx: Context, referral_id: str, stage: str, reached_on: dt.date | str,
                 note: str | None = None) -> Any:
    """Record the next stage of the protocol; stages go in order and dates never go back."""
    ctx.require("referral.record")
    choice(stage, REFERRAL_STAGES, "Stage", "stage")
    day = parse_date(reached_on, "Date", "reached_on")
    if day > dt.date.today():
        raise ValidationError("A stage can't be recorded for a future date.", "reached_on")
    with ctx.write("referral.record") as s:
        referral = get_live(s, Referral, referral_id, "referral")
        if referral.status not in ("open", "in_placement"):
            raise ValidationError(f"This referral is {referral.status}.", "status")
        reached = {r.stage: r for r in s.execute(select(ReferralStage).where(
            ReferralStage.referral_id == referral_id, ReferralStage.deleted_hlc.is_(None))).scalars()}
        order = list(REFERRAL_STAGES)
        if stage in reached:
            raise ValidationError(f"'{REFERRAL_STAGES[stage]}' is already recorded.", "stage")
        later = [st for st in reached if order.index(st) > order.index(stage)]
        if later:
            raise ValidationError(f"'{REFERRAL_STAGES[later[0]]}' is already recorded; stages go in order.", "stage")
        earlier = [r.reached_on for st, r in reached.items() if order.index(st) < order.index(stage)]
        if earlier and day < max(earlier):
            raise ValidationError("This stage can't be dated before the previous one.", "reached_on")
        row = ReferralStage(referral_id=referral_id, stage=stage, reached_on=day,
                            note=text(note, "Note", "note", required=False, max_len=2000))
        s.add(row)
        if stage == "admitted":
            referral.status = "in_placement"
        elif stage == "completed":
            referral.status, referral.closed_on = "completed", day
        s.flush()
        return to_record(row)


def set_referral_status(ctx: Context, referral_id: str, status: str, notes: str | None = None) -> Any:
    ctx.require("referral.edit")
    choice(status, REFERRAL_STATUSES, "Status", "status")
    with ctx.write("referral.edit") as s:
        referral = get_live(s, Referral, referral_id, "referral")
        referral.status = status
        if notes is not None:
            referral.notes = text(notes, "Notes", "notes", required=False, max_len=4000)
        s.flush()
        return to_record(referral)


def delete_initiative(ctx: Context, initiative_id: str, reason: str) -> None:
    """Record that an initiative was entered in error (an ended one is set to 'ended' instead)."""
    with ctx.write("initiative.delete") as s:
        row = get_live(s, Initiative, initiative_id, "initiative")
        refuse_here(ctx, "initiative", {"establishment_id": row.establishment_id})
        tombstone(row, reason)
