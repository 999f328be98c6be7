"""Early Release to Residential Rehabilitation referrals: a person's way through the protocol.

A referral moves through :data:`~srcdesk.models.REFERRAL_STAGES` in order (identified, consented,
assessed, funding agreed, placement offered, release approved, admitted), then the follow-up
(still in placement at 4 weeks, at 12 weeks, completed). Each stage is dated and signed by who
recorded it (``recorded_by``). The rules, here once for the screens and the command line:

* :func:`advance` records only the **next** stage (no skipping forward), dated neither before the
  stage before it nor in the future; "admitted" puts the referral in placement, "still in
  placement at 4 weeks" is no earlier than 28 days after admission and "at 12 weeks" no earlier
  than 84 days, "completed" closes it.
* :func:`step_back` goes back to an earlier stage **only with a reason**: the later stages are
  tombstoned with that reason (kept and shown in the history); when a stage is reached again its
  row comes back (its natural key is the referral and the stage) and its note keeps the earlier
  date, who recorded it and why it was stepped back.
* :func:`close` withdraws or declines a referral before admission, or records that the person
  left the placement after it: always with a date and a reason. A closed referral does not move.

**Where a referral is.** A referral belongs with its person: at an establishment PC the lists show
the referrals of the people at its establishment now, and, for people who have left custody (on
release to a placement), those whose referral is this establishment's (``Referral.establishment_id``:
where it was made, following the person while it is open). On a transfer
(:func:`srcdesk.services.people.transfer_person`) the open referrals' ``establishment_id`` follows
the person (:func:`follow_transfer`), so the new establishment's lists and figures count them. The
office sees every referral. An establishment PC records and changes only referrals it lists.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session as OrmSession

from ..dates import long_date
from ..errors import NotFound, PermissionDenied, ValidationError
from ..models import (
    REFERRAL_CLOSED,
    REFERRAL_STAGES,
    REFERRAL_STATUSES,
    CommunityOrganisation,
    Establishment,
    Person,
    Referral,
    ReferralStage,
    User,
)
from .base import Context, get_live, parse_date, revive, text, to_record, tombstone

ORDER = tuple(REFERRAL_STAGES)
ACTIVE = ("open", "in_placement")  # not closed: the lists show these by default
# How a referral is closed (:func:`close`), the status it was in, and the words for it.
OUTCOMES = {
    "withdrawn": ("open", "Withdrawn"),
    "declined": ("open", "Declined"),
    "left_placement": ("in_placement", "Left the placement early"),
}
# The follow-up stages' earliest day, counted from admission.
FOLLOW_UP_DAYS = {"week_4": 28, "week_12": 84}


@dataclass(frozen=True)
class ReferralRow:
    """One referral on a list."""

    id: str
    person_id: str
    person_name: str
    external_ref: str | None
    establishment_id: str | None
    establishment_code: str | None
    establishment_name: str | None
    status: str
    stage: str  # the current stage (the last one reached and not stepped back)
    since: dt.date  # the day it was reached
    days_waiting: int  # days at that stage (to the day it closed, for a closed referral)
    service: str | None  # the residential rehabilitation service, if one is named
    closed_on: dt.date | None
    close_reason: str | None

    @property
    def stage_name(self) -> str:
        return REFERRAL_STAGES.get(self.stage, self.stage)

    @property
    def status_name(self) -> str:
        return REFERRAL_STATUSES.get(self.status, self.status)

    @property
    def next_stage(self) -> str | None:
        return next_stage(self.stage, self.status)


@dataclass(frozen=True)
class StageEntry:
    """One stage in a referral's history; ``stepped_back`` with the reason and who did it."""

    stage: str
    reached_on: dt.date
    recorded_by: str | None  # the display name of who recorded it
    note: str | None
    stepped_back: bool
    stepped_back_reason: str | None
    stepped_back_by: str | None

    @property
    def stage_name(self) -> str:
        return REFERRAL_STAGES.get(self.stage, self.stage)


@dataclass(frozen=True)
class ReferralDetail:
    row: ReferralRow
    notes: str | None
    organisation_id: str | None
    history: list[StageEntry]  # in the order of the stages, stepped-back ones included


def next_stage(stage: str, status: str) -> str | None:
    """The stage that may be recorded next (None: closed, or nothing after)."""
    if status in REFERRAL_CLOSED:
        return None
    at = ORDER.index(stage)
    return ORDER[at + 1] if at + 1 < len(ORDER) else None


def _today() -> dt.date:
    return dt.date.today()


def _where(person: Any, referral: Any) -> str | None:
    """The establishment a referral is at: its person's now, or (left custody) its own."""
    return person.establishment_id or referral.establishment_id


