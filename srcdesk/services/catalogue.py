"""Editable reference data: programmes, modules, activity types, the ladder's rungs.

Coordinators edit these: programmes, modules (with their completion rules, see
:mod:`srcdesk.services.completion`) and activity types anywhere, the ladder and the
attendance codes at the SRC office only (the rules of :mod:`srcdesk.sync.authority`: the office
would refuse them in an establishment's bundle, so an establishment is told at once). Anything
already used is retired, never deleted, so old records keep their meaning; something never used
may be deleted (a tombstone).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from sqlalchemy import exists, func, select

from ..errors import ValidationError
from ..models import (
    ActivityType,
    Attendance,
    AttendanceRole,
    AttendanceStatus,
    Certificate,
    MilestoneAchievement,
    MilestoneDefinition,
    Module,
    PlanTarget,
    Programme,
    Session,
)
from ..sync.authority import local_refusal, refuse_here
from ..words import plural
from .base import Context, get_live, saved, text, to_record, tombstone
from .completion import validate_completion_rule

CODE_RE = re.compile(r"^[A-Za-z0-9_-]{1,20}$")
RULE_KEYS = {"attended_sessions", "within_days", "role_sessions", "programme_completed"}

# model -> (label, {field: (label, max_len)})
KINDS: dict[type, tuple[str, dict[str, tuple[str, int]]]] = {
    Programme: ("programme", {"code": ("Code", 20), "name": ("Name", 200), "description": ("Description", 2000),
                              "kind": ("Kind", 20)}),
    Module: ("module", {"code": ("Code", 20), "name": ("Name", 200), "description": ("Description", 2000)}),
    ActivityType: ("activity type", {"code": ("Code", 20), "name": ("Name", 200),
                                     "description": ("Description", 2000)}),
    MilestoneDefinition: ("ladder level", {"code": ("Code", 30), "name": ("Name", 120),
                                           "description": ("Description", 2000)}),
    AttendanceStatus: ("attendance status", {"code": ("Code", 20), "name": ("Name", 60), "key": ("Key", 1)}),
    AttendanceRole: ("role", {"code": ("Code", 20), "name": ("Name", 60)}),
}
ORDER_FIELDS = {Module: "sequence", MilestoneDefinition: "level", AttendanceStatus: "sort_order",
                AttendanceRole: "sort_order"}


def validate_rules(rules: Any) -> str:
    """Ladder rules as canonical JSON, or a ValidationError saying what is wrong."""
    if isinstance(rules, str):
        try:
            rules = json.loads(rules)
        except ValueError:
            raise ValidationError("The rules are not valid JSON.", "rules") from None
    if not isinstance(rules, dict):
        raise ValidationError("The rules must be a set of named conditions.", "rules")
    unknown = set(rules) - RULE_KEYS
    if unknown:
        raise ValidationError(f"Unknown rule '{sorted(unknown)[0]}'. Known: {', '.join(sorted(RULE_KEYS))}.", "rules")
    for key in ("attended_sessions", "within_days"):
        if key in rules and (not isinstance(rules[key], int) or isinstance(rules[key], bool) or not 1 <= rules[key] <= 10000):
            raise ValidationError(f"'{key}' must be a whole number from 1 to 10000.", "rules")
    if "within_days" in rules and "attended_sessions" not in rules:
        raise ValidationError("'within_days' needs 'attended_sessions'.", "rules")
    if "role_sessions" in rules:
        rs = rules["role_sessions"]
        if (not isinstance(rs, dict) or set(rs) != {"roles", "count"} or not isinstance(rs["roles"], list)
                or not rs["roles"] or not all(isinstance(r, str) for r in rs["roles"])
                or not isinstance(rs["count"], int) or not 1 <= rs["count"] <= 10000):
            raise ValidationError("'role_sessions' needs a list of role codes and a count.", "rules")
    if "programme_completed" in rules and not isinstance(rules["programme_completed"], str):
        raise ValidationError("'programme_completed' is a programme code.", "rules")
    return json.dumps(rules, sort_keys=True)


def _values(model: type, values: dict[str, Any], partial: bool) -> dict[str, Any]:
    label, fields = KINDS[model]
    out: dict[str, Any] = {}
    for key, value in values.items():
        if key in fields:
            name, max_len = fields[key]
            out[key] = text(value, name, key, required=key in ("code", "name"), max_len=max_len)
            if key == "code" and not CODE_RE.match(out[key]):
                raise ValidationError("A code is letters, digits, dashes or underscores (at most 20).", "code")
        elif key == ORDER_FIELDS.get(model):
            if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= 1000:
                raise ValidationError("The order must be a whole number from 0 to 1000.", key)
            out[key] = value
        elif key == "counts_as_attended" and model is AttendanceStatus:
            if not isinstance(value, bool):
                raise ValidationError("Say whether this status counts as attended.", key)
            out[key] = value
        elif key == "rules" and model is MilestoneDefinition:
            out[key] = validate_rules(value)
        elif key == "completion_rule" and model in (Programme, Module):
            out[key] = validate_completion_rule(value, programme=model is Programme)
        elif key == "programme_id" and model is Module and not partial:
            out[key] = value
        else:
            raise ValidationError(f"'{key}' can't be set on a {label}.", key)
    if "key" in out and (not out["key"] or not out["key"].isalpha()):
        raise ValidationError("The key is one letter.", "key")
    if "key" in out:
        out["key"] = out["key"].upper()
    if not partial:
        if model is AttendanceStatus and ("key" not in out or "counts_as_attended" not in out):
            raise ValidationError("A status needs a key and whether it counts as attended.", "key")
        for required in ("code", "name"):
            if not out.get(required):
                raise ValidationError(f"{fields[required][0]} is required.", required)
    return out


def _refuse_duplicate_code(s, model: type, values: dict[str, Any], row_id: str | None) -> None:  # noqa: ANN001
    if "code" not in values:
        return
    q = select(func.count()).select_from(model).where(func.lower(model.code) == values["code"].lower(),
                                                     model.merged_into.is_(None))
    if model is Module:
        programme_id = values.get("programme_id") or s.get(Module, row_id).programme_id
        q = q.where(Module.programme_id == programme_id)
    if row_id:
        q = q.where(model.id != row_id)
    if s.execute(q).scalar_one():
        raise ValidationError(f"The code '{values['code']}' is already in use.", "code")


def kept_elsewhere(ctx: Context, model: type) -> str | None:
    """Why this PC can't change this kind of reference data at all (the ladder, attendance codes,
    … are kept at the SRC office), or None: for the screens, which then offer no changes."""
    inst = ctx.installation
    return local_refusal(model.__tablename__, None, office=inst.is_office, establishment_id=inst.establishment_id)


def create(ctx: Context, model: type, **values: Any) -> Any:
    ctx.require("catalogue.edit")
    label = KINDS[model][0]
    clean = _values(model, values, partial=False)
    refuse_here(ctx, model.__tablename__)
    with ctx.write("catalogue.edit", f"add a {label}") as s:
        if model is Module:
            get_live(s, Programme, clean.get("programme_id") or "", "programme")
        order_field = ORDER_FIELDS.get(model)
        if order_field and order_field not in clean:
            column = getattr(model, order_field)
            clean[order_field] = (s.execute(select(func.max(column))).scalar_one() or 0) + 1
        _refuse_duplicate_code(s, model, clean, None)
        return saved(s, model(**clean))


def update(ctx: Context, model: type, row_id: str, **values: Any) -> Any:
    ctx.require("catalogue.edit")
    label = KINDS[model][0]
    clean = _values(model, values, partial=True)
    refuse_here(ctx, model.__tablename__)
    with ctx.write("catalogue.edit", f"edit a {label}") as s:
        row = get_live(s, model, row_id, label)
        _refuse_duplicate_code(s, model, clean, row_id)
        return saved(s, row, clean)


def set_retired(ctx: Context, model: type, row_id: str, retired: bool = True) -> Any:
    ctx.require("catalogue.edit")
    label = KINDS[model][0]
    refuse_here(ctx, model.__tablename__)
    with ctx.write("catalogue.edit", f"retire a {label}") as s:
        return saved(s, get_live(s, model, row_id, label), {"retired": retired})


def usage_count(s, model: type, row_id: str) -> int:  # noqa: ANN001
    checks = {
        Programme: [(Module, Module.programme_id), (Certificate, Certificate.programme_id),
                    (PlanTarget, PlanTarget.programme_id)],
        Module: [(Session, Session.module_id), (Certificate, Certificate.module_id)],
        ActivityType: [(Session, Session.activity_type_id)],
        MilestoneDefinition: [(MilestoneAchievement, MilestoneAchievement.definition_id)],
        AttendanceStatus: [(Attendance, Attendance.status_id)],
        AttendanceRole: [(Attendance, Attendance.role_id)],
    }[model]
    return sum(
        s.execute(select(func.count()).select_from(m).where(col == row_id)).scalar_one() for m, col in checks
    )


def delete(ctx: Context, model: type, row_id: str, reason: str) -> None:
    """Delete something entered in error; refused if anything uses it (retire it instead)."""
    ctx.require("catalogue.edit")
    label = KINDS[model][0]
    refuse_here(ctx, model.__tablename__)
    with ctx.write("catalogue.edit", f"delete a {label}") as s:
        row = get_live(s, model, row_id, label)
        used = usage_count(s, model, row_id)
        if used:
            raise ValidationError(f"This {label} is used by {plural(used, 'record')}; retire it instead of deleting it.")
        tombstone(row, reason)


def list_all(ctx: Context, model: type, *, include_retired: bool = False) -> list[Any]:
    order = {Module: (Module.programme_id, Module.sequence), MilestoneDefinition: (MilestoneDefinition.level,),
             AttendanceStatus: (AttendanceStatus.sort_order,), AttendanceRole: (AttendanceRole.sort_order,)}
    with ctx.read() as s:
        q = select(model).where(model.deleted_hlc.is_(None))
        if not include_retired:
            q = q.where(model.retired.is_(False))
        q = q.order_by(*order.get(model, (model.name,)))
        return [to_record(r) for r in s.execute(q).scalars()]


@dataclass(frozen=True)
class Listed:
    """A catalogue row and whether anything uses it (if not, it may be deleted; else retire it)."""

    item: Any
    in_use: bool

    @property
    def id(self) -> str:
        return self.item.id


_USES = {
    Programme: [(Module, "programme_id"), (Certificate, "programme_id"), (PlanTarget, "programme_id")],
    Module: [(Session, "module_id"), (Certificate, "module_id")],
    ActivityType: [(Session, "activity_type_id")],
    MilestoneDefinition: [(MilestoneAchievement, "definition_id")],
    AttendanceStatus: [(Attendance, "status_id")],
    AttendanceRole: [(Attendance, "role_id")],
}


def in_use(s, model: type, ids: list[str]) -> dict[str, bool]:  # noqa: ANN001
    """Whether anything uses each of ``ids`` (the checks of :func:`usage_count`).

    One EXISTS probe per row and check: it stops at the first use, so it stays fast on a
    decade of sessions where counting every use would not.
    """
    found = dict.fromkeys(ids, False)
    for row_id in ids:
        for m, column in _USES[model]:
            col = getattr(m, column)
            if s.execute(select(exists().where(col == row_id))).scalar():
                found[row_id] = True
                break
    return found


def list_with_usage(ctx: Context, model: type, *, include_retired: bool = False,
                    programme_id: str | None = None) -> list[Listed]:
    """Like :func:`list_all`, each row with whether anything uses it (for Retire / Delete).

    ``programme_id`` narrows modules to one programme's.
    """
    order = {Module: (Module.programme_id, Module.sequence), MilestoneDefinition: (MilestoneDefinition.level,),
             AttendanceStatus: (AttendanceStatus.sort_order,), AttendanceRole: (AttendanceRole.sort_order,)}
    with ctx.read() as s:
        q = select(model).where(model.deleted_hlc.is_(None))
        if not include_retired:
            q = q.where(model.retired.is_(False))
        if model is Module and programme_id is not None:
            q = q.where(Module.programme_id == programme_id)
        q = q.order_by(*order.get(model, (model.name,)))
        rows = [to_record(r) for r in s.execute(q).scalars()]
        used = in_use(s, model, [r.id for r in rows])
        return [Listed(r, used[r.id]) for r in rows]


__all__ = ["Listed", "create", "delete", "in_use", "list_all", "list_with_usage", "set_retired", "update",
           "validate_rules"]
