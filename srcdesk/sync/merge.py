"""Merging changes from a bundle into this installation, in the caller's transaction.

The change log is the record; a table row is the fold of its row's changes (see
:mod:`srcdesk.sync.fold`). For each row the bundle touches, the merge adds the changes this
installation has not seen to the log, folds the row again and writes the result, so the order
in which bundles arrive never matters. A change for a row whose creation has not arrived yet
(a later bundle imported before an earlier one) waits in the log until it does.

Rows come in batches: one query per table finds the rows that exist and one finds what is
already logged for them; rows that are new here (the common case) skip the fold entirely.
"""

from __future__ import annotations

import datetime as dt
import json
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from ..models import SYNCABLE_MODELS
from .capture import LOG_INSERT, canonical_json, content_columns, logged_changes
from .conflicts import store_conflicts
from .errors import BundleRefused
from .fold import Change, encode_base, fold, parse_base

BATCH_ROWS = 1000
MAX_VARIABLES = 900  # SQLite's limit on "?" in one statement is 32766 today, 999 in old builds


@dataclass
class MergeSummary:
    new: int = 0  # rows created here
    updated: int = 0  # rows whose content changed
    unchanged: int = 0  # rows the bundle did not change (already seen, or lost every field)
    waiting: int = 0  # rows whose creation has not arrived yet
    conflicts: int = 0  # concurrent values newly put in the conflict queue
    changes: int = 0  # change records read
    new_changes: int = 0  # of which not seen before
    max_hlc: int = 0
    by_table: Counter = field(default_factory=Counter)

    def as_dict(self) -> dict[str, Any]:
        return {
            "new": self.new, "updated": self.updated, "unchanged": self.unchanged, "waiting": self.waiting,
            "conflicts": self.conflicts, "changes": self.changes, "new_changes": self.new_changes,
        }


@dataclass(frozen=True)
class _Table:
    name: str
    content: tuple[str, ...]
    insert_sql: str
    update_sql: str
    references: tuple[tuple[str, str], ...]  # (column, referenced table)


def _tables() -> dict[str, _Table]:
    out = {}
    for model in SYNCABLE_MODELS:
        name = model.__tablename__
        content = tuple(content_columns(model))
        cols = ("id", "origin_id", "created_hlc", "created_by", "updated_hlc", "updated_by", *content)
        out[name] = _Table(
            name, content,
            f"INSERT INTO {name} ({', '.join(cols)}) VALUES ({', '.join('?' * len(cols))})",
            f"UPDATE {name} SET {', '.join(f'{c} = ?' for c in ('updated_hlc', 'updated_by', *content))} WHERE id = ?",
            tuple(sorted((fk.parent.key, fk.column.table.name) for fk in model.__table__.foreign_keys)),
        )
    return out


TABLES = _tables()


# policy(table, row_id, changes, existing_origin) raises BundleRefused for changes the bundle's
# origin may not make; existing_origin is the row's origin here (None: the row is new here).
Policy = Callable[[str, str, Sequence[Change], str | None], None]


