"""The workplan: plan years, focus establishments, targets (coordinators at the SRC office: the office
would refuse workplan changes in an establishment's bundle, see :mod:`srcdesk.sync.authority`)."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select

from ..errors import NotFound, ValidationError
from ..models import Establishment, PlanFocus, PlanTarget, PlanYear, Programme
from ..reports.indicators import INDICATOR_BY_CODE, INDICATORS, Ratio
from ..reports.periods import Period
from ..sync.authority import refuse_here
from .base import Context, get_live, parse_date, revive, text, to_record, tombstone

PLAN_CODE = re.compile(r"^(\d{4})-(\d{2})$")


def create_plan_year(ctx: Context, code: str, *, name: str | None = None, notes: str | None = None) -> Any:
    """A plan year such as 2024-25 (1 April to 31 March)."""
    ctx.require("plan.edit")
    m = PLAN_CODE.match((code or "").strip())
    if not m or (int(m.group(1)) + 1) % 100 != int(m.group(2)):
        raise ValidationError("A plan year is written like 2024-25.", "code")
    start = int(m.group(1))
    refuse_here(ctx, "plan_year")
    with ctx.write("plan.edit", "add plan years") as s:
        if s.execute(select(PlanYear.id).where(PlanYear.code == code, PlanYear.merged_into.is_(None))).first():
            raise ValidationError(f"The plan year {code} already exists.", "code")
        row = PlanYear(code=code, name=text(name or f"Plan year {code}", "Name", "name", max_len=60),
                       starts_on=dt.date(start, 4, 1), ends_on=dt.date(start + 1, 3, 31),
                       notes=text(notes, "Notes", "notes", required=False, max_len=4000))
        s.add(row)
        s.flush()
        return to_record(row)


def set_focus(ctx: Context, plan_year_id: str, establishment_ids: list[str]) -> list[str]:
    """The establishments the workplan focuses on in a plan year (the strategy says 3-5)."""
    ctx.require("plan.edit")
    if len(set(establishment_ids)) != len(establishment_ids):
        raise ValidationError("An establishment is listed twice.", "establishment_ids")
    refuse_here(ctx, "plan_focus")
    with ctx.write("plan.edit", "choose focus establishments") as s:
        get_live(s, PlanYear, plan_year_id, "plan year")
        for est_id in establishment_ids:
            get_live(s, Establishment, est_id, "establishment")
        current = {f.establishment_id: f for f in s.execute(
            select(PlanFocus).where(PlanFocus.plan_year_id == plan_year_id, PlanFocus.merged_into.is_(None))).scalars()}
        for est_id in establishment_ids:
            row = current.get(est_id)
            if row is None:
                s.add(PlanFocus(plan_year_id=plan_year_id, establishment_id=est_id))
            elif row.deleted_hlc is not None:
                revive(row)
        for est_id, row in current.items():
            if est_id not in establishment_ids and row.deleted_hlc is None:
                tombstone(row, "No longer a focus establishment")
        return list(establishment_ids)


def _check_target(code: str, target_value: int | None) -> None:
    """A target names one of the indicators (what the dashboard counts); a ratio's target is a
    percentage (RAT for every recruit cohort: 100)."""
    indicator = INDICATOR_BY_CODE.get((code or "").strip())
    if indicator is None:
        raise ValidationError("A target is set for one of the indicators: "
                              + ", ".join(i.label for i in INDICATORS) + ".", "code")
    if target_value is None:
        return
    if isinstance(target_value, bool) or not isinstance(target_value, int) or target_value < 0:
        raise ValidationError("A target is a whole number of at least 0.", "target_value")
    if indicator.unit == "ratio" and target_value > 100:
        raise ValidationError(f"{indicator.label} is a percentage: a target from 0 to 100.", "target_value")


def add_target(ctx: Context, plan_year_id: str, *, code: str, description: str, target_value: int | None = None,
               establishment_id: str | None = None, programme_id: str | None = None) -> Any:
    """A target for one indicator in a plan year, for one establishment or (None) all of them."""
    ctx.require("plan.edit")
    refuse_here(ctx, "plan_target")
    _check_target(code, target_value)
    code = code.strip()
    with ctx.write("plan.edit", "set targets") as s:
        get_live(s, PlanYear, plan_year_id, "plan year")
        if establishment_id:
            get_live(s, Establishment, establishment_id, "establishment")
        if programme_id:
            get_live(s, Programme, programme_id, "programme")
        row = PlanTarget(plan_year_id=plan_year_id, code=text(code, "Code", "code", max_len=40),
                         description=text(description, "Description", "description", max_len=2000),
                         target_value=target_value, establishment_id=establishment_id, programme_id=programme_id)
        s.add(row)
        s.flush()
        return to_record(row)


def remove_target(ctx: Context, target_id: str, reason: str) -> None:
    ctx.require("plan.edit")
    refuse_here(ctx, "plan_target")
    with ctx.write("plan.edit", "remove targets") as s:
        tombstone(get_live(s, PlanTarget, target_id, "target"), reason)


def plan_year_for(ctx: Context, day: dt.date | str) -> Any | None:
    d = parse_date(day, "Date", "day")
    with ctx.read() as s:
        row = s.execute(select(PlanYear).where(PlanYear.starts_on <= d, PlanYear.ends_on >= d,
                                               PlanYear.deleted_hlc.is_(None))).scalar_one_or_none()
        return to_record(row) if row else None


def update_plan_year(ctx: Context, plan_year_id: str, *, name: str | None = None, notes: str | None = None) -> Any:
    ctx.require("plan.edit")
    refuse_here(ctx, "plan_year")
    with ctx.write("plan.edit", "edit plan years") as s:
        row = get_live(s, PlanYear, plan_year_id, "plan year")
        if name is not None:
            row.name = text(name, "Name", "name", max_len=60)
        if notes is not None:
            row.notes = text(notes, "Notes", "notes", required=False, max_len=4000)
        s.flush()
        return to_record(row)


def update_target(ctx: Context, target_id: str, *, description: str | None = None,
                  target_value: int | None = None) -> Any:
    ctx.require("plan.edit")
    if target_value is not None and (isinstance(target_value, bool) or not isinstance(target_value, int)
                                     or target_value < 0):
        raise ValidationError("A target is a whole number of at least 0.", "target_value")
    refuse_here(ctx, "plan_target")
    with ctx.write("plan.edit", "edit targets") as s:
        row = get_live(s, PlanTarget, target_id, "target")
        indicator = _indicator_of(row.code)[0]
        if indicator is not None and indicator.unit == "ratio" and target_value is not None and target_value > 100:
            raise ValidationError(f"{indicator.label} is a percentage: a target from 0 to 100.", "target_value")
        if description is not None:
            row.description = text(description, "Description", "description", max_len=2000)
        if target_value is not None:
            row.target_value = target_value
        s.flush()
        return to_record(row)


# Targets of the reference data (resources/reference/reference.json, every PC has them) written
# before targets named an indicator: the ones an indicator measures, with the target they mean.
MEASURED_AS: dict[str, tuple[str, int]] = {
    "rat_every_cohort": ("rat_coverage", 100),  # RAT for every recruit cohort: 100 % coverage
}


def _indicator_of(code: str) -> tuple[Any, int | None]:
    """The indicator a target's code names (None if none) and the target an older code implies."""
    if code in MEASURED_AS:
        measured, implied = MEASURED_AS[code]
        return INDICATOR_BY_CODE[measured], implied
    return INDICATOR_BY_CODE.get(code), None


