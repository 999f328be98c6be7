"""Bundle history: what was sent and received, per origin, with gaps and the records held.

An import may *hold* a record it can't apply yet (e.g. two PCs changed a session's start and its
end, and together it would end before it starts): the record keeps its last good state, its
changes wait in the change log, and every later import tries it again (see
:mod:`srcdesk.sync.merge`). The import lists those records in the bundle's summary; the history
shows them with their reason and whether they are still held, so a person knows what to fix.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select

from ...models import BundleRecord, Installation, SyncWaiting
from ...words import plural
from ..base import Context
from ..conflicts import describe_record

#: Said wherever held records are listed: what happens to them next.
HELD_RETRIED = ("Held records stay as they were here and are tried again at every import; a correction "
                "made on any PC (here or where the change came from) releases them.")


@dataclass(frozen=True)
class HeldRecord:
    """A record an import could not apply yet, with the reason, for people."""

    table: str
    row_id: str
    record: str  # what it is: "Session: 02 Dec 2026 10:00"
    reason: str  # why: "its session would end (10:30) before it starts (10:45): …"
    still_held: bool  # False once a later import or an edit here applied it

    def text(self) -> str:
        return f"{self.record} — {self.reason}"


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
    held: tuple[HeldRecord, ...] = field(default=())  # records this bundle's import held (received only)

    def outcome(self) -> str:
        """What the import did, in people's words ("" for a bundle sent)."""
        if self.direction != "received":
            return ""
        counts = dict(self.summary)
        listed = counts.get("held_rows")
        if isinstance(listed, list) and isinstance(counts.get("held"), int):
            # held: the records listed under this bundle (and any beyond the list's limit)
            counts["held"] = len(self.held) + max(0, counts["held"] - len(listed))
        return outcome_text(counts)


@dataclass(frozen=True)
class OriginHistory:
    origin_id: str
    origin_name: str
    entries: list[HistoryEntry]
    gaps: list[int]  # seqs not imported between 1 and the highest imported (received only)


def outcome_text(counts: Mapping[str, Any]) -> str:
    """"18 records: 15 new, 2 updated, 1 already here (unchanged); 1 conflict to decide": what an
    import did to the records a bundle brought. The parts add up to the records named first (the
    records the bundle brings, as its preview counts them); what was not applied is named with
    why (already here, merged, waiting, held). Conflicts count values, not records."""
    def n(key: str) -> int:
        value = counts.get(key, 0)
        return value if isinstance(value, int) else 0

    total = records_count(counts)
    parts = [f"{n('new')} new", f"{n('updated')} updated"]
    if n("unchanged"):
        parts.append(f"{n('unchanged')} already here (unchanged)")
    if n("merged"):
        parts.append(f"{n('merged')} merged (made on two PCs, now one)")
    if n("waiting"):
        parts.append(f"{n('waiting')} waiting for a bundle not imported yet")
    if n("held"):
        parts.append(f"{n('held')} held (can't be applied yet)")
    text = f"{plural(total, 'record')}: " + ", ".join(parts)
    conflicts = n("conflicts")
    if conflicts:
        text += f"; {plural(conflicts, 'conflict')} to decide"
    return text


def records_count(counts: Mapping[str, Any]) -> int:
    """How many records an import touched: the parts :func:`outcome_text` names, added up."""
    return sum(v for k in ("new", "updated", "unchanged", "merged", "waiting", "held")
               if isinstance(v := counts.get(k, 0), int))


def held_records(s: Any, rows: Iterable[Sequence[Any]]) -> list[HeldRecord]:
    """(table, row id, reason) as an import's summary lists them, described for people, inside
    session ``s``; ``still_held`` from what waits now."""
    listed = [(str(r[0]), str(r[1]), str(r[2])) for r in rows if isinstance(r, (list, tuple)) and len(r) == 3]
    if not listed:
        return []
    waiting = {(t, r) for t, r in s.execute(select(SyncWaiting.table_name, SyncWaiting.row_id))}
    return [HeldRecord(table, row_id, describe_record(s, table, row_id), reason, (table, row_id) in waiting)
            for table, row_id, reason in listed]


def missing_bundles(s: Any, origin_ids: Iterable[str]) -> dict[str, list[int]]:
    """For each origin, the bundle numbers not imported here between 1 and the highest imported."""
    out = {}
    for origin in set(origin_ids):
        seqs = set(s.execute(select(BundleRecord.seq).where(
            BundleRecord.origin_id == origin, BundleRecord.direction == "received")).scalars())
        out[origin] = sorted(set(range(1, max(seqs, default=0))) - seqs)
    return out


def bundle_history(ctx: Context) -> list[OriginHistory]:
    """Bundles sent and received, per origin (this PC first), newest first, with gaps and, for each
    bundle received, the records its import held."""
    ctx.require("sync.read", "see the bundle history")
    with ctx.read() as s:
        names = {i.id: i.name for i in s.execute(select(Installation)).scalars()}
        records = s.execute(select(BundleRecord).order_by(BundleRecord.recorded_at, BundleRecord.seq)).scalars().all()
        # A held record is listed under the bundle that brought it: the import of a later bundle tries
        # it again and lists it too (see importing.ImportResult.held_again), so the first listing wins.
        listed: set[tuple[str, str]] = set()
        by_origin: dict[str, list[HistoryEntry]] = {}
        for r in records:
            summary = _summary(r.summary)
            held = []
            if r.direction == "received":
                for h in held_records(s, summary.get("held_rows") or ()):
                    if (h.table, h.row_id) not in listed:
                        listed.add((h.table, h.row_id))
                        held.append(h)
            by_origin.setdefault(r.origin_id, []).append(HistoryEntry(
                r.direction, r.origin_id, names.get(r.origin_id, r.origin_id), names.get(r.recipient_id, r.recipient_id),
                r.seq, r.created_at, r.recorded_at, r.file_name, r.changes, summary, r.full, tuple(held)))
        for entries in by_origin.values():
            entries.sort(key=lambda e: -e.seq)
    out = []
    for origin, entries in by_origin.items():
        seqs = {e.seq for e in entries}
        gaps = [] if origin == ctx.installation.id else sorted(set(range(1, max(seqs))) - seqs)
        out.append(OriginHistory(origin, names.get(origin, origin), entries, gaps))
    out.sort(key=lambda h: (h.origin_id != ctx.installation.id, h.origin_name))
    return out


def _summary(text: str | None) -> dict[str, Any]:
    try:
        value = json.loads(text or "{}")
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}