def _check_here(ctx: Context, person: Any, referral: Any | None = None) -> None:
    """At an establishment PC, refuse another establishment's person (its bundle could not carry it)."""
    inst = ctx.installation
    if inst.is_office:
        return
    where = person.establishment_id if referral is None else _where(person, referral)
    if where != inst.establishment_id:
        raise PermissionDenied("This referral is another establishment's: that establishment or the SRC office "
                               "records it.")


def _stage_rows(s: OrmSession, referral_id: str) -> dict[str, Any]:
    rows = s.execute(select(ReferralStage).where(ReferralStage.referral_id == referral_id,
                                                 ReferralStage.merged_into.is_(None))).scalars()
    return {r.stage: r for r in rows}


def _current(stages: dict[str, Any]) -> Any:
    live = [r for r in stages.values() if r.deleted_hlc is None and r.stage in REFERRAL_STAGES]
    if not live:
        raise ValidationError("This referral has no stage recorded.", "stage")
    return max(live, key=lambda r: ORDER.index(r.stage))


def _referral(s: OrmSession, ctx: Context, referral_id: str) -> tuple[Any, Any]:
    referral = get_live(s, Referral, referral_id, "referral")
    person = s.get(Person, referral.person_id)
    if person is None:
        raise NotFound("That referral's person no longer exists.")
    _check_here(ctx, person, referral)
    return referral, person


def _day(value: Any, label: str, field: str) -> dt.date:
    day = parse_date(value, label, field)
    assert day is not None
    if day > _today():
        raise ValidationError(f"{label} can't be in the future.", field)
    return day


# -- writes -----------------------------------------------------------------------------------


def create_referral(ctx: Context, *, person_id: str, referred_on: dt.date | str,
                    organisation_id: str | None = None, notes: str | None = None) -> Any:
    """A new referral for a person at an establishment, at the stage "identified" (signed by the
    user recording it)."""
    ctx.require("referral.record")
    day = _day(referred_on, "The referral date", "referred_on")
    clean_notes = text(notes, "Notes", "notes", required=False, max_len=4000)
    with ctx.write("referral.record") as s:
        person = get_live(s, Person, person_id, "person")
        if not person.establishment_id:
            raise ValidationError("This person is not at an establishment: a referral is made while they are "
                                  "in custody.", "person_id")
        _check_here(ctx, person)
        if organisation_id:
            org = get_live(s, CommunityOrganisation, organisation_id, "organisation")
            if org.retired:
                raise ValidationError(f"{org.name} is retired.", "organisation_id")
        already = s.execute(select(Referral.id).where(
            Referral.person_id == person_id, Referral.deleted_hlc.is_(None),
            Referral.status.in_(ACTIVE))).first()
        if already is not None:
            raise ValidationError("This person already has a referral that is not closed: record its next stage, "
                                  "or withdraw it first.", "person_id")
        referral = Referral(person_id=person_id, establishment_id=person.establishment_id,
                            organisation_id=organisation_id or None, status="open", notes=clean_notes)
        s.add(referral)
        s.flush()
        s.add(ReferralStage(referral_id=referral.id, stage="identified", reached_on=day, recorded_by=ctx.user.id if ctx.user else None))
        s.flush()
        return to_record(referral)


def _names(s: OrmSession, ids: set[str | None]) -> dict[str, str]:
    wanted = {i for i in ids if i}
    if not wanted:
        return {}
    return dict(s.execute(select(User.id, User.display_name).where(User.id.in_(wanted))).all())