# -- reads: what the Workplan tab and `srcdesk plan list` show ---------------------------------
#
# The plan tables travel to every establishment (shared reference data, srcdesk.sync.scope), but
# an establishment's PC shows its own focus and targets and the national ones, never another
# establishment's: the scoping is here, in one place, for the screen and the command alike.

NATIONAL = "All establishments"
NOT_SET_HERE = "The workplan is set at the SRC office."


def _visible_establishment(ctx: Context) -> str | None:
    """None at the office (every establishment), else this PC's establishment."""
    inst = ctx.installation
    return None if inst.is_office else inst.establishment_id


def can_edit(ctx: Context) -> str:
    """Why the signed-in user can't edit the workplan here ("" if they can): the sentence the
    services would refuse with, for the screen's read-only note."""
    if not ctx.installation.is_office:
        return NOT_SET_HERE
    return ctx.refusal("plan.edit")


def list_plan_years(ctx: Context) -> list[Any]:
    """Every plan year, earliest first."""
    with ctx.read() as s:
        rows = s.execute(select(PlanYear).where(PlanYear.deleted_hlc.is_(None), PlanYear.merged_into.is_(None))
                         .order_by(PlanYear.starts_on)).scalars()
        return [to_record(r) for r in rows]


def plan_year_by_code(ctx: Context, code: str) -> Any:
    """The plan year written like 2025-26 (refused, with the ones there are, if there is none)."""
    years = list_plan_years(ctx)
    for y in years:
        if y.code == (code or "").strip():
            return y
    there = ", ".join(y.code for y in years[-5:]) or "none yet"
    raise NotFound(f"There is no plan year {code} (the latest: {there}).")


