"""Initiatives in establishments, community organisations (LEROs), referrals.

At an establishment PC, its own initiatives and its own links to community organisations only:
the office would refuse another establishment's in its bundle (:mod:`srcdesk.sync.authority`), so
the person is told at once. Community organisations themselves are shared: coordinators anywhere
add and edit them.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from ..errors import ValidationError
from ..models import (
    INITIATIVE_KINDS,
    INITIATIVE_STATUSES,
    CommunityOrganisation,
    Establishment,
    Initiative,
    OrganisationLink,
)
from ..sync.authority import refuse_here
from . import referrals
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


# -- referrals: in :mod:`srcdesk.services.referrals` (these names stay for older callers) ------

create_referral = referrals.create_referral
record_stage = referrals.advance


def delete_initiative(ctx: Context, initiative_id: str, reason: str) -> None:
    """Record that an initiative was entered in error (an ended one is set to 'ended' instead)."""
    with ctx.write("initiative.delete") as s:
        row = get_live(s, Initiative, initiative_id, "initiative")
        refuse_here(ctx, "initiative", {"establishment_id": row.establishment_id})
        tombstone(row, reason)