def advance(ctx: Context, referral_id: str, stage: str, reached_on: dt.date | str,
            note: str | None = None) -> Any:
    """Record the next stage (only the next one), dated on or after the stage before it."""
    ctx.require("referral.record")
    if stage not in REFERRAL_STAGES:
        raise ValidationError(f"'{stage}' is not a stage of the protocol.", "stage")
    day = _day(reached_on, "The date", "reached_on")
    clean_note = text(note, "Note", "note", required=False, max_len=2000)
    with ctx.write("referral.record") as s:
        referral, _person = _referral(s, ctx, referral_id)
        if referral.status in REFERRAL_CLOSED:
            raise ValidationError(f"This referral is closed ({REFERRAL_STATUSES[referral.status].lower()}): "
                                  "it can't move on.", "status")
        stages = _stage_rows(s, referral_id)
        current = _current(stages)
        wanted = next_stage(current.stage, referral.status)
        if wanted is None:
            raise ValidationError("Every stage of this referral is recorded.", "stage")
        if stage != wanted:
            if ORDER.index(stage) <= ORDER.index(current.stage):
                raise ValidationError(f"'{REFERRAL_STAGES[stage]}' is already recorded; to go back to it, step "
                                      "back with a reason.", "stage")
            raise ValidationError(f"The next stage is '{REFERRAL_STAGES[wanted]}': stages go in order, none is "
                                  "skipped.", "stage")
        if day < current.reached_on:
            raise ValidationError(f"This stage can't be dated before the previous one ({long_date(current.reached_on)}"
                                  ").", "reached_on")
        if stage in FOLLOW_UP_DAYS:
            admitted = stages["admitted"].reached_on
            earliest = admitted + dt.timedelta(days=FOLLOW_UP_DAYS[stage])
            if day < earliest:
                raise ValidationError(f"'{REFERRAL_STAGES[stage]}' can be recorded from {long_date(earliest)} "
                                      f"({FOLLOW_UP_DAYS[stage]} days after admission).", "reached_on")
        row = stages.get(stage)
        if row is None:
            row = ReferralStage(referral_id=referral_id, stage=stage)
            s.add(row)
        else:  # reached before and stepped back: the row comes back, its earlier life in the note
            earlier_by = _names(s, {row.recorded_by}).get(row.recorded_by or "", "someone")
            earlier = f"Earlier: {long_date(row.reached_on)} ({earlier_by}); stepped back: {row.deleted_reason}"
            if row.note:
                earlier = f"{earlier}. {row.note}"
            clean_note = f"{clean_note}\n{earlier}" if clean_note else earlier
            revive(row)
        row.reached_on, row.recorded_by, row.note = day, ctx.user.id if ctx.user else None, clean_note
        if stage == "admitted":
            referral.status = "in_placement"
        elif stage == "completed":
            referral.status, referral.closed_on, referral.close_reason = "completed", day, None
        s.flush()
        return to_record(row)


def step_back(ctx: Context, referral_id: str, stage: str, reason: str) -> list[str]:
    """Go back to ``stage`` (an earlier one, kept), with a reason: every later stage is marked
    stepped back with it. Returns the stages stepped back, in order."""
    ctx.require("referral.edit")
    why = text(reason, "The reason", "reason", max_len=1000)
    if stage not in REFERRAL_STAGES:
        raise ValidationError(f"'{stage}' is not a stage of the protocol.", "stage")
    with ctx.write("referral.edit") as s:
        referral, _person = _referral(s, ctx, referral_id)
        if referral.status in REFERRAL_CLOSED:
            raise ValidationError(f"This referral is closed ({REFERRAL_STATUSES[referral.status].lower()}): "
                                  "it can't be stepped back.", "status")
        stages = _stage_rows(s, referral_id)
        current = _current(stages)
        target = stages.get(stage)
        if target is None or target.deleted_hlc is not None:
            raise ValidationError(f"'{REFERRAL_STAGES[stage]}' is not a stage this referral has reached.", "stage")
        if ORDER.index(stage) >= ORDER.index(current.stage):
            raise ValidationError(f"'{REFERRAL_STAGES[stage]}' is the stage it is at: choose an earlier one.",
                                  "stage")
        gone = sorted((r for r in stages.values() if r.deleted_hlc is None
                       and ORDER.index(r.stage) > ORDER.index(stage)), key=lambda r: ORDER.index(r.stage))
        for row in gone:
            tombstone(row, why or "")
        if ORDER.index(stage) < ORDER.index("admitted"):
            referral.status = "open"
        s.flush()
        return [r.stage for r in gone]


def close(ctx: Context, referral_id: str, outcome: str, on: dt.date | str | None, reason: str) -> Any:
    """Withdraw or decline a referral (before admission), or record that the person left the
    placement (after it): dated, with a reason."""
    ctx.require("referral.edit")
    if outcome not in OUTCOMES:
        raise ValidationError(f"'{outcome}' is not a way to close a referral.", "outcome")
    why = text(reason, "The reason", "reason", max_len=1000)
    day = _day(on or _today(), "The date", "on")
    with ctx.write("referral.edit") as s:
        referral, _person = _referral(s, ctx, referral_id)
        needed, words = OUTCOMES[outcome]
        if referral.status in REFERRAL_CLOSED:
            raise ValidationError(f"This referral is already closed ({REFERRAL_STATUSES[referral.status].lower()}).",
                                  "status")
        if referral.status != needed and outcome == "left_placement":
            raise ValidationError("Left the placement is for a referral after admission; before it, withdraw or "
                                  "decline it.", "outcome")
        if referral.status != needed:
            raise ValidationError("Withdrawn or declined is for a referral before admission; after it, record "
                                  "that the person left the placement.", "outcome")
        current = _current(_stage_rows(s, referral_id))
        if day < current.reached_on:
            raise ValidationError(f"{words} can't be dated before the stage it is at ({long_date(current.reached_on)}"
                                  ").", "on")
        referral.status, referral.closed_on, referral.close_reason = outcome, day, why
        s.flush()
        return to_record(referral)