def suggested_new_year(ctx: Context, today: dt.date | None = None) -> str:
    """The plan year to offer for "New plan year…": the one after the latest, or this one."""
    years = list_plan_years(ctx)
    if years:
        start = max(y.starts_on.year for y in years) + 1
    else:
        day = today or dt.date.today()
        start = day.year if day.month >= 4 else day.year - 1
    return f"{start}-{(start + 1) % 100:02d}"


@dataclass(frozen=True)
class EstablishmentChoice:
    id: str
    code: str
    name: str
    focus: bool  # a focus establishment of the plan year


def focus(ctx: Context, plan_year_id: str) -> list[EstablishmentChoice]:
    """The focus establishments of a plan year (an establishment's PC: itself, if it is one)."""
    return [e for e in establishments(ctx, plan_year_id) if e.focus]


def establishments(ctx: Context, plan_year_id: str | None = None) -> list[EstablishmentChoice]:
    """The open establishments this PC shows (the office: all; an establishment: itself), by name,
    each marked if it is a focus establishment of ``plan_year_id``."""
    own = _visible_establishment(ctx)
    with ctx.read() as s:
        q = select(Establishment).where(Establishment.deleted_hlc.is_(None), Establishment.merged_into.is_(None))
        if own is not None:
            q = q.where(Establishment.id == own)
        ests = [e for e in s.execute(q.order_by(Establishment.name)).scalars()
                if e.closed is None or e.closed > dt.date.today()]
        chosen: set[str] = set()
        if plan_year_id:
            chosen = set(s.execute(select(PlanFocus.establishment_id).where(
                PlanFocus.plan_year_id == plan_year_id, PlanFocus.deleted_hlc.is_(None),
                PlanFocus.merged_into.is_(None))).scalars())
        return [EstablishmentChoice(e.id, e.code, e.name, e.id in chosen) for e in ests]


FOCUS_FEWEST, FOCUS_MOST = 3, 5


def focus_warning(count: int) -> str:
    """The strategy's 3-5 focus establishments a year: a warning outside it ("" inside), never a refusal."""
    if FOCUS_FEWEST <= count <= FOCUS_MOST:
        return ""
    return (f"The strategy plans focused support for {FOCUS_FEWEST}–{FOCUS_MOST} establishments a year; "
            f"this plan year has {count}.")


