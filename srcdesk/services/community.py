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

from ..dates import day_month_year
from ..errors import NotFound, PermissionDenied, ValidationError
from ..models import (
    INITIATIVE_KINDS,
    INITIATIVE_RUNNERS,
    INITIATIVE_STATUSES,
    LOCAL_AUTHORITIES,
    ORGANISATION_KINDS,
    ORGANISATION_ORDER,
    CommunityOrganisation,
    Establishment,
    Initiative,
    OrganisationLink,
    Session,
)
from ..sync.authority import refuse_here
from . import referrals
from .base import Context, choice, get_live, parse_date, revive, saved, text, to_record, tombstone
from .estate import establishment_sort_key

# -- initiatives --------------------------------------------------------------------------------
#
# An initiative's dates follow its status: a planned one has not started (its start date, if
# known, is today or later); a running or paused one started on a day not in the future (if
# known: one found running when it was mapped may not have a known start); an ended one has the
# day it ended, not before it started and not in the future. Only an
# ended one has an end date. The year-1 "mapping and review": when it was last reviewed, when
# the next review is due (after the last), and what the review found.

NOT_GAPS = ("other",)  # a kind whose absence is not a gap on the national map
OPEN_STATUSES = ("running", "paused")  # what the national map counts as there


@dataclass(frozen=True)
class InitiativeRow:
    """One initiative as listed: the record's fields, where it is, and how many sessions it has."""

    id: str
    establishment_id: str
    establishment_code: str
    establishment_name: str
    kind: str
    name: str
    status: str
    run_by: str
    meeting_pattern: str | None
    started_on: dt.date | None
    ended_on: dt.date | None
    notes: str | None
    last_reviewed_on: dt.date | None
    review_due_on: dt.date | None
    review_notes: str | None
    sessions: int = 0

    @property
    def kind_label(self) -> str:
        return INITIATIVE_KINDS.get(self.kind, self.kind)

    @property
    def status_label(self) -> str:
        return INITIATIVE_STATUSES.get(self.status, self.status)

    @property
    def run_by_label(self) -> str:
        return INITIATIVE_RUNNERS.get(self.run_by, self.run_by)

    def review_overdue(self, today: dt.date | None = None) -> bool:
        """A review due before ``today`` (an ended initiative is not reviewed any more)."""
        return (self.status != "ended" and self.review_due_on is not None
                and self.review_due_on < (today or dt.date.today()))

    def status_with_date(self) -> str:
        """"Running since 3 May 2022", "Ended 1 Mar 2025", "Planned from 1 Jan 2027", "Planned"."""
        if self.status == "ended" and self.ended_on:
            return f"Ended {day_month_year(self.ended_on)}"
        if self.started_on is None:
            return self.status_label
        if self.status == "planned":
            return f"Planned from {day_month_year(self.started_on)}"
        return f"{self.status_label} since {day_month_year(self.started_on)}"


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
            case "run_by":
                out[key] = choice(value, INITIATIVE_RUNNERS, "Run by", key)
            case "meeting_pattern":
                out[key] = text(value, "Meeting pattern", key, required=False)
            case "started_on":
                out[key] = parse_date(value, "Start date", key, required=False)
            case "ended_on":
                out[key] = parse_date(value, "End date", key, required=False)
            case "last_reviewed_on":
                out[key] = parse_date(value, "Last reviewed", key, required=False)
            case "review_due_on":
                out[key] = parse_date(value, "Next review due", key, required=False)
            case "notes":
                out[key] = text(value, "Notes", key, required=False, max_len=4000)
            case "review_notes":
                out[key] = text(value, "Review notes", key, required=False, max_len=8000)
            case _:
                raise ValidationError(f"'{key}' can't be set on an initiative.", key)
    return out


def _check_initiative_dates(status: str, started: dt.date | None, ended: dt.date | None,
                            today: dt.date) -> None:
    """The dates an initiative of ``status`` may have (see the section's comment)."""
    if status == "planned":
        if started is not None and started < today:
            raise ValidationError("A planned initiative has not started: its start date can't be in the past "
                                  "(set it running if it has started).", "started_on")
    elif started is not None:  # (not known: an initiative found running when it was mapped)
        if started > today:
            raise ValidationError("The start date is in the future: a future start is a planned initiative.",
                                  "started_on")
    if status == "ended":
        if ended is None:
            raise ValidationError("Say when the initiative ended.", "ended_on")
        if started is not None and ended < started:
            raise ValidationError("An initiative can't end before it started.", "ended_on")
        if ended > today:
            raise ValidationError("The end date is in the future: it is still running until then.", "ended_on")
    elif ended is not None:
        raise ValidationError("Only an ended initiative has an end date.", "ended_on")


