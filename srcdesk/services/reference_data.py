"""Loading the shipped reference data (resources/reference/reference.json)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session as OrmSession

from ..models import (
    ActivityType,
    AttendanceRole,
    AttendanceStatus,
    Establishment,
    LocalState,
    MilestoneDefinition,
    Module,
    PlanTarget,
    PlanYear,
    Programme,
)
from ..paths import resources_dir
from ..sync.capture import REFERENCE_ORIGIN, Actor, bulk_insert

# In dependency order. Each section's rows are inserted with the same stamps on every
# installation, so shipped rows are identical everywhere and never conflict.
SECTIONS: tuple[tuple[str, type], ...] = (
    ("establishment", Establishment),
    ("programme", Programme),
    ("module", Module),
    ("activity_type", ActivityType),
    ("attendance_status", AttendanceStatus),
    ("attendance_role", AttendanceRole),
    ("milestone_definition", MilestoneDefinition),
    ("plan_year", PlanYear),
    ("plan_target", PlanTarget),
)
REFERENCE_HLC = 1 << 16  # the smallest stamp after zero: any real edit wins over it


def reference_file() -> Path:
    return resources_dir() / "reference" / "reference.json"


def load_reference(path: Path | None = None) -> dict[str, Any]:
    with (path or reference_file()).open(encoding="utf-8") as fh:
        return json.load(fh)


def seed_reference(s: OrmSession, actor: Actor, data: dict[str, Any] | None = None) -> int:
    """Insert every shipped reference row that is not in the database yet."""
    data = data or load_reference()
    system = Actor(actor.installation_id, None)
    total = 0
    for section, model in SECTIONS:
        existing = set(s.execute(select(model.id)).scalars())
        rows = [r for r in data.get(section, []) if r["id"] not in existing]
        total += bulk_insert(s, model, rows, system, origin_id=REFERENCE_ORIGIN, hlc=REFERENCE_HLC)
    apply_default_rules(s, data)
    return total


# local_state: set once the shipped default completion rules were given to this installation's
# reference programmes and modules (issue "Certificates"); never again, so a rule a coordinator
# removed later stays removed.
DEFAULT_RULES_KEY = "reference:completion_rules"


def apply_default_rules(s: OrmSession, data: dict[str, Any] | None = None) -> int:
    """Give the shipped programmes and modules that have no completion rule yet their default
    rule from the reference data, once per installation (databases made before completion rules
    existed; the office's, see :func:`srcdesk.services.setup.open_installation`). An ORM write:
    stamped and logged like any edit, so it travels in bundles. Returns how many rows changed."""
    if s.get(LocalState, DEFAULT_RULES_KEY) is not None:
        return 0
    data = data or load_reference()
    changed = 0
    for section, model in (("programme", Programme), ("module", Module)):
        defaults = {r["id"]: r["completion_rule"] for r in data.get(section, []) if r.get("completion_rule")}
        for row in s.execute(select(model).where(model.id.in_(list(defaults)), model.completion_rule.is_(None),
                                                 model.deleted_hlc.is_(None))).scalars():
            row.completion_rule = defaults[row.id]
            changed += 1
    s.add(LocalState(key=DEFAULT_RULES_KEY, value="1"))
    s.flush()
    return changed