@dataclass(frozen=True)
class Target:
    id: str
    plan_year_id: str
    code: str  # as stored; progress reads the indicator ``measures`` names
    measures: str | None  # the INDICATORS code it is measured by (None: srcdesk does not count it)
    label: str  # the indicator's label ("RAT coverage"), or the code of an older target
    unit: str  # "count" | "hours" | "ratio" | "" (not an indicator: srcdesk does not count it)
    establishment_id: str | None
    establishment: str  # its name, or "All establishments"
    description: str
    target_value: int | None
    programme_id: str | None

    @property
    def measured(self) -> bool:
        return self.unit != ""

    @property
    def shown_target(self) -> str:
        if self.target_value is None:
            return "—"
        return f"{self.target_value} %" if self.unit == "ratio" else f"{self.target_value:,}"


def targets(ctx: Context, plan_year_id: str, establishment_id: str | None = None) -> list[Target]:
    """A plan year's targets, national first then by establishment, in the indicators' order. An
    establishment's PC: the national ones and its own. ``establishment_id``: that establishment's
    and the national ones."""
    own = _visible_establishment(ctx)
    order = {i.code: n for n, i in enumerate(INDICATORS)}
    with ctx.read() as s:
        names = dict(s.execute(select(Establishment.id, Establishment.name)).all())
        rows = s.execute(select(PlanTarget).where(PlanTarget.plan_year_id == plan_year_id,
                                                  PlanTarget.deleted_hlc.is_(None))).scalars().all()
    found = []
    for r in rows:
        if r.establishment_id is not None and own is not None and r.establishment_id != own:
            continue
        if r.establishment_id is not None and establishment_id is not None and r.establishment_id != establishment_id:
            continue
        indicator, implied = _indicator_of(r.code)
        found.append(Target(r.id, r.plan_year_id, r.code, indicator.code if indicator else None,
                            indicator.label if indicator else r.code.replace("_", " ").capitalize(),
                            indicator.unit if indicator else "", r.establishment_id,
                            names.get(r.establishment_id, "?") if r.establishment_id else NATIONAL,
                            r.description, r.target_value if r.target_value is not None else implied,
                            r.programme_id))
    found.sort(key=lambda t: (t.establishment_id is not None, t.establishment if t.establishment_id else "",
                              order.get(t.measures or "", len(order)), t.code, t.description))
    return found


# -- progress ------------------------------------------------------------------------------------

MET, ON_TRACK, BEHIND, MISSED, NOT_STARTED, NO_TARGET, NOT_MEASURED = (
    "met", "on track", "behind", "missed", "not started", "no target", "not measured")


@dataclass(frozen=True)
class Progress:
    target: Target
    actual: float | None  # so far: a count, hours, or a percentage (ratio targets); None: not known here
    expected: float | None  # what "on track" needs by now (a count's share of the year gone; a ratio's target)
    share: float | None  # actual ÷ target (1.0 = met), None without both
    status: str  # MET | ON_TRACK | BEHIND | MISSED | NOT_STARTED | NO_TARGET | NOT_MEASURED
    note: str  # one sentence for a tooltip, the report and the command

    @property
    def shown_actual(self) -> str:
        if self.actual is None:
            return "—"
        if self.target.unit == "ratio":
            return f"{self.actual:.0f} %"
        if self.target.unit == "hours":
            return f"{self.actual:,.1f}"
        return f"{self.actual:,.0f}"

    @property
    def on_track(self) -> bool | None:
        """True met or on track, False behind or missed, None when it can't be said."""
        return {MET: True, ON_TRACK: True, BEHIND: False, MISSED: False}.get(self.status)


ValueFor = Callable[[Context, Period, str, "str | None"], Any]


def _dashboard_value(ctx: Context, period: Period, code: str, establishment_id: str | None) -> Any:
    """One indicator for one period, through the dashboard's permission and scoping (its trend of
    one period: a single indicator costs a fraction of every figure at once)."""
    from . import dashboard

    return dashboard.trend(ctx, code, [period], establishment_id=establishment_id)[0]


value_for: ValueFor = _dashboard_value  # the one way progress reads the indicators


def plan_period(year: Any) -> Period:
    return Period(year.starts_on, year.ends_on, "year")