def _check_review_dates(last: dt.date | None, due: dt.date | None, today: dt.date) -> None:
    if last is not None and last > today:
        raise ValidationError("A review can't be recorded for a future date.", "last_reviewed_on")
    if last is not None and due is not None and due <= last:
        raise ValidationError("The next review is due after the last one.", "review_due_on")


def create_initiative(ctx: Context, *, kind: str, name: str, establishment_id: str | None = None,
                      today: dt.date | None = None, **values: Any) -> Any:
    """Record an initiative of this establishment (at the office: of ``establishment_id``)."""
    ctx.require("initiative.record")
    est_id = establishment_id or ctx.installation.establishment_id
    refuse_here(ctx, "initiative", {"establishment_id": est_id})  # another establishment's: said first
    day = today or dt.date.today()
    clean = _initiative_values({"kind": kind, "name": name, **values})
    clean.setdefault("status", "running")
    clean.setdefault("run_by", "sps")
    _check_initiative_dates(clean["status"], clean.get("started_on"), clean.get("ended_on"), day)
    _check_review_dates(clean.get("last_reviewed_on"), clean.get("review_due_on"), day)
    if not est_id:
        raise ValidationError("Choose the establishment the initiative is in.", "establishment_id")
    with ctx.write("initiative.record") as s:
        get_live(s, Establishment, est_id, "establishment")
        return saved(s, Initiative(establishment_id=est_id, **clean))


def update_initiative(ctx: Context, initiative_id: str, *, today: dt.date | None = None, **values: Any) -> Any:
    """Change an initiative. Its dates are checked against its status when either changes (a
    planned start that has since passed does not stop its notes being edited)."""
    ctx.require("initiative.edit")
    day = today or dt.date.today()
    clean = _initiative_values(values)
    with ctx.write("initiative.edit") as s:
        row = get_live(s, Initiative, initiative_id, "initiative")
        refuse_here(ctx, "initiative", {"establishment_id": row.establishment_id})
        after = {key: clean.get(key, getattr(row, key)) for key in ("status", "started_on", "ended_on",
                                                                      "last_reviewed_on", "review_due_on")}
        if clean.keys() & {"status", "started_on", "ended_on"}:
            _check_initiative_dates(after["status"], after["started_on"], after["ended_on"], day)
        if clean.keys() & {"last_reviewed_on", "review_due_on"}:
            _check_review_dates(after["last_reviewed_on"], after["review_due_on"], day)
        return saved(s, row, clean)


def record_review(ctx: Context, initiative_id: str, reviewed_on: dt.date | str, next_due: dt.date | str | None,
                  notes: str | None = None, *, today: dt.date | None = None) -> Any:
    """The year-1 "mapping and review" of one initiative: reviewed on ``reviewed_on`` (not in the
    future, not before the last review), next due ``next_due`` (after it; None: no further review
    planned), with what it found."""
    ctx.require("initiative.edit", "record reviews of initiatives")
    day = today or dt.date.today()
    reviewed = parse_date(reviewed_on, "Reviewed on", "last_reviewed_on")
    due = parse_date(next_due, "Next review due", "review_due_on", required=False)
    clean_notes = text(notes, "Review notes", "review_notes", required=False, max_len=8000)
    _check_review_dates(reviewed, due, day)
    with ctx.write("initiative.edit", "record reviews of initiatives") as s:
        row = get_live(s, Initiative, initiative_id, "initiative")
        refuse_here(ctx, "initiative", {"establishment_id": row.establishment_id})
        if row.last_reviewed_on is not None and reviewed < row.last_reviewed_on:
            raise ValidationError(f"It was last reviewed on {day_month_year(row.last_reviewed_on)}; a review "
                                  "can't be recorded before that.", "last_reviewed_on")
        return saved(s, row, {"last_reviewed_on": reviewed, "review_due_on": due, "review_notes": clean_notes})


def delete_initiative(ctx: Context, initiative_id: str, reason: str) -> None:
    """Record that an initiative was entered in error (an ended one is set to 'ended' instead);
    its sessions stay, no longer naming it."""
    with ctx.write("initiative.delete") as s:
        row = get_live(s, Initiative, initiative_id, "initiative")
        refuse_here(ctx, "initiative", {"establishment_id": row.establishment_id})
        tombstone(row, reason)
        for session in s.execute(select(Session).where(Session.initiative_id == initiative_id)).scalars():
            session.initiative_id = None


