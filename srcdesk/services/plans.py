"""The workplan: plan years, focus establishments, targets (coordinators at the SRC office: the office
would refuse workplan changes in an establishment's bundle, see :mod:`srcdesk.sync.authority`)."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from sqlalchemy import select

from ..errors import ValidationError
from ..models import Establishment, PlanFocus, PlanTarget, PlanYear, Programme
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


def add_target(ctx: Context, plan_year_id: str, *, code: str, description: str, target_value: int | None = None,
               establishment_id: str | None = None, programme_id: str | None = None) -> Any:
    ctx.require("plan.edit")
    if target_value is not None and (not isinstance(target_value, int) or target_value < 0):
        raise ValidationError("A target is a whole number of at least 0.", "target_value")
    refuse_here(ctx, "plan_target")
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
    if target_value is not None and (not isinstance(target_value, int) or target_value < 0):
        raise ValidationError("A target is a whole number of at least 0.", "target_value")
    refuse_here(ctx, "plan_target")
    with ctx.write("plan.edit", "edit targets") as s:
        row = get_live(s, PlanTarget, target_id, "target")
        if description is not None:
            row.description = text(description, "Description", "description", max_len=2000)
        if target_value is not None:
            row.target_value = target_value
        s.flush()
        return to_record(row)
