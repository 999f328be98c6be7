"""The national picture for the screens and the commands: the indicators of
:mod:`srcdesk.reports.indicators`, each behind the ``report.read`` permission and scoped to what
this installation may see. The SRC office sees every establishment and the national figure
(``establishment_id=None``); an establishment's PC sees its own establishment only, so asking it
for the national figure or another establishment's is refused.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.orm import Session as OrmSession

from ..errors import PermissionDenied, ValidationError
from ..models import Establishment, PlanYear
from ..reports import indicators
from ..reports.indicators import INDICATOR_BY_CODE, Behind, Figures, Freshness, Value
from ..reports.periods import Period
from . import plans
from .base import Context


def _scope(ctx: Context, s: OrmSession, establishment_id: str | None) -> str | None:
    """The establishment asked for, once this installation may see it."""
    inst = ctx.installation
    if not inst.is_office:
        if establishment_id is None:
            raise PermissionDenied("This PC shows its own establishment's figures; the national picture is "
                                   "at the SRC office.")
        if establishment_id != inst.establishment_id:
            raise PermissionDenied("This PC shows its own establishment's figures only; another "
                                   "establishment's are at that establishment and at the SRC office.")
    if establishment_id is not None:
        est = s.get(Establishment, establishment_id)
        if est is None or est.deleted_hlc is not None:
            raise ValidationError("That establishment is not on the list.", "establishment_id")
    return establishment_id


def _indicator(code: str) -> str:
    if code not in INDICATOR_BY_CODE:
        raise ValidationError(f"'{code}' is not one of the indicators.", "code")
    return code


def figures(ctx: Context, period: Period, establishment_id: str | None = None) -> Figures:
    """Every headline indicator for the period (None: national, at the office only)."""
    ctx.require("report.read")
    with ctx.read() as s:
        return indicators.figures(s, period, _scope(ctx, s, establishment_id))


def by_establishment(ctx: Context, period: Period) -> dict[str, dict[str, Value]]:
    """establishment id -> indicator code -> value: every live establishment at the office, this
    establishment alone on its own PC."""
    ctx.require("report.read")
    with ctx.read() as s:
        if ctx.installation.is_office:
            return indicators.by_establishment(s, period)
        own = _scope(ctx, s, ctx.installation.establishment_id)
        return {own: indicators.figures(s, period, own).values}


def trend(ctx: Context, code: str, quarters: list[Period], establishment_id: str | None = None) -> list[Value]:
    """One indicator for each of ``quarters``."""
    ctx.require("report.read")
    with ctx.read() as s:
        return indicators.trend(s, _indicator(code), quarters, _scope(ctx, s, establishment_id))


def freshness(ctx: Context, today: dt.date | None = None) -> list[Freshness]:
    """When each establishment's last bundle arrived here, oldest first (on an establishment's PC,
    its own row only)."""
    ctx.require("report.read")
    with ctx.read() as s:
        rows = indicators.freshness(s, today or dt.date.today())
    if not ctx.installation.is_office:
        rows = [f for f in rows if f.establishment_id == ctx.installation.establishment_id]
    return rows


def behind(ctx: Context, period: Period, code: str, establishment_id: str | None = None,
           limit: int = 500) -> Behind:
    """The records behind one number (names included: the screen shows them to signed-in users)."""
    ctx.require("report.read")
    with ctx.read() as s:
        return indicators.behind(s, period, _indicator(code), _scope(ctx, s, establishment_id), limit)


def establishments(ctx: Context) -> list[tuple[str, str, str]]:
    """(id, code, name) of the establishments this user may look at, by name (the office: every
    open establishment; an establishment's PC: its own)."""
    ctx.require("report.read")
    with ctx.read() as s:
        rows = indicators.live_establishments(s)
        if not ctx.installation.is_office:
            own = ctx.installation.establishment_id
            rows = [r for r in rows if r[0] == own] or [
                (e.id, e.code, e.name) for e in [s.get(Establishment, own)] if e is not None]
        return rows


def _plan_year(s: OrmSession, period: Period) -> PlanYear | None:
    return s.execute(select(PlanYear).where(
        PlanYear.deleted_hlc.is_(None), PlanYear.merged_into.is_(None),
        PlanYear.starts_on <= period.start, PlanYear.ends_on >= period.start,
    ).order_by(PlanYear.starts_on.desc())).scalars().first()


def _plan_year_id(ctx: Context, period: Period, establishment_id: str | None = None) -> str | None:
    with ctx.read() as s:
        _scope(ctx, s, establishment_id)
        year = _plan_year(s, period)
        return year.id if year is not None else None


def targets(ctx: Context, period: Period, establishment_id: str | None = None
            ) -> list[tuple[str, str | None, int | None, str]]:
    """The workplan's targets for the plan year containing ``period``: (indicator code,
    establishment id or None for a national target, target value, description). With an
    establishment, its own targets and the national ones; without (the office), all of them.
    Read by :func:`srcdesk.services.plans.targets` (one reading for the Workplan tab, the dashboard
    and the report: an older reference target such as "RAT for every recruit cohort" comes as the
    indicator that measures it, with the target it means; one srcdesk does not count keeps its code)."""
    ctx.require("report.read")
    year_id = _plan_year_id(ctx, period, establishment_id)
    if year_id is None:
        return []
    return [(t.measures or t.code, t.establishment_id, t.target_value, t.description)
            for t in plans.targets(ctx, year_id, establishment_id)]


def focus(ctx: Context, period: Period) -> list[str]:
    """The establishments the workplan focuses on in the plan year containing ``period`` (on an
    establishment's PC: its own id if it is one of them); :func:`srcdesk.services.plans.focus`."""
    ctx.require("report.read")
    year_id = _plan_year_id(ctx, period, ctx.installation.establishment_id)
    return [] if year_id is None else sorted(e.id for e in plans.focus(ctx, year_id))


def referrals_by_stage(ctx: Context, period: Period, establishment_id: str | None = None
                       ) -> indicators.ReferralCounts:
    """Early Release to Residential Rehabilitation referrals by stage, now and in the period
    (:func:`srcdesk.reports.indicators.referrals_by_stage`), scoped like every figure."""
    ctx.require("report.read")
    with ctx.read() as s:
        return indicators.referrals_by_stage(s, period, _scope(ctx, s, establishment_id))