def _own_establishment(ctx: Context, establishment_id: str | None) -> str | None:
    """The establishment a list is of: at an establishment's PC always its own (asking for another
    is refused); at the office the one asked for (None: all)."""
    own = ctx.installation.establishment_id
    if ctx.installation.is_office or not own:
        return establishment_id
    if establishment_id and establishment_id != own:
        raise PermissionDenied("This PC keeps its own establishment's initiatives only; the SRC office sees "
                               "every establishment's.")
    return own


def _session_counts():  # noqa: ANN202
    return (select(func.count()).select_from(Session)
            .where(Session.initiative_id == Initiative.id, Session.deleted_hlc.is_(None))
            .correlate(Initiative).scalar_subquery())


def list_initiatives(ctx: Context, *, establishment_id: str | None = None, status: str | None = None,
                     kind: str | None = None) -> list[InitiativeRow]:
    """Initiatives by establishment (the estate's order) then name, with their sessions counted."""
    if status is not None:
        choice(status, INITIATIVE_STATUSES, "Status", "status")
    if kind is not None:
        choice(kind, INITIATIVE_KINDS, "Kind of initiative", "kind")
    est_id = _own_establishment(ctx, establishment_id)
    with ctx.read() as s:
        q = (select(Initiative, Establishment.code, Establishment.name, _session_counts().label("n"))
             .join(Establishment, Establishment.id == Initiative.establishment_id)
             .where(Initiative.deleted_hlc.is_(None)))
        if est_id:
            q = q.where(Initiative.establishment_id == est_id)
        if status:
            q = q.where(Initiative.status == status)
        if kind:
            q = q.where(Initiative.kind == kind)
        rows = [_row(i, code, name, n) for i, code, name, n in s.execute(q).all()]
    return sorted(rows, key=lambda r: (*establishment_sort_key(r.establishment_name, r.establishment_code),
                                       r.name.casefold()))


def _row(i: Initiative, code: str, name: str, n: int) -> InitiativeRow:
    return InitiativeRow(i.id, i.establishment_id, code, name, i.kind, i.name, i.status, i.run_by,
                         i.meeting_pattern, i.started_on, i.ended_on, i.notes, i.last_reviewed_on,
                         i.review_due_on, i.review_notes, n or 0)


def get_initiative(ctx: Context, initiative_id: str) -> InitiativeRow:
    with ctx.read() as s:
        i = get_live(s, Initiative, initiative_id, "initiative")
        est = s.get(Establishment, i.establishment_id)
        n = s.execute(select(func.count()).select_from(Session).where(
            Session.initiative_id == i.id, Session.deleted_hlc.is_(None))).scalar_one()
        return _row(i, est.code if est else "", est.name if est else "", n)


def initiatives(ctx: Context, establishment_id: str | None = None) -> list[Any]:
    """The initiatives' records (scoped as :func:`list_initiatives`), by name."""
    est_id = _own_establishment(ctx, establishment_id)
    with ctx.read() as s:
        q = select(Initiative).where(Initiative.deleted_hlc.is_(None))
        if est_id:
            q = q.where(Initiative.establishment_id == est_id)
        return [to_record(r) for r in s.execute(q.order_by(Initiative.name)).scalars()]


def initiative_choices(ctx: Context, establishment_id: str | None, on: dt.date | None = None) -> list[Any]:
    """What a session of ``establishment_id`` on ``on`` may name: its establishment's initiatives
    not ended before that day, by name."""
    rows = initiatives(ctx, establishment_id) if establishment_id else []
    return [r for r in rows if not ended_before(r, on)]


def ended_before(initiative: Any, day: dt.date | None) -> bool:
    """Whether an initiative had ended before ``day`` (None: today); an ended one with no end date
    counts as ended."""
    if initiative.status != "ended":
        return False
    return initiative.ended_on is None or initiative.ended_on < (day or dt.date.today())


def initiative_sessions(ctx: Context, initiative_id: str, limit: int = 200) -> Any:
    """The sessions that belong to an initiative, newest first, with their attendance."""
    from .sessions import list_sessions

    return list_sessions(ctx, initiative_id=initiative_id, limit=limit)


# -- the national map (the office's year-1 "mapping and review") ---------------------------------