def progress(ctx: Context, plan_year_id: str, establishment_id: str | None = None, *,
             today: dt.date | None = None) -> list[Progress]:
    """Each target of the plan year (scoped as :func:`targets`) with its actual value so far, read
    from the indicators (the dashboard's figures), and whether it is on track: a count or hours
    target is on track when the actual is at least its share of the year gone; a percentage
    (ratio) when it is at least the target. An establishment's PC has only its own records, so a
    national count is left to the office (its own percentage is shown for a national ratio)."""
    today = today or dt.date.today()
    with ctx.read() as s:
        year = to_record(get_live(s, PlanYear, plan_year_id, "plan year"))
    period = plan_period(year)
    wanted = targets(ctx, plan_year_id, establishment_id)
    own = _visible_establishment(ctx)
    cache: dict[tuple[str, str | None], Any] = {}

    def value(code: str, est: str | None) -> Any:
        if (code, est) not in cache:
            cache[code, est] = value_for(ctx, period, code, est)
        return cache[code, est]

    elapsed = 0.0 if today < period.start else min(1.0, ((today - period.start).days + 1) / period.days)
    over = today > period.end
    out = []
    for t in wanted:
        note = ""
        if not t.measured:
            out.append(Progress(t, None, None, None, NOT_MEASURED,
                                "srcdesk does not count this target; report its progress in words."))
            continue
        est = t.establishment_id
        if est is None and own is not None:
            if t.unit != "ratio":
                out.append(Progress(t, None, None, None, NOT_MEASURED,
                                    "A national figure: counted at the SRC office, which has every "
                                    "establishment's records."))
                continue
            est, note = own, "This establishment's own percentage. "
        if today < period.start:
            out.append(Progress(t, None, None, None, NOT_STARTED, note + "The plan year has not started."))
            continue
        raw = value(t.measures, est)
        if isinstance(raw, Ratio):
            actual = None if raw.value is None else raw.value * 100
            if actual is None:
                note += "Nothing to measure yet (no recruit cohorts started). "
        else:
            actual = None if raw is None else float(raw)
        target = t.target_value
        if target is None:
            out.append(Progress(t, actual, None, None, NO_TARGET, note + "No number is set for this target."))
            continue
        expected = float(target) if t.unit == "ratio" else target * elapsed
        share = (actual / target) if actual is not None and target else (1.0 if actual is not None else None)
        if actual is None:
            status = NOT_MEASURED
        elif actual >= target:
            status = MET
        elif over:
            status = MISSED
        else:
            status = ON_TRACK if actual >= expected else BEHIND
        if status in (ON_TRACK, BEHIND) and t.unit != "ratio":
            note += f"By now (a {elapsed:.0%} share of the year) it needs {expected:,.0f}."
        out.append(Progress(t, actual, expected, share, status, note.strip()))
    return out


def short_id(target_id: str) -> str:
    """What the command line shows of a target's id: a generated id's last 8 characters (its first
    ones are its time of creation, shared by targets added together); a reference target's whole
    id (``tgt-2025-rat-every-cohort``)."""
    return target_id[-8:] if len(target_id) == 36 and target_id[8] == "-" else target_id


def target_by_ref(ctx: Context, ref: str) -> Target:
    """The target whose id is or ends with ``ref`` (at least 6 characters; the command line shows
    :func:`short_id`), among those this PC shows."""
    ref = (ref or "").strip().lower()
    if len(ref) < 6:
        raise ValidationError("Give at least the last 6 characters of the target's id "
                              "(`srcdesk plan list --year YEAR` shows them).", "target")
    with ctx.read() as s:
        found = s.execute(select(PlanTarget.id, PlanTarget.plan_year_id).where(
            PlanTarget.id.endswith(ref, autoescape=True), PlanTarget.deleted_hlc.is_(None)).limit(2)).all()
    if len(found) > 1:
        raise ValidationError(f"More than one target's id ends with {ref}: give more of it.", "target")
    shown = [t for t in targets(ctx, found[0].plan_year_id) if t.id == found[0].id] if found else []
    if not shown:
        raise NotFound(f"No target here has an id ending with {ref}.")
    return shown[0]
