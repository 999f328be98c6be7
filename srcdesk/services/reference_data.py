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
    return total
