"""Folding a row's changes into its state: per-field last writer wins, heads and conflicts.

A row is the fold of every change logged for it, whatever order the changes arrived in, so
installations that hold the same changes hold the same row.

Each change names the versions it overwrote (``base``: {field: [[hlc, origin], ...]}). A version
nobody names as overwritten is a **head**. Each field takes the value of its highest head, by
(hlc, origin id): a change made after seeing another always wins over it, whatever the clocks
said (clocks are advisory: a PC whose clock ran ahead cannot overwrite what others did after
it), and clocks only order edits made without seeing each other. A field with two heads of
different values had concurrent edits: the highest wins and the other goes to the conflict
queue. Because heads come from the changes alone, every installation finds the same conflicts.

A delete names every head of the row (it overwrote all of them). An edit the delete did not see
(not reachable from the delete's bases through the bases of the changes they name) is an edit
racing the delete: the row stays deleted (no silent resurrection) and the edit goes to the
conflict queue. Resolving a conflict writes a change naming all the heads.

The cost is linear in the number of changes (and of the versions their bases name).
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

Version = tuple[int, str]  # (hlc, origin installation id)

# Fields that never make conflicts: the tombstone, and the record a row was merged into.
TOMBSTONE_FIELDS = frozenset({"deleted_hlc", "deleted_by", "deleted_reason", "merged_into"})
DELETED_FIELD = "*deleted*"  # the conflict queue's name for "edited while deleted"


@dataclass(frozen=True, slots=True)
class Change:
    hlc: int
    origin: str
    user: str | None
    op: str  # insert | update | delete
    fields: Mapping[str, Any]
    base: Mapping[str, Sequence[Version]] | None = None
    # Set on a change of another row that was merged into this one (see sync.history): the id of
    # the row it was made for. Such a change counts as an edit of this record.
    alias: str | None = None

    @property
    def version(self) -> Version:
        return (self.hlc, self.origin)


@dataclass(frozen=True, slots=True)
class Conflict:
    field: str  # a column, or DELETED_FIELD
    winner: Change
    winner_value: Any
    loser: Change
    loser_value: Any


@dataclass
class Fold:
    values: dict[str, Any]
    versions: dict[str, Version]
    heads: dict[str, list[Version]]
    insert: Change | None  # the change that created the row (None: not received yet)
    last: Change  # the highest version: the row's updated stamp
    conflicts: list[Conflict]

    @property
    def deleted(self) -> bool:
        return self.values.get("deleted_hlc") is not None


def parse_base(raw: str | None) -> dict[str, list[Version]] | None:
    if not raw:
        return None
    return {f: [(int(h), str(o)) for h, o in vs] for f, vs in json.loads(raw).items()}


def encode_base(base: Mapping[str, Iterable[Version]] | None) -> Any:
    """Plain JSON form: {field: [[hlc, origin], ...]} with versions sorted (canonical)."""
    if not base:
        return None
    return {f: [[h, o] for h, o in sorted(set(vs))] for f, vs in sorted(base.items())}


def fold(changes: Iterable[Change]) -> Fold:
    """The row the changes make, its per-field heads, and its conflicts. ``changes`` may be in
    any order and contain repeats (the same version twice is one change: the first seen)."""
    unique: dict[Version, Change] = {}
    for c in changes:
        unique.setdefault(c.version, c)
    if not unique:
        raise ValueError("fold() needs at least one change")
    keys = sorted(unique)
    ordered = [unique[v] for v in keys]
    writers: dict[str, list[Change]] = defaultdict(list)
    covered: dict[str, set[Version]] = defaultdict(set)
    # Every version a change names in its base, whatever the field: who it had seen.
    parents: dict[Version, list[Version]] = {}
    # The heads so far, in version order: what a change logged without a base (before bases
    # existed) overwrote. Kept as we go, so such a history costs no more than any other.
    running: dict[str, set[Version]] = defaultdict(set)
    insert: Change | None = None
    for version, c in zip(keys, ordered, strict=True):  # the sorted keys: no new tuple per change
        if c.op == "insert" and insert is None and c.alias is None:
            insert = c
        base = c.base
        if base is None and c.op != "insert" and c.alias is None:
            # Logged before changes named what they overwrote: it followed everything before it.
            fields = running.keys() if c.op == "delete" else [f for f in c.fields if f in running]
            base = {f: list(running[f]) for f in fields}
        if base:
            named: Sequence[Version] | list[Version] = [] if len(base) > 1 else next(iter(base.values()))
            for f, vs in base.items():
                covered[f].update(vs)
                if len(base) > 1:
                    named.extend(vs)  # type: ignore[union-attr]
                r = running.get(f)
                if r:
                    r.difference_update(vs)
            parents[version] = named
        for f in c.fields:
            writers[f].append(c)
            running[f].add(version)
    _same_creation(ordered, covered)
    values: dict[str, Any] = {}
    versions: dict[str, Version] = {}
    winners: dict[str, Change] = {}
    heads: dict[str, list[Version]] = {}
    conflicts: list[Conflict] = []
    for f, ws in writers.items():
        cov = covered.get(f, ())
        head_changes = [w for w in ws if w.version not in cov]
        heads[f] = [w.version for w in head_changes]
        # The highest head wins; were every writer covered (a loop only a forged bundle makes),
        # the highest writer.
        winner = head_changes[-1] if head_changes else ws[-1]
        winners[f] = winner
        values[f] = winner.fields[f]
        versions[f] = winner.version
        if f in TOMBSTONE_FIELDS or len(head_changes) < 2:
            continue
        for w in head_changes:
            if w is not winner and w.fields[f] != values[f]:
                conflicts.append(Conflict(f, winner, values[f], w, w.fields[f]))
    if values.get("deleted_hlc") is not None:
        conflicts.extend(_raced_delete(winners["deleted_hlc"], writers, parents, values, ordered))
    return Fold(values, versions, heads, insert, ordered[-1], conflicts)


def _same_creation(ordered: Sequence[Change], covered: dict[str, set[Version]]) -> None:
    """A record made on two PCs (rows merged into one: sync.changelog) was created twice; where the
    two creations gave a field the same value, overwriting one overwrote that value, so it
    overwrote the other too (PCs that put the same person on a register as present, then one of
    them marks them late: no conflict)."""
    creations = [c for c in ordered if c.op == "insert"]
    if len(creations) < 2:
        return
    for f, cov in covered.items():
        gone = [c.fields[f] for c in creations if f in c.fields and c.version in cov]
        if gone:
            for c in creations:
                if f in c.fields and c.version not in cov and c.fields[f] in gone:
                    cov.add(c.version)


def _raced_delete(delete: Change, writers: Mapping[str, list[Change]], parents: Mapping[Version, Sequence[Version]],
                  values: Mapping[str, Any], ordered: Sequence[Change]) -> list[Conflict]:
    """Edits the winning delete did not see: neither named in its base nor reachable from it
    through the bases of the changes it names (in any field: a delete, then a restore, then a
    delete again has seen the edits the first delete overwrote)."""
    if delete.base is None:
        start = [w.version for ws in writers.values() for w in ws if w.version < delete.version]
    else:
        start = [v for vs in delete.base.values() for v in vs]
    seen: set[Version] = set()
    stack = list(start)
    while stack:
        version = stack.pop()
        if version not in seen:
            seen.add(version)
            stack.extend(parents.get(version, ()))
    raced: dict[Version, dict[str, Any]] = {}
    for f, ws in writers.items():
        if f in TOMBSTONE_FIELDS:
            continue
        for w in ws:
            # A row's own creation is never "racing" its own deletion: a delete always saw the
            # row it deletes. A merged row's creation, or a delete made for a merged row, is
            # another matter: those two PCs had not seen each other's record.
            if w.op == "insert" and w.alias == delete.alias:
                continue
            if w.version not in seen and w.version != delete.version:
                raced.setdefault(w.version, {})[f] = w.fields[f]
    by_version = {c.version: c for c in ordered}
    return [
        Conflict(DELETED_FIELD, delete, values.get("deleted_reason"), by_version[v], changed)
        for v, changed in sorted(raced.items())
    ]
