"""Folding a row's changes into its state: per-field last writer wins, heads and conflicts.

A row is the fold of every change logged for it, in (hlc, origin) order: each field takes the
value of the highest version (hlc, origin id) that wrote it, whatever order the changes arrived
in. So installations that hold the same changes hold the same row.

Each change also names the versions it overwrote (``base``: {field: [[hlc, origin], ...]}).
A version nobody names as overwritten is a **head**; a field with two heads of different values
had concurrent edits: the highest wins and the other goes to the conflict queue. Because heads
come from the changes alone, every installation finds the same conflicts.

A delete names every head of the row (it overwrote all of them). An edit the delete did not
see is an edit racing the delete: the row stays deleted (no silent resurrection) and the edit
goes to the conflict queue. Resolving a conflict writes a change naming all the heads.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

Version = tuple[int, str]  # (hlc, origin installation id)

TOMBSTONE_FIELDS = frozenset({"deleted_hlc", "deleted_by", "deleted_reason"})
DELETED_FIELD = "*deleted*"  # the conflict queue's name for "edited while deleted"


@dataclass(frozen=True, slots=True)
class Change:
    hlc: int
    origin: str
    user: str | None
    op: str  # insert | update | delete
    fields: Mapping[str, Any]
    base: Mapping[str, Sequence[Version]] | None = None

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
    any order and contain repeats (the same version twice is one change)."""
    unique: dict[Version, Change] = {}
    for c in changes:
        unique.setdefault(c.version, c)
    if not unique:
        raise ValueError("fold() needs at least one change")
    ordered = [unique[v] for v in sorted(unique)]
    values: dict[str, Any] = {}
    versions: dict[str, Version] = {}
    winners: dict[str, Change] = {}
    writers: dict[str, list[Change]] = defaultdict(list)
    parents: dict[str, dict[Version, Sequence[Version]]] = defaultdict(dict)
    covered: dict[str, set[Version]] = defaultdict(set)
    insert: Change | None = None
    for c in ordered:
        if c.op == "insert" and insert is None:
            insert = c
        base = c.base
        if base is None and c.op != "insert":
            # Logged before changes named what they overwrote: it followed everything before it.
            base = {f: [w.version for w in ws] for f, ws in writers.items()
                    if c.op == "delete" or f in c.fields}
        if base:
            for f, vs in base.items():
                covered[f].update(vs)
                if f in c.fields:
                    parents[f][c.version] = vs
        for f, v in c.fields.items():
            values[f] = v
            versions[f] = c.version
            winners[f] = c
            writers[f].append(c)
    heads = {f: [w.version for w in ws if w.version not in covered[f]] for f, ws in writers.items()}
    conflicts: list[Conflict] = []
    for f, ws in writers.items():
        if f in TOMBSTONE_FIELDS or len(heads[f]) < 2:
            continue
        winner = winners[f]
        head_set = set(heads[f])
        for w in ws:
            if w is not winner and w.version in head_set and w.fields[f] != values[f]:
                conflicts.append(Conflict(f, winner, values[f], w, w.fields[f]))
    if values.get("deleted_hlc") is not None:
        conflicts.extend(_raced_delete(winners["deleted_hlc"], writers, parents, values, ordered))
    return Fold(values, versions, heads, insert, ordered[-1], conflicts)


def _raced_delete(delete: Change, writers: Mapping[str, list[Change]],
                  parents: Mapping[str, Mapping[Version, Sequence[Version]]], values: Mapping[str, Any],
                  ordered: Sequence[Change]) -> list[Conflict]:
    """Edits the winning delete did not see (neither its bases nor their ancestors)."""
    if delete.base is None:
        base = {f: [w.version for w in ws if w.version < delete.version] for f, ws in writers.items()}
    else:
        base = delete.base
    raced: dict[Version, dict[str, Any]] = {}
    for f, ws in writers.items():
        if f in TOMBSTONE_FIELDS:
            continue
        seen: set[Version] = set()
        stack = list(base.get(f, ()))
        while stack:
            v = stack.pop()
            if v not in seen:
                seen.add(v)
                stack.extend(parents[f].get(v, ()))
        for w in ws:
            if w.op != "insert" and w.version not in seen:
                raced.setdefault(w.version, {})[f] = w.fields[f]
    by_version = {c.version: c for c in ordered}
    return [
        Conflict(DELETED_FIELD, delete, values.get("deleted_reason"), by_version[v], changed)
        for v, changed in sorted(raced.items())
    ]


def row_values(f: Fold, columns: Sequence[str]) -> list[Any]:
    return [f.values.get(c) for c in columns]
