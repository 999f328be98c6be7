"""Initiatives in establishments, community organisations (LEROs), referrals.

At an establishment PC, its own initiatives only: the office would refuse another
establishment's in its bundle (:mod:`srcdesk.sync.authority`), so the person is told at once.
Community organisations and which establishments they connect to are shared reference data kept
at the SRC office: changed there only, read everywhere.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select

from ..errors import NotFound, ValidationError
from ..models import (
    INITIATIVE_KINDS,
    INITIATIVE_STATUSES,
    LOCAL_AUTHORITIES,
    ORGANISATION_KINDS,
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
#
# Shared reference data kept at the SRC office (sync.authority: OFFICE): the office adds, edits,
# retires and connects them, and its bundles carry them to every establishment, where they are
# read only. An establishment PC refuses a change at once with the reason (``refuse_here``).

# LEROs and recovery communities before services (what someone leaving custody looks for first).
_KIND_ORDER = {"lero": 0, "recovery_community": 1, "service": 2}


def area_named(value: Any, field: str = "area", *, required: bool = False) -> str | None:
    """One of Scotland's 32 council areas (LOCAL_AUTHORITIES) in its own spelling, typed in any
    case ("perth and kinross" -> "Perth and Kinross"); None for nothing typed, unless required."""
    typed = text(value, "Area", field, required=required, max_len=120)
    if typed is None:
        return None
    found = _AREAS_FOLDED.get(typed.casefold())
    if found is None:
        raise ValidationError(f"'{typed}' is not one of Scotland's 32 council areas (for example Glasgow City, "
                              "City of Edinburgh, Perth and Kinross).", field)
    return found


_AREAS_FOLDED = {a.casefold(): a for a in LOCAL_AUTHORITIES}


def _org_values(values: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in values.items():
        match key:
            case "name":
                out[key] = text(value, "Name", key)
            case "kind":
                out[key] = choice(value, ORGANISATION_KINDS, "Kind of organisation", key)
            case "area":
                out[key] = area_named(value, key)
            case "offers":
                out[key] = text(value, "What they offer", key, required=False, max_len=4000)
            case "contact":
                out[key] = text(value, "Contact details", key, required=False, max_len=4000)
            case "notes":
                out[key] = text(value, "Notes", key, required=False, max_len=4000)
            case _:
                raise ValidationError(f"'{key}' can't be set on an organisation.", key)
    return out


def _same_name(s: Any, name: str, but: str | None = None) -> None:
    q = select(CommunityOrganisation.id).where(
        func.lower(CommunityOrganisation.name) == name.lower(), CommunityOrganisation.deleted_hlc.is_(None))
    if but:
        q = q.where(CommunityOrganisation.id != but)
    if s.execute(q).first() is not None:
        raise ValidationError(f"There is already a community organisation called '{name}'.", "name")


def create_organisation(ctx: Context, *, name: str, area: str | None = None, kind: str = "lero",
                        **values: Any) -> Any:
    """Add a community organisation (at the SRC office): ``area`` one of the 32 council areas."""
    ctx.require("organisation.edit", "add community organisations")
    refuse_here(ctx, "community_organisation")
    clean = _org_values({"name": name, "kind": kind, "area": area, **values})
    if clean["area"] is None:
        raise ValidationError("Say which council area the organisation is in.", "area")
    with ctx.write("organisation.edit", "add community organisations") as s:
        _same_name(s, clean["name"])
        return saved(s, CommunityOrganisation(retired=False, **clean))


def update_organisation(ctx: Context, organisation_id: str, **values: Any) -> Any:
    ctx.require("organisation.edit", "edit community organisations")
    refuse_here(ctx, "community_organisation")
    clean = _org_values(values)
    if "area" in clean and clean["area"] is None:
        raise ValidationError("Say which council area the organisation is in.", "area")
    with ctx.write("organisation.edit", "edit community organisations") as s:
        row = get_live(s, CommunityOrganisation, organisation_id, "organisation")
        if "name" in clean:
            _same_name(s, clean["name"], but=row.id)
        return saved(s, row, clean)


def retire_organisation(ctx: Context, organisation_id: str, retired: bool = True) -> Any:
    """Retire an organisation (no longer offered; kept for the referrals and records naming it),
    or bring a retired one back (``retired=False``)."""
    ctx.require("organisation.edit", "retire community organisations")
    refuse_here(ctx, "community_organisation")
    with ctx.write("organisation.edit", "retire community organisations") as s:
        row = get_live(s, CommunityOrganisation, organisation_id, "organisation")
        if bool(row.retired) == retired:
            raise ValidationError(f"'{row.name}' is {'already retired' if retired else 'not retired'}.", "retired")
        return saved(s, row, {"retired": retired})


def link_organisation(ctx: Context, organisation_id: str, establishment_id: str) -> None:
    """Connect an organisation to an establishment (at the SRC office)."""
    ctx.require("organisation.edit", "connect organisations to establishments")
    refuse_here(ctx, "organisation_link", {"establishment_id": establishment_id})
    with ctx.write("organisation.edit", "connect organisations to establishments") as s:
        org = get_live(s, CommunityOrganisation, organisation_id, "organisation")
        if org.retired:
            raise ValidationError(f"'{org.name}' is retired: bring it back before connecting it.", "organisation_id")
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
    """Disconnect an organisation from an establishment, saying why (at the SRC office)."""
    ctx.require("organisation.edit", "disconnect organisations from establishments")
    refuse_here(ctx, "organisation_link", {"establishment_id": establishment_id})
    if not (reason or "").strip():
        raise ValidationError("Say why the organisation is no longer connected.", "reason")
    with ctx.write("organisation.edit", "disconnect organisations from establishments") as s:
        link = s.execute(select(OrganisationLink).where(
            OrganisationLink.organisation_id == organisation_id, OrganisationLink.establishment_id == establishment_id,
            OrganisationLink.deleted_hlc.is_(None), OrganisationLink.merged_into.is_(None),
        )).scalar_one_or_none()
        if link is None:
            raise ValidationError("That organisation is not connected to that establishment.")
        tombstone(link, text(reason, "Reason", "reason", max_len=2000) or "")


@dataclass(frozen=True)
class Connection:
    establishment_id: str
    code: str
    name: str


@dataclass(frozen=True)
class OrganisationView:
    """A community organisation and the establishments it connects to (by code)."""

    id: str
    name: str
    kind: str
    kind_label: str
    area: str | None
    offers: str | None
    contact: str | None
    notes: str | None
    retired: bool
    connections: tuple[Connection, ...]

    @property
    def connected_codes(self) -> str:
        return ", ".join(c.code for c in self.connections)


def may_edit_organisations(ctx: Context) -> str | None:
    """Why this user may not change community organisations here, or None if they may."""
    if not ctx.installation.is_office:
        return "Community organisations are kept at the SRC office and reach this PC in its bundles."
    if not ctx.can("organisation.edit"):
        return "Only a coordinator can add, edit or connect community organisations."
    return None


def _connections(s: Any, ids: list[str]) -> dict[str, list[Connection]]:
    out: dict[str, list[Connection]] = {}
    if not ids:
        return out
    rows = s.execute(
        select(OrganisationLink.organisation_id, Establishment.id, Establishment.code, Establishment.name)
        .join(Establishment, Establishment.id == OrganisationLink.establishment_id)
        .where(OrganisationLink.deleted_hlc.is_(None), OrganisationLink.merged_into.is_(None),
               OrganisationLink.organisation_id.in_(ids))
        .order_by(Establishment.code))
    for oid, eid, code, name in rows:
        out.setdefault(oid, []).append(Connection(eid, code, name))
    return out


def _view(row: Any, links: list[Connection]) -> OrganisationView:
    return OrganisationView(row.id, row.name, row.kind, ORGANISATION_KINDS.get(row.kind, row.kind), row.area,
                            row.offers, row.contact, row.notes, bool(row.retired), tuple(links))


def list_organisations(ctx: Context, *, area: str | None = None, kind: str | None = None,
                       establishment_id: str | None = None, search: str | None = None,
                       include_retired: bool = False) -> list[OrganisationView]:
    """Community organisations (read everywhere: shared reference data), by name; ``area`` a
    council area (any case), ``establishment_id`` those connected to it, ``search`` in the name,
    what they offer and the area."""
    if area:
        area = area_named(area)
    if kind:
        choice(kind, ORGANISATION_KINDS, "Kind of organisation", "kind")
    with ctx.read() as s:
        q = select(CommunityOrganisation).where(CommunityOrganisation.deleted_hlc.is_(None))
        if not include_retired:
            q = q.where(CommunityOrganisation.retired.is_(False))
        if area:
            q = q.where(CommunityOrganisation.area == area)
        if kind:
            q = q.where(CommunityOrganisation.kind == kind)
        if establishment_id:
            q = q.where(CommunityOrganisation.id.in_(select(OrganisationLink.organisation_id).where(
                OrganisationLink.establishment_id == establishment_id, OrganisationLink.deleted_hlc.is_(None),
                OrganisationLink.merged_into.is_(None))))
        if search and search.strip():
            like = f"%{search.strip().lower()}%"
            q = q.where(func.lower(CommunityOrganisation.name).like(like)
                        | func.lower(func.coalesce(CommunityOrganisation.offers, "")).like(like)
                        | func.lower(func.coalesce(CommunityOrganisation.area, "")).like(like))
        rows = list(s.execute(q.order_by(func.lower(CommunityOrganisation.name))).scalars())
        links = _connections(s, [r.id for r in rows])
        return [_view(r, links.get(r.id, [])) for r in rows]


def get_organisation(ctx: Context, organisation_id: str) -> OrganisationView:
    """One organisation (retired too) with the establishments it connects to."""
    with ctx.read() as s:
        row = get_live(s, CommunityOrganisation, organisation_id, "organisation")
        return _view(row, _connections(s, [row.id]).get(row.id, []))


def find_organisation(ctx: Context, ref: str) -> OrganisationView:
    """An organisation by its id or its name (any case; a unique part of a name will do)."""
    ref = (ref or "").strip()
    if not ref:
        raise ValidationError("Say which organisation (its name or id).", "organisation")
    with ctx.read() as s:
        row = s.get(CommunityOrganisation, ref)
        if row is None or row.deleted_hlc is not None:
            live = CommunityOrganisation.deleted_hlc.is_(None)
            exact = list(s.execute(select(CommunityOrganisation).where(
                live, func.lower(CommunityOrganisation.name) == ref.lower())).scalars())
            found = exact or list(s.execute(select(CommunityOrganisation).where(
                live, func.lower(CommunityOrganisation.name).like(f"%{ref.lower()}%"))).scalars())
            if not found:
                raise NotFound(f"No community organisation is called '{ref}'.")
            if len(found) > 1:
                names = ", ".join(sorted(r.name for r in found)[:5])
                raise ValidationError(f"'{ref}' names more than one organisation ({names}): give more of the name.",
                                      "organisation")
            row = found[0]
        return _view(row, _connections(s, [row.id]).get(row.id, []))


def organisations_near(ctx: Context, area: str) -> list[OrganisationView]:
    """Live (not retired) organisations in council ``area``: LEROs and recovery communities
    first, then services, each by name. For the liberation record: where someone can go."""
    rows = list_organisations(ctx, area=area)
    return sorted(rows, key=lambda o: (_KIND_ORDER.get(o.kind, 9), o.name.lower()))


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
