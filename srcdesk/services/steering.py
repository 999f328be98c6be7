"""The Recovery Strategy Steering Group report: its figures gathered through
:mod:`srcdesk.services.dashboard` (the dashboard's numbers, scoped as the dashboard is), written
as a PDF by :mod:`srcdesk.reports.steering`, and recorded in ``export_record``.

A coordinator's job (``report.steering``). At the SRC office the report is national, or one
establishment's with ``establishment_id``; on an establishment's PC it is that establishment's.
Small numbers are suppressed unless ``suppressed=False`` (for use inside SRC: every page then
says so); the record notes which.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from pathlib import Path

from ..ids import new_id
from ..models import ExportRecord
from ..reports import steering as pdf
from ..reports.indicators import INDICATOR_BY_CODE
from ..reports.periods import Period, period_containing, quarters_between
from . import dashboard
from .base import Context

#: How many quarters the trend lines show, ending with the report's period.
TREND_QUARTERS = 8

Progress = Callable[[int, int, str], object]

_GATHERING = ("this period's figures", "the previous period's", "each establishment's", "the trends",
              "the workplan", "the data's freshness")
_STEPS = len(_GATHERING) + 8  # and about 7 pages to draw


def _today(ctx: Context) -> dt.date:
    return dt.datetime.fromtimestamp(ctx.db.wall_ms() / 1000).date()


def gather(ctx: Context, period: Period, establishment_id: str | None = None, *, notes: str = "",
           progress: Progress | None = None) -> pdf.SteeringData:
    """Everything the report shows, read through the dashboard's service (``report.read``)."""
    def step(n: int) -> None:
        if progress is not None:
            progress(n, _STEPS, f"Gathering {_GATHERING[n]}…")

    if not ctx.installation.is_office and establishment_id is None:
        establishment_id = ctx.installation.establishment_id
    known = {eid: (code, name) for eid, code, name in dashboard.establishments(ctx)}
    step(0)
    now = dashboard.figures(ctx, period, establishment_id)
    step(1)
    before = dashboard.figures(ctx, period.previous(), establishment_id)
    step(2)
    focus_ids = set(dashboard.focus(ctx, period))
    by = dashboard.by_establishment(ctx, period) if establishment_id is None else {}
    rows = [pdf.EstablishmentFigures(code, name, by.get(eid, {}), eid in focus_ids)
            for eid, (code, name) in sorted(known.items(), key=lambda kv: kv[1][1])] if by else []
    step(3)
    last = period_containing(period.end)
    quarters = quarters_between(period_containing(last.start - dt.timedelta(days=92 * (TREND_QUARTERS - 1))),
                                last)[-TREND_QUARTERS:]
    step(4)
    values_of = {**by, establishment_id: now.values}  # the report's own scope (None: national)
    progress_rows, trend_targets = [], {}
    for code, est, value, description in dashboard.targets(ctx, period, establishment_id):
        if establishment_id is not None and est != establishment_id:
            continue  # one establishment's report: its own targets
        measured = code in INDICATOR_BY_CODE  # else a workplan item srcdesk does not count ("mapping")
        if measured and value is not None and est == establishment_id:
            trend_targets[code] = float(value)
        progress_rows.append(pdf.TargetProgress(
            code, known[est][1] if est in known else None, None if value is None else float(value),
            values_of.get(est, {}).get(code) if measured else None, description or ""))
    trend_codes = list(dict.fromkeys([*trend_targets, *pdf.TREND_DEFAULT]))[:pdf.MAX_TRENDS]
    trends = {code: dashboard.trend(ctx, code, quarters, establishment_id) for code in trend_codes}
    step(5)
    freshness = [pdf.Staleness(f.name, f.last_bundle_at, f.days) for f in dashboard.freshness(ctx, _today(ctx))
                 if establishment_id is None or f.establishment_id == establishment_id]
    user = ctx.user
    assert user is not None  # dashboard's report.read refused otherwise
    plan = period_containing(period.start, "year")
    return pdf.SteeringData(
        period=period, scope=known[establishment_id][1] if establishment_id else "All establishments",
        scope_code=known[establishment_id][0] if establishment_id else None,
        national=establishment_id is None, prepared_by=user.display_name or user.username,
        prepared_on=_today(ctx), figures=now.values, previous=before.values, establishments=rows,
        sessions_by_programme=sorted([*now.sessions_by.get("programme", []), *now.sessions_by.get("activity", [])],
                                     key=lambda r: (-r[1], r[0])), quarters=quarters, trends=trends,
        trend_targets=trend_targets, targets=progress_rows,
        focus=sorted(known[i][1] for i in focus_ids if i in known), plan_year=plan.label,
        freshness=freshness, notes=notes)


def write_report(ctx: Context, period: Period, path: str | Path, *, establishment_id: str | None = None,
                 notes: str = "", suppressed: bool = True, progress: Progress | None = None,
                 cancelled: Callable[[], bool] | None = None) -> Path:
    """Gather, write the PDF at ``path`` (whole or not at all) and record the export."""
    ctx.require("report.steering")
    path = Path(path)
    data = gather(ctx, period, establishment_id, notes=notes, progress=progress)
    user = ctx.user
    assert user is not None
    filters = {"period": period.code, "establishment": data.scope_code, "suppressed": suppressed,
               "notes": bool(notes.strip())}

    def record() -> None:
        with ctx.write("report.steering") as s:
            s.add(ExportRecord(
                id=new_id(), user_id=user.id, user_name=user.display_name or user.username, what="steering",
                exported_at=dt.datetime.fromtimestamp(ctx.db.wall_ms() / 1000, tz=dt.UTC).replace(tzinfo=None),
                personal=False, file_format="pdf", filters=json.dumps(filters, sort_keys=True),
                rows=len(data.establishments) or 1, file_name=path.name))

    def drawing(page: int, _total: int, what: str) -> None:  # the pages' count is known only at the end
        if progress is not None:
            progress(min(len(_GATHERING) + page, _STEPS - 1), _STEPS, what)

    return pdf.write_pdf(data, path, suppressed=suppressed, progress=drawing, cancelled=cancelled,
                         before_replace=record)
