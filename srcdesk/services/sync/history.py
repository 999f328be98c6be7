"""Bundle history: what was sent and received, per origin, with gaps."""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select

from ...models import BundleRecord, Installation
from ..base import Context


@dataclass(frozen=True)
class HistoryEntry:
    direction: str
    origin_id: str
    origin_name: str
    recipient_name: str
    seq: int
    created_at: dt.datetime
    recorded_at: dt.datetime
    file_name: str
    changes: int
    summary: dict[str, Any]
    full: bool


@dataclass(frozen=True)
class OriginHistory:
    origin_id: str
    origin_name: str
    entries: list[HistoryEntry]
    gaps: list[int]  # seqs not imported between 1 and the highest imported (received only)


def bundle_history(ctx: Context) -> list[OriginHistory]:
    """Bundles sent and received, per origin (this PC first), newest first, with gaps."""
    ctx.require("recorder", "see the bundle history")
    with ctx.read() as s:
        names = {i.id: i.name for i in s.execute(select(Installation)).scalars()}
        records = s.execute(select(BundleRecord).order_by(BundleRecord.origin_id, BundleRecord.seq.desc())).scalars()
        by_origin: dict[str, list[HistoryEntry]] = {}
        for r in records:
            by_origin.setdefault(r.origin_id, []).append(HistoryEntry(
                r.direction, r.origin_id, names.get(r.origin_id, r.origin_id), names.get(r.recipient_id, r.recipient_id),
                r.seq, r.created_at, r.recorded_at, r.file_name, r.changes, json.loads(r.summary or "{}"), r.full))
    out = []
    for origin, entries in by_origin.items():
        seqs = {e.seq for e in entries}
        gaps = [] if origin == ctx.installation.id else sorted(set(range(1, max(seqs))) - seqs)
        out.append(OriginHistory(origin, names.get(origin, origin), entries, gaps))
    out.sort(key=lambda h: (h.origin_id != ctx.installation.id, h.origin_name))
    return out