class Merger:
    """Feed it each row's changes (grouped by row) with :meth:`add`; call :meth:`finish`."""

    def __init__(self, dbapi: Any, *, now: dt.datetime | None = None, policy: Policy | None = None) -> None:
        self.db = dbapi
        self.summary = MergeSummary()
        self.now = now or dt.datetime.now(dt.UTC).replace(tzinfo=None)
        self.policy = policy
        self._batch: dict[str, list[tuple[str, list[Change]]]] = defaultdict(list)
        self._pending = 0
        self._inserted: dict[str, list[str]] = defaultdict(list)  # rows made by this import
        self._updated: dict[str, list[str]] = defaultdict(list)

    def add(self, table: str, row_id: str, changes: list[Change]) -> None:
        if table not in TABLES:
            raise BundleRefused(f"The bundle changes an unknown kind of record ({table!r}).")
        self._batch[table].append((row_id, changes))
        self._pending += 1
        self.summary.changes += len(changes)
        if self._pending >= BATCH_ROWS:
            self._flush()

    def finish(self) -> MergeSummary:
        self._flush()
        self._retry_waiting()
        self._settle_references()
        return self.summary

    # -- references that have not arrived yet ---------------------------------------------

    def _retry_waiting(self) -> None:
        """Make the records that waited for their references, now that more has arrived."""
        waiting = self.db.execute("SELECT table_name, row_id FROM sync_waiting").fetchall()
        for table, row_id in waiting:
            t = TABLES.get(table)
            if t is None:
                continue
            if self.db.execute(f"SELECT 1 FROM {table} WHERE id = ?", (row_id,)).fetchone():
                continue  # made again by this import's merge (its references are checked below)
            changes = logged_changes(self.db, table, row_id)
            if not changes:
                continue
            folded = fold(changes)
            if folded.insert is None:
                continue
            ins = folded.insert
            self.db.execute(t.insert_sql, (row_id, ins.origin, ins.hlc, ins.user, folded.last.hlc, folded.last.user,
                                           *[folded.values.get(c) for c in t.content]))
            self.db.execute("DELETE FROM sync_waiting WHERE table_name = ? AND row_id = ?", (table, row_id))
            self._inserted[table].append(row_id)
            self.summary.new += 1  # made now (it waited since an earlier import)
            if folded.conflicts:
                self.summary.conflicts += store_conflicts(self.db, table, row_id, folded.conflicts, self.now)

    def _settle_references(self) -> None:
        """A record this import made whose references are missing waits (it is taken out of its
        table, its changes stay logged); one it changed to point at a missing record is refused."""
        for table, ids in self._updated.items():
            for row_id in self._dangling(TABLES[table], ids):
                raise BundleRefused(
                    f"The bundle changes a {table.replace('_', ' ')} record to refer to a record this PC doesn't "
                    f"have ({row_id}); import the missing bundles first."
                )
        pending = dict(self._inserted)
        while pending:
            moved: dict[str, list[str]] = defaultdict(list)
            for table, ids in pending.items():
                dangling = self._dangling(TABLES[table], ids)
                if not dangling:
                    continue
                self.db.executemany(f"DELETE FROM {table} WHERE id = ?", [(i,) for i in dangling])
                self.db.executemany(
                    "INSERT OR IGNORE INTO sync_waiting (table_name, row_id, since) VALUES (?, ?, ?)",
                    [(table, i, self.now.isoformat(sep=" ")) for i in dangling])
                self.db.executemany("DELETE FROM sync_conflict WHERE table_name = ? AND row_id = ?",
                                    [(table, i) for i in dangling])
                self.summary.new -= len(dangling)
                self.summary.waiting += len(dangling)
                gone = set(dangling)
                self._inserted[table] = [i for i in self._inserted[table] if i not in gone]
                # Records made by this import that refer to these must wait too.
                for child in TABLES.values():
                    if any(ref == table for _, ref in child.references) and self._inserted.get(child.name):
                        moved[child.name] = self._inserted[child.name]
            pending = moved
        for table, ids in self._inserted.items():  # made at last: no longer waiting
            self.db.executemany("DELETE FROM sync_waiting WHERE table_name = ? AND row_id = ?",
                                [(table, i) for i in ids])

    def _dangling(self, t: _Table, ids: Sequence[str]) -> list[str]:
        if not t.references or not ids:
            return []
        found: list[str] = []
        unique = list(dict.fromkeys(ids))
        for start in range(0, len(unique), MAX_VARIABLES):
            part = unique[start:start + MAX_VARIABLES]
            marks = ", ".join("?" * len(part))
            missing = " OR ".join(
                f"(r.{col} IS NOT NULL AND NOT EXISTS (SELECT 1 FROM {ref} p WHERE p.id = r.{col}))"
                for col, ref in t.references)
            found += [r[0] for r in self.db.execute(
                f"SELECT r.id FROM {t.name} r WHERE r.id IN ({marks}) AND ({missing})", part)]
        return found

    # -- one batch ------------------------------------------------------------------------

    def _flush(self) -> None:
        for table, groups in self._batch.items():
            for start in range(0, len(groups), MAX_VARIABLES):
                self._merge(TABLES[table], groups[start:start + MAX_VARIABLES])
        self._batch.clear()
        self._pending = 0

    def _merge(self, t: _Table, groups: Sequence[tuple[str, list[Change]]]) -> None:
        ids = [g[0] for g in groups]
        marks = ", ".join("?" * len(ids))
        found = self.db.execute(
            f"SELECT id, origin_id, {', '.join(t.content)} FROM {t.name} WHERE id IN ({marks})", ids).fetchall()
        existing = {r[0]: r[2:] for r in found}
        if self.policy is not None:
            origins = {r[0]: r[1] for r in found}
            for row_id, incoming in groups:
                self.policy(t.name, row_id, incoming, origins.get(row_id))
        logged: dict[str, list[Change]] = defaultdict(list)
        for row_id, h, o, u, op, f, b in self.db.execute(
            "SELECT row_id, hlc, origin_id, user_id, op, fields, base FROM change_log "
            f"WHERE table_name = ? AND row_id IN ({marks})", [t.name, *ids],
        ):
            logged[row_id].append(Change(h, o, u, op, json.loads(f), parse_base(b)))
        inserts: list[tuple] = []
        updates: list[tuple] = []
        log_rows: list[tuple] = []
        summary = self.summary
        for row_id, incoming in groups:
            local = logged.get(row_id, ())
            known = {c.version for c in local}
            fresh = [c for c in incoming if c.version not in known]
            if not fresh:
                summary.unchanged += 1
                continue
            summary.new_changes += len(fresh)
            summary.by_table[t.name] += 1
            for c in fresh:
                if c.hlc > summary.max_hlc:
                    summary.max_hlc = c.hlc
                log_rows.append((
                    c.hlc, c.origin, c.user, t.name, row_id, c.op, canonical_json(c.fields),
                    None if c.base is None else canonical_json(encode_base(c.base)),
                ))
            if not local and len(fresh) == 1 and fresh[0].op == "insert" and row_id not in existing:
                c = fresh[0]  # the common case: a record new here, never changed since
                inserts.append((row_id, c.origin, c.hlc, c.user, c.hlc, c.user,
                                *[c.fields.get(col) for col in t.content]))
                self._inserted[t.name].append(row_id)
                summary.new += 1
                continue
            folded = fold([*local, *fresh])
            values = [folded.values.get(col) for col in t.content]
            if folded.insert is None:
                summary.waiting += 1
            elif row_id in existing:
                updates.append((folded.last.hlc, folded.last.user, *values, row_id))
                self._updated[t.name].append(row_id)
                if _same(existing[row_id], values):
                    summary.unchanged += 1
                else:
                    summary.updated += 1
            else:
                ins = folded.insert
                inserts.append((row_id, ins.origin, ins.hlc, ins.user, folded.last.hlc, folded.last.user, *values))
                self._inserted[t.name].append(row_id)
                summary.new += 1
            if folded.insert is not None and (folded.conflicts or local):
                summary.conflicts += store_conflicts(self.db, t.name, row_id, folded.conflicts, self.now)
        if inserts:
            self.db.executemany(t.insert_sql, inserts)
        if updates:
            self.db.executemany(t.update_sql, updates)
        if log_rows:
            self.db.executemany(LOG_INSERT, log_rows)


def _same(stored: Iterable[Any], values: Sequence[Any]) -> bool:
    """Whether a row read back from SQLite holds ``values`` (booleans come back as 0/1)."""
    for a, b in zip(stored, values, strict=True):
        if a != b and not (isinstance(b, bool) and a == int(b)):
            return False
    return True