def withdraw(ctx: Context, referral_id: str, reason: str, on: dt.date | str | None = None, *,
             declined: bool = False) -> Any:
    return close(ctx, referral_id, "declined" if declined else "withdrawn", on, reason)


def follow_transfer(s: OrmSession, person_id: str, to_establishment_id: str | None) -> None:
    """In the transfer's transaction: the person's referrals that are not closed follow them to
    their new establishment (left custody: they stay where they were)."""
    if to_establishment_id is None:
        return
    for referral in s.execute(select(Referral).where(
            Referral.person_id == person_id, Referral.deleted_hlc.is_(None), Referral.status.in_(ACTIVE),
            Referral.establishment_id != to_establishment_id)).scalars():
        referral.establishment_id = to_establishment_id


# -- reads ------------------------------------------------------------------------------------


def _rows(s: OrmSession, ctx: Context, *, status: str | None, stage: str | None, establishment_id: str | None,
          person_id: str | None = None, referral_id: str | None = None, today: dt.date | None = None
          ) -> list[ReferralRow]:
    today = today or _today()
    where = func.coalesce(Person.establishment_id, Referral.establishment_id)
    q = (select(Referral, Person, where.label("where"))
         .join(Person, Person.id == Referral.person_id)
         .where(Referral.deleted_hlc.is_(None), Person.deleted_hlc.is_(None)))
    inst = ctx.installation
    if not inst.is_office:
        if establishment_id not in (None, inst.establishment_id):
            raise PermissionDenied("This PC shows its own establishment's referrals only; another "
                                   "establishment's are there and at the SRC office.")
        establishment_id = inst.establishment_id
    if establishment_id:
        q = q.where(where == establishment_id)
    if status in (None, "active"):
        q = q.where(Referral.status.in_(ACTIVE))
    elif status == "closed":
        q = q.where(Referral.status.in_(REFERRAL_CLOSED))
    elif status != "all":
        if status not in REFERRAL_STATUSES:
            raise ValidationError(f"'{status}' is not a referral status.", "status")
        q = q.where(Referral.status == status)
    if person_id:
        q = q.where(Referral.person_id == person_id)
    if referral_id:
        q = q.where(Referral.id == referral_id)
    found = s.execute(q).all()
    if not found:
        return []
    ids = [r.Referral.id for r in found]
    current: dict[str, tuple[str, dt.date]] = {}
    for rid, st, day in s.execute(select(ReferralStage.referral_id, ReferralStage.stage, ReferralStage.reached_on)
                                  .where(ReferralStage.referral_id.in_(ids), ReferralStage.deleted_hlc.is_(None),
                                         ReferralStage.merged_into.is_(None))):
        if st in REFERRAL_STAGES and (rid not in current or ORDER.index(st) > ORDER.index(current[rid][0])):
            current[rid] = (st, day)
    ests = {e.id: e for e in s.execute(select(Establishment)).scalars()}
    org_ids = {r.Referral.organisation_id for r in found if r.Referral.organisation_id}
    orgs = dict(s.execute(select(CommunityOrganisation.id, CommunityOrganisation.name)
                          .where(CommunityOrganisation.id.in_(org_ids))).all()) if org_ids else {}
    out = []
    for r in found:
        ref, person = r.Referral, r.Person
        st, since = current.get(ref.id, ("identified", ref.closed_on or today))
        if stage and st != stage:
            continue
        est = ests.get(r.where)
        end = ref.closed_on if ref.status in REFERRAL_CLOSED and ref.closed_on else today
        out.append(ReferralRow(
            id=ref.id, person_id=person.id, person_name=f"{person.given_name} {person.family_name}",
            external_ref=person.external_ref, establishment_id=r.where,
            establishment_code=est.code if est else None, establishment_name=est.name if est else None,
            status=ref.status, stage=st, since=since, days_waiting=max(0, (end - since).days),
            service=orgs.get(ref.organisation_id or ""), closed_on=ref.closed_on, close_reason=ref.close_reason))
    # On the way to admission first (where waiting matters), then in placement, then closed;
    # each longest waiting first.
    rank = {"open": 0, "in_placement": 1}
    out.sort(key=lambda x: (rank.get(x.status, 2), -x.days_waiting, x.person_name.lower()))
    return out