@dataclass(frozen=True)
class MapCell:
    """One establishment's initiatives of one kind."""

    kind: str
    running: tuple[str, ...]  # names
    paused: tuple[str, ...]
    planned: tuple[str, ...]
    ids: tuple[str, ...]  # every live initiative of the kind (any status)

    @property
    def gap(self) -> bool:
        """No running initiative of a kind every establishment is expected to map."""
        return not self.running and self.kind not in NOT_GAPS


@dataclass(frozen=True)
class MapRow:
    establishment_id: str
    code: str
    name: str
    cells: dict[str, MapCell]
    earliest_review_due: dt.date | None  # of its running and paused initiatives
    overdue: tuple[str, ...]  # names of those whose review is overdue

    @property
    def gaps(self) -> list[str]:
        return [k for k, c in self.cells.items() if c.gap]


@dataclass(frozen=True)
class InitiativeMap:
    kinds: tuple[str, ...]
    rows: list[MapRow]
    today: dt.date

    @property
    def gap_count(self) -> int:
        return sum(len(r.gaps) for r in self.rows)


def initiative_map(ctx: Context, today: dt.date | None = None) -> InitiativeMap:
    """Per open establishment (the estate's order) and kind of initiative: the running, paused
    and planned ones, gaps (no running initiative of that kind), the earliest review due and the
    reviews overdue. At an establishment's PC, its own row only."""
    day = today or dt.date.today()
    kinds = tuple(INITIATIVE_KINDS)
    own = None if ctx.installation.is_office else ctx.installation.establishment_id
    with ctx.read() as s:
        q = select(Establishment).where(Establishment.deleted_hlc.is_(None), Establishment.merged_into.is_(None),
                                        Establishment.closed.is_(None))
        if own:
            q = q.where(Establishment.id == own)
        ests = sorted(s.execute(q).scalars(), key=lambda e: establishment_sort_key(e.name, e.code))
        iq = select(Initiative).where(Initiative.deleted_hlc.is_(None), Initiative.status != "ended")
        if own:
            iq = iq.where(Initiative.establishment_id == own)
        by_est: dict[str, list[Initiative]] = {}
        for i in s.execute(iq.order_by(Initiative.name)).scalars():
            by_est.setdefault(i.establishment_id, []).append(i)
        rows = []
        for e in ests:
            mine = by_est.get(e.id, [])
            cells = {}
            for k in kinds:
                of_kind = [i for i in mine if i.kind == k]
                cells[k] = MapCell(k, tuple(i.name for i in of_kind if i.status == "running"),
                                   tuple(i.name for i in of_kind if i.status == "paused"),
                                   tuple(i.name for i in of_kind if i.status == "planned"),
                                   tuple(i.id for i in of_kind))
            live = [i for i in mine if i.status in OPEN_STATUSES]
            dues = [i.review_due_on for i in live if i.review_due_on is not None]
            rows.append(MapRow(e.id, e.code, e.name, cells, min(dues) if dues else None,
                               tuple(i.name for i in live if i.review_due_on is not None and i.review_due_on < day)))
    return InitiativeMap(kinds, rows, day)


# -- community organisations -------------------------------------------------------------------
#
# Shared reference data kept at the SRC office (sync.authority: OFFICE): the office adds, edits,
# retires and connects them, and its bundles carry them to every establishment, where they are
# read only. An establishment PC refuses a change at once with the reason (``refuse_here``).



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
    return sorted(rows, key=lambda o: (ORGANISATION_ORDER.get(o.kind, 9), o.name.lower()))


# -- referrals: in :mod:`srcdesk.services.referrals` (these names stay for older callers) ------

create_referral = referrals.create_referral
record_stage = referrals.advance



def initiative_by_ref(ctx: Context, ref: str) -> InitiativeRow:
    """The initiative ``ref`` names, for the command line: its id, the id's last 8 characters, or
    its name (any case) among the initiatives this PC lists."""
    wanted = (ref or "").strip()
    if not wanted:
        raise ValidationError("Name the initiative: its id or its name.", "initiative")
    rows = list_initiatives(ctx)
    found = ([r for r in rows if r.id == wanted] or [r for r in rows if len(wanted) >= 8 and r.id.endswith(wanted)]
             or [r for r in rows if r.name.casefold() == wanted.casefold()])
    if not found:
        raise ValidationError(f"No initiative is called '{wanted}' here.", "initiative")
    if len(found) > 1:
        where = ", ".join(f"{r.id[-8:]} ({r.establishment_code})" for r in found)
        raise ValidationError(f"More than one initiative is called '{wanted}': {where}; give its id.", "initiative")
    return found[0]