def list_referrals(ctx: Context, *, status: str | None = None, stage: str | None = None,
                   establishment_id: str | None = None, today: dt.date | None = None) -> list[ReferralRow]:
    """Referrals, those on the way to admission first, each longest waiting first: those not closed (``status`` None), "closed", "all" or
    one status; of one current ``stage``; of one establishment (at the office; an establishment
    PC sees its own people's only)."""
    if stage is not None and stage not in REFERRAL_STAGES:
        raise ValidationError(f"'{stage}' is not a stage of the protocol.", "stage")
    with ctx.read() as s:
        return _rows(s, ctx, status=status, stage=stage, establishment_id=establishment_id, today=today)


def person_referrals(ctx: Context, person_id: str, today: dt.date | None = None) -> list[ReferralRow]:
    """A person's referrals (every status), newest stage first."""
    with ctx.read() as s:
        person = get_live(s, Person, person_id, "person")
        if not ctx.installation.is_office and person.establishment_id not in (None, ctx.installation.establishment_id):
            return []
        rows = _rows(s, ctx, status="all", stage=None, establishment_id=None, person_id=person_id, today=today)
    return sorted(rows, key=lambda r: r.since, reverse=True)


def get_referral(ctx: Context, referral_id: str, today: dt.date | None = None) -> ReferralDetail:
    """One referral with its stage history (stepped-back stages too, marked, with the reason)."""
    with ctx.read() as s:
        rows = _rows(s, ctx, status="all", stage=None, establishment_id=None, referral_id=referral_id, today=today)
        if not rows:
            raise NotFound("That referral no longer exists here.")
        ref = s.get(Referral, referral_id)
        stages = sorted(_stage_rows(s, referral_id).values(),
                        key=lambda r: (ORDER.index(r.stage) if r.stage in REFERRAL_STAGES else 99, r.reached_on))
        names = _names(s, {r.recorded_by for r in stages} | {r.deleted_by for r in stages})
        history = [StageEntry(r.stage, r.reached_on, names.get(r.recorded_by or ""), r.note, r.deleted_hlc is not None,
                              r.deleted_reason, names.get(r.deleted_by or "")) for r in stages]
        return ReferralDetail(rows[0], ref.notes, ref.organisation_id, history)


def short_id(referral_id: str) -> str:
    """What the command line shows of a referral's id: its last 8 characters (the first ones are
    its time of creation, shared by referrals made together)."""
    return referral_id[-8:]


def find_referral(ctx: Context, wanted: str) -> ReferralRow:
    """The referral whose id is or ends with ``wanted`` (at least 6 characters; the command line
    shows :func:`short_id`), among those this PC shows."""
    wanted = (wanted or "").strip().lower()
    if len(wanted) < 6:
        raise ValidationError("Give at least the last 6 characters of the referral's id "
                              "(`srcdesk referrals list` shows them).", "referral")
    with ctx.read() as s:
        ids = s.execute(select(Referral.id).where(Referral.id.endswith(wanted, autoescape=True),
                                                  Referral.deleted_hlc.is_(None)).limit(2)).scalars().all()
        if len(ids) > 1:
            raise ValidationError(f"More than one referral's id ends with {wanted}: give more of it.", "referral")
        rows = _rows(s, ctx, status="all", stage=None, establishment_id=None, referral_id=ids[0]) if ids else []
    if not rows:
        raise NotFound(f"No referral here has an id ending with {wanted}.")
    return rows[0]


def organisation_by_name_or_id(ctx: Context, wanted: str) -> str:
    """The id of the live community organisation named ``wanted`` (case ignored) or with that id."""
    wanted = (wanted or "").strip()
    with ctx.read() as s:
        found = s.execute(select(CommunityOrganisation.id).where(
            or_(func.lower(CommunityOrganisation.name) == wanted.lower(), CommunityOrganisation.id == wanted),
            CommunityOrganisation.deleted_hlc.is_(None))).scalars().all()
    if len(found) != 1:
        raise NotFound(f"No community organisation here is called {wanted!r}." if not found else
                       f"More than one community organisation is called {wanted!r}: give its id.")
    return found[0]


def organisations(ctx: Context) -> list[tuple[str, str]]:
    """(id, name) of the community organisations not retired, by name: the services a referral may name."""
    with ctx.read() as s:
        return list(s.execute(select(CommunityOrganisation.id, CommunityOrganisation.name).where(
            CommunityOrganisation.deleted_hlc.is_(None), CommunityOrganisation.retired.is_(False))
            .order_by(CommunityOrganisation.name)).all())
