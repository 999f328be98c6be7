"""Merging changes from a bundle into this installation, in the caller's transaction.

The change log is the record; a table row is the fold of its record's changes (see
:mod:`srcdesk.sync.fold` and :mod:`srcdesk.sync.changelog`). For each row the bundle touches,
the merge adds the changes this installation has not seen to the log, folds the record again
and writes the result, so the order in which bundles arrive never matters.

Nothing blocks a bundle but a refusal of the bundle itself (see :mod:`srcdesk.services.sync`):

- **Not here yet.** A change for a row whose creation has not arrived waits in the log. A new
  record whose references (its person, its session) have not arrived waits outside its table
  (``sync_waiting``), and so does everything made by the same import that refers to it.
- **Held.** A record whose new state breaks a rule of the database (edits made on two PCs that
  make a session end before it starts; a change pointing at a record not here yet) keeps its
  last good state; its changes wait in the log with the reason (``sync_waiting``), are listed in
  the bundle's history, and every later import, or an edit of the record here, tries again.
- **Made twice.** The same natural key made on two PCs (see :class:`srcdesk.models.Mergeable`)
  is one record: the row with the higher id is merged into the other by a change this
  installation writes (a tombstone naming it), references to it are pointed at the record that
  stays, and where the two differ the conflict queue says so (the merged row's changes count as
  edits of the record made without seeing it). Every installation that meets the clash decides
  the same, and the changes it writes travel like any other.

Rows come in batches: one query per table finds the rows that exist and one finds what is
already logged for them; rows that are new here (the common case) skip the fold entirely.
"""

from __future__ import annotations

import datetime as dt
import sqlite3
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from ..models import MERGED_INTO, NATURAL_KEYS, SYNCABLE_MODELS
from .changelog import (
    CONTENT,
    MAX_VARIABLES,
    aliases,
    canonical_json,
    load,
    log,
    materialize,
    read_rows,
    row_fields,
    translate,
)
from .conflicts import store_conflicts
from .errors import BundleRefused
from .fold import Change, fold
from .hlc import HybridClock
from .restamp import retired_versions

BATCH_ROWS = 1000
MAX_HELD_LISTED = 200  # held records listed by name in a bundle's summary (all are counted)

# What a record of each table is called in a sentence ("the same register line ...").
LABELS = {
    "activity_type": "activity type", "app_user": "user account", "attendance": "register line",
    "attendance_role": "register role", "attendance_status": "attendance status", "certificate": "certificate",
    "certificate_design": "certificate design",
    "community_organisation": "community organisation", "establishment": "establishment",
    "initiative": "initiative", "liberation_record": "liberation record", "milestone_achievement": "milestone", "milestone_definition": "ladder level",
    "milestone_evidence": "milestone evidence", "module": "module", "organisation_link": "organisation link",
    "person": "person", "person_transfer": "transfer", "plan_focus": "plan focus", "plan_target": "plan target",
    "plan_year": "plan year", "programme": "programme", "recruit_cohort": "recruit cohort", "referral": "referral",
    "referral_stage": "referral stage", "session": "session", "session_facilitator": "facilitator",
}


def merge_reason(table: str, winner: str) -> str:
    """The tombstone reason of a row merged into ``winner`` (its ``merged_into`` says so too)."""
    return f"The same {LABELS.get(table, table)} was recorded on two PCs; merged into {winner}."


@dataclass
class MergeSummary:
    new: int = 0  # records created here
    updated: int = 0  # records whose content changed
    unchanged: int = 0  # records the bundle did not change (already seen, or lost every field)
    waiting: int = 0  # records whose creation or references have not arrived yet
    held: int = 0  # records whose new state can't be written yet (held with a reason)
    merged: int = 0  # records made on two PCs, merged into one here
    conflicts: int = 0  # concurrent values newly put in the conflict queue
    changes: int = 0  # change records read
    new_changes: int = 0  # of which not seen before
    max_hlc: int = 0
    by_table: Counter = field(default_factory=Counter)
    held_rows: list[tuple[str, str, str]] = field(default_factory=list)  # (table, row id, reason)
    # Records an earlier import left held or waiting, tried again by this one, and held still.
    held_again_rows: list[tuple[str, str, str]] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "new": self.new, "updated": self.updated, "unchanged": self.unchanged, "waiting": self.waiting,
            "held": self.held, "merged": self.merged, "conflicts": self.conflicts, "changes": self.changes,
            "new_changes": self.new_changes,
            "held_rows": [list(r) for r in self.held_rows[:MAX_HELD_LISTED]],
        }


@dataclass(frozen=True)
class RowEffect:
    """What an import does to one record, for :class:`Authority` to judge."""

    table: str
    row_id: str
    origin: str | None  # the installation that made the record (None: its creation has not arrived)
    changes: Sequence[Change]  # the bundle's changes to this row, not seen here before (may be empty:
    #                            the record changed through a row merged into it)
    before: Mapping[str, Any] | None  # the record here before the import (None: new here)
    after: Mapping[str, Any] | None  # what it becomes (None: its creation has not arrived)
    retried: bool = False  # made now from changes an earlier import left waiting


class Authority(Protocol):
    """Who may change what: :meth:`check` raises :class:`BundleRefused` for what the bundle's origin
    may not do (the whole bundle is refused), and :meth:`finish` for what it may not do taken as a
    whole, at the end. A record made now from changes an earlier import left waiting
    (``effect.retried``) that it refuses is held with the reason instead."""

    def check(self, effect: RowEffect) -> None: ...

    def finish(self) -> None: ...


@dataclass(frozen=True)
class Author:
    """This installation, for the changes the merge itself writes (a merge of a record made twice,
    a reference moved to the record that stays)."""

    installation_id: str
    user_id: str | None
    clock: HybridClock
    # Whether this installation may change a row (an establishment points only its own records
    # at the record that stays; the office, which holds them all, does the rest).
    may_write: Callable[[str, Mapping[str, Any]], bool] = lambda table, row: True


@dataclass(frozen=True)
class _Table:
    name: str
    content: tuple[str, ...]
    insert_sql: str
    update_sql: str
    references: tuple[tuple[str, str], ...]  # (column, referenced table)
    key: tuple[str, ...]  # natural key (empty: none)


def _tables() -> dict[str, _Table]:
    out = {}
    for model in SYNCABLE_MODELS:
        name = model.__tablename__
        content = CONTENT[name]
        cols = ("id", "origin_id", "created_hlc", "created_by", "updated_hlc", "updated_by", *content)
        key = NATURAL_KEYS.get(name, ())
        out[name] = _Table(
            name, content,
            f"INSERT INTO {name} ({', '.join(cols)}) VALUES ({', '.join('?' * len(cols))})"
            + (" ON CONFLICT DO NOTHING" if key else ""),
            f"UPDATE {name} SET {', '.join(f'{c} = ?' for c in ('updated_hlc', 'updated_by', *content))} WHERE id = ?",
            tuple(sorted((fk.parent.key, fk.column.table.name) for fk in model.__table__.foreign_keys)),
            key,
        )
    return out


TABLES = _tables()
# Who refers to each table: {table: [(referring table, column), ...]}
REFERRED_BY: dict[str, list[tuple[str, str]]] = defaultdict(list)
for _t in TABLES.values():
    for _col, _ref in _t.references:
        REFERRED_BY[_ref].append((_t.name, _col))


def _fetch(dbapi: Any, sql: str, params: Sequence[Any] = ()) -> list[tuple]:
    cur = dbapi.execute(sql, params)
    try:
        return cur.fetchall()
    finally:
        cur.close()


def _values(t: _Table, state: Mapping[str, Any]) -> list[Any]:
    return [state.get(c) for c in t.content]


class _Unwritable(Exception):
    """A record's new state can't be written: ``clash`` (its natural key is another record's) or
    a reason to hold it."""

    def __init__(self, reason: str, *, clash: bool = False) -> None:
        super().__init__(reason)
        self.reason = reason
        self.clash = clash


def _why(exc: sqlite3.IntegrityError, t: _Table, state: Mapping[str, Any] | None = None) -> _Unwritable:
    text = str(exc)
    state = state or {}
    if "UNIQUE" in text and t.key and all(f"{t.name}.{k}" in text for k in t.key):
        return _Unwritable(text, clash=True)
    if "CHECK" in text:
        if "ends_after_start" in text:
            return _Unwritable(f"its {LABELS[t.name]} would end ({state.get('end_time', '?')}) before it starts "
                               f"({state.get('start_time', '?')}): its times were changed on two PCs; set them "
                               "again here to release it")
        if "module_xor_activity" in text:
            return _Unwritable(f"its {LABELS[t.name]} would be both a module and an activity (changed on two PCs); "
                               "choose one here to release it")
        return _Unwritable(f"its {LABELS[t.name]} breaks a rule of the database ({text})")
    if "UNIQUE" in text:
        return _Unwritable(f"another {LABELS[t.name]} already has the same {text.split(': ', 1)[-1]}")
    return _Unwritable(f"it can't be stored ({text})")


class Merger:
    """Feed it each row's changes (grouped by row) with :meth:`add`; call :meth:`finish`."""

    def __init__(self, dbapi: Any, *, now: dt.datetime | None = None, authority: Authority | None = None,
                 author: Author | None = None, bundle_id: str | None = None) -> None:
        self.db = dbapi
        self.summary = MergeSummary()
        self.now = now or dt.datetime.now(dt.UTC).replace(tzinfo=None)
        self.authority = authority
        self.author = author
        self.bundle_id = bundle_id
        self._batch: dict[str, list[tuple[str, list[Change]]]] = defaultdict(list)
        self._pending = 0
        self._inserted: dict[str, list[str]] = defaultdict(list)  # rows made by this import
        self._updated: dict[str, list[str]] = defaultdict(list)  # rows changed by this import
        self._before: dict[tuple[str, str], dict[str, Any]] = {}  # changed rows as they were
        self._clashes: list[tuple[str, str]] = []  # new rows whose natural key another record holds
        self._refold: dict[str, set[str]] = defaultdict(set)  # records to fold again (merged rows changed)
        self._repoint: list[tuple[str, str, str]] = []  # (table, loser, winner): references to move
        self._held: dict[tuple[str, str], str] = {}  # held by this import, with the reason
        self._stamps: dict[tuple[str, str], tuple] = {}  # changed rows' stamps as they were
        self._touched: set[tuple[str, str]] = set()  # records this import folded and wrote
        # Stamps a clock repair here replaced: never taken again (they would put the clock ahead).
        self._retired = retired_versions(dbapi)
        self._quiet: set[tuple[str, str]] = set()  # records written here that are not the bundle's
        self._retried_made: set[tuple[str, str]] = set()  # made now, after waiting for an earlier import

    # -- feeding --------------------------------------------------------------------------------

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
        self._merged_before_made()
        if self.author is not None and self.summary.max_hlc:
            self.author.clock.observe(self.summary.max_hlc)  # what this PC writes now comes after
        checked: set[tuple[str, str]] = set()
        for _ in range(100):  # each round settles what the last one moved; a forged loop stops here
            self._late_references(checked)
            if not (self._clashes or self._repoint or any(self._refold.values())):
                break
            self._merge_clashes()
            self._move_references()
            self._fold_again()
        self._settle_references()
        if self.authority is not None:
            self.authority.finish()
        mine = {k: why for k, why in self._held.items() if k not in self._quiet}
        self.summary.held = len(mine)
        self.summary.held_rows = [(t, r, why) for (t, r), why in sorted(mine.items())]
        self.summary.held_again_rows = [(t, r, why) for (t, r), why in sorted(self._held.items()) if (t, r) not in mine]
        return self.summary

    def _flush(self) -> None:
        for table, groups in self._batch.items():
            for start in range(0, len(groups), MAX_VARIABLES):
                self._merge(TABLES[table], groups[start:start + MAX_VARIABLES])
        self._batch.clear()
        self._pending = 0

    # -- one batch ------------------------------------------------------------------------------

    def _merge(self, t: _Table, groups: Sequence[tuple[str, list[Change]]]) -> None:
        ids = [g[0] for g in groups]
        marks = ", ".join("?" * len(ids))
        found = _fetch(self.db, f"SELECT id, origin_id, {', '.join(t.content)} FROM {t.name} WHERE id IN ({marks})",
                       ids)
        existing = {r[0]: row_fields(t.name, r[2:]) for r in found}  # as changes carry them (yes/no: bool)
        logged = load(self.db, t.name, ids, existing)
        merged_in = aliases(self.db, t.name, ids) if t.key else {}
        summary = self.summary
        log_rows: list[tuple] = []
        fast: list[tuple[str, Change]] = []
        slow: list[tuple[str, list[Change], list[Change]]] = []
        for row_id, incoming in groups:
            local = logged.get(row_id, ())
            known = {c.version for c in local}
            fresh = [c for c in incoming if c.version not in known and c.version not in self._retired]
            if not fresh:
                summary.unchanged += 1
                continue
            summary.new_changes += len(fresh)
            summary.by_table[t.name] += 1
            for c in fresh:
                if c.hlc > summary.max_hlc:
                    summary.max_hlc = c.hlc
            if (not local and len(fresh) == 1 and fresh[0].op == "insert" and row_id not in existing
                    and row_id not in merged_in):
                # The common case: a record new here, never changed since. Logged without its
                # values: they are the row's (sync.changelog).
                c = fresh[0]
                fast.append((row_id, c))
                log_rows.append((c.hlc, c.origin, None, t.name, row_id, c.op, None, None))
                continue
            log(self.db, ((c.hlc, c.origin, c.user, t.name, row_id, c.op, c.fields, c.base) for c in fresh))
            slow.append((row_id, [*local, *fresh], fresh))
        if log_rows:
            log(self.db, log_rows)
        if fast:
            self._insert_new(t, fast)
        for row_id, own, fresh in slow:
            self._settle(t, row_id, own, fresh, existing.get(row_id), merged_in.get(row_id, ()))

    def _insert_new(self, t: _Table, rows: Sequence[tuple[str, Change]]) -> None:
        """Rows new here with one change, their creation: inserted in one statement, unless one
        of them can't be (then each on its own)."""
        summary = self.summary
        if self.authority is not None:
            for row_id, c in rows:
                self.authority.check(RowEffect(t.name, row_id, c.origin, [c], None, c.fields))
        params = [(row_id, c.origin, c.hlc, c.user, c.hlc, c.user, *_values(t, c.fields)) for row_id, c in rows]
        try:
            cur = self.db.executemany(t.insert_sql, params)
            written = cur.rowcount
            cur.close()
        except sqlite3.IntegrityError:
            written = -1
        if written != len(rows):
            there = set()
            ids = [r[0] for r in rows]
            for start in range(0, len(ids), MAX_VARIABLES):
                part = ids[start:start + MAX_VARIABLES]
                there.update(r[0] for r in _fetch(
                    self.db, f"SELECT id FROM {t.name} WHERE id IN ({', '.join('?' * len(part))})", part))
            for (row_id, c), p in zip(rows, params, strict=True):
                if row_id in there:
                    continue
                try:
                    cur = self.db.execute(t.insert_sql, p)
                    ok = cur.rowcount == 1
                    cur.close()
                    if not ok:
                        raise _Unwritable("clash", clash=True)
                except (sqlite3.IntegrityError, _Unwritable) as exc:
                    problem = exc if isinstance(exc, _Unwritable) else _why(exc, t, c.fields)
                    # Not in its table: the log must hold its values itself.
                    self.db.execute(
                        "UPDATE change_log SET fields = ?, user_id = ? WHERE table_name = ? AND row_id = ? "
                        "AND op = 'insert' AND fields IS NULL", (canonical_json(c.fields), c.user, t.name, row_id))
                    if problem.clash:
                        self._clashes.append((t.name, row_id))
                    else:
                        self._hold(t.name, row_id, problem.reason, new=True)
                    continue
                there.add(row_id)
            made = [r for r in rows if r[0] in there]
        else:
            made = rows
        summary.new += len(made)
        self._inserted[t.name].extend(r[0] for r in made)

    # -- one record ------------------------------------------------------------------------------

    def _state(self, t: _Table, row_id: str, own: Sequence[Change],
               merged_in: Sequence[str] = ()) -> tuple[Any, Any]:
        """(the fold of the record's own changes, the fold that makes its row): a row merged into
        another is its own tombstone; a record others were merged into takes their changes too."""
        mine = fold(own)
        if t.key and mine.values.get(MERGED_INTO):
            return mine, mine
        merged_in = list(merged_in) if merged_in else (aliases(self.db, t.name, [row_id]).get(row_id, [])
                                                        if t.key else [])
        if not merged_in:
            return mine, mine
        logged = load(self.db, t.name, merged_in)
        changes = list(own)
        for alias in sorted(merged_in):
            changes.extend(translate(alias, logged.get(alias, ())))
        return mine, fold(changes)

    def _settle(self, t: _Table, row_id: str, own: Sequence[Change], fresh: Sequence[Change],
                before: dict[str, Any] | None, merged_in: Sequence[str] = (), *, retried: bool = False,
                count: bool = True) -> bool:
        """Fold one record and write it; returns whether its row now holds the fold. ``count``: it
        is one of the bundle's records (not one retried from an earlier import, merged, or moved
        here), so it counts in the summary."""
        summary = self.summary if count and not retried else MergeSummary()
        if summary is not self.summary:
            self._quiet.add((t.name, row_id))
        mine, folded = self._state(t, row_id, own, merged_in)
        if folded.insert is None:
            summary.waiting += 1  # its creation has not arrived: its changes wait in the log
            if self.authority is not None and not retried:
                self.authority.check(RowEffect(t.name, row_id, None, fresh, before, None))
            return False
        state = folded.values
        if self.authority is not None:
            effect = RowEffect(t.name, row_id, folded.insert.origin, fresh, before, state, retried)
            if not retried:
                self.authority.check(effect)
            else:  # from an earlier bundle: not this one's fault, so the record is held, not the bundle refused
                try:
                    self.authority.check(effect)
                except BundleRefused as exc:
                    self._hold(t.name, row_id, str(exc), new=before is None)
                    return False
        alias = bool(t.key and mine.values.get(MERGED_INTO))
        if t.key:
            into, was = mine.values.get(MERGED_INTO), (before or {}).get(MERGED_INTO)
            if into:
                self._refold[t.name].add(into)  # the record it is merged into takes its changes
            if was and was != into:
                self._refold[t.name].add(was)
        values = _values(t, state)
        ins, last = folded.insert, folded.last
        self._touched.add((t.name, row_id))
        try:
            if before is None:
                cur = self.db.execute(t.insert_sql, (row_id, ins.origin, ins.hlc, ins.user, last.hlc, last.user,
                                                     *values))
                ok = cur.rowcount == 1
                cur.close()
                if not ok:
                    raise _Unwritable("clash", clash=True)
            else:
                if (t.name, row_id) not in self._stamps:
                    self._stamps[(t.name, row_id)] = _fetch(
                        self.db, f"SELECT updated_hlc, updated_by FROM {t.name} WHERE id = ?", (row_id,))[0]
                materialize(self.db, t.name, [row_id], {row_id: before})
                self.db.execute(t.update_sql, (last.hlc, last.user, *values, row_id)).close()
        except (sqlite3.IntegrityError, _Unwritable) as exc:
            problem = exc if isinstance(exc, _Unwritable) else _why(exc, t, state)
            if problem.clash and (before is None or self.author is not None):
                self._clashes.append((t.name, row_id))
            else:
                self._hold(t.name, row_id, "its natural key is another record's" if problem.clash else problem.reason,
                           new=before is None)
            return False
        if before is None:
            self._inserted[t.name].append(row_id)
            summary.new += 1
            if retried:
                self._retried_made.add((t.name, row_id))
        else:
            self._updated[t.name].append(row_id)
            self._before.setdefault((t.name, row_id), before)
            if _same(before, state, t.content):
                summary.unchanged += 1
            else:
                summary.updated += 1
        # A row merged into another has no conflicts of its own: its changes are that record's.
        conflicts = [] if alias else folded.conflicts
        if conflicts or before is not None or retried:  # (a row new here has nothing queued yet)
            # new entries in the queue count whichever record brought them
            self.summary.conflicts += store_conflicts(self.db, t.name, row_id, conflicts, self.now)
        return True

    def _hold(self, table: str, row_id: str, reason: str, *, new: bool) -> None:
        """The record can't be written now: it keeps its last good state (or stays out of its table)
        and waits, with the reason; its changes are in the log."""
        self._held[(table, row_id)] = reason
        self.db.execute(
            "INSERT INTO sync_waiting (table_name, row_id, since, reason, bundle_id) VALUES (?, ?, ?, ?, ?) "
            "ON CONFLICT (table_name, row_id) DO UPDATE SET reason = excluded.reason, "
            "bundle_id = coalesce(sync_waiting.bundle_id, excluded.bundle_id)",  # the bundle that brought it
            (table, row_id, self.now.isoformat(sep=" "), reason[:1000], self.bundle_id)).close()

    # -- what earlier imports left waiting -------------------------------------------------------

    def _retry_waiting(self) -> None:
        """Try again every record that waited or was held: more may have arrived, or the cause
        may have been fixed."""
        waiting = _fetch(self.db, "SELECT table_name, row_id FROM sync_waiting ORDER BY table_name, row_id")
        by_table: dict[str, list[str]] = defaultdict(list)
        for table, row_id in waiting:
            if table in TABLES and (table, row_id) not in self._held:
                by_table[table].append(row_id)
        for table, ids in by_table.items():
            t = TABLES[table]
            rows = read_rows(self.db, table, ids)
            logged = load(self.db, table, ids, rows)
            for row_id in ids:
                own = logged.get(row_id)
                if not own or (table, row_id) in self._touched:
                    continue  # made or changed again by this import (its references are checked below)
                self._settle(t, row_id, own, (), rows.get(row_id), retried=True)

    # -- a natural key made on two PCs -----------------------------------------------------------

    def _merge_clashes(self) -> None:
        clashes, self._clashes = self._clashes, []
        for table, row_id in clashes:
            t = TABLES[table]
            own = load(self.db, table, [row_id]).get(row_id, [])
            if not own:
                continue
            mine = fold(own)
            key = [mine.values.get(k) for k in t.key]
            other = _fetch(self.db, f"SELECT id FROM {table} WHERE {' AND '.join(f'{k} = ?' for k in t.key)} "
                                    "AND merged_into IS NULL AND id != ?", [*key, row_id])
            mine_here = read_rows(self.db, table, [row_id]).get(row_id)  # a row here whose new key clashed
            if not other:  # the other record was merged away meanwhile: this one can be made now
                self._settle(t, row_id, own, (), mine_here)
                continue
            existing = other[0][0]
            if self.author is None:
                self._hold(table, row_id, f"another {LABELS[table]} already has the same "
                                          f"{', '.join(t.key)}", new=mine_here is None)
                continue
            winner, loser = sorted((row_id, existing))
            self.summary.merged += 1
            if loser == row_id:  # the new row is merged into the record here
                if mine_here is not None:
                    materialize(self.db, table, [row_id], {row_id: mine_here})
                    own = load(self.db, table, [row_id]).get(row_id, [])
                self._write_merge(t, row_id, own, winner)
                self._settle(t, row_id, [*load(self.db, table, [row_id]).get(row_id, [])], (), mine_here, count=False)
                self._refold[table].add(winner)
            else:  # the record here is merged into the new row
                here = read_rows(self.db, table, [existing])
                materialize(self.db, table, [existing], here)
                theirs = load(self.db, table, [existing], here).get(existing, [])
                self._write_merge(t, existing, theirs, winner)
                if self._settle(t, existing, load(self.db, table, [existing]).get(existing, []), (),
                                here.get(existing), count=False):
                    self._settle(t, row_id, own, (), mine_here, count=False)
            self._repoint.append((table, loser, winner))

    def _write_merge(self, t: _Table, row_id: str, own: Sequence[Change], winner: str) -> None:
        """This installation's change merging ``row_id`` into ``winner``: a tombstone naming it,
        over every head of the row (it overwrote all of them)."""
        author = self.author
        heads = fold(own).heads
        h = author.clock.now()
        fields = {"deleted_hlc": h, "deleted_by": author.user_id, "deleted_reason": merge_reason(t.name, winner),
                  MERGED_INTO: winner}
        log(self.db, [(h, author.installation_id, author.user_id, t.name, row_id, "delete", fields,
                       {f: vs for f, vs in heads.items()})])

    def _move_references(self) -> None:
        """Point what referred to a merged row at the record that stays (this installation's
        changes, like an edit made here; an establishment moves only its own records)."""
        moves, self._repoint = self._repoint, []
        for table, loser, winner in moves:
            for child, column in REFERRED_BY.get(table, ()):
                c = TABLES[child]
                ids = [r[0] for r in _fetch(self.db, f"SELECT id FROM {child} WHERE {column} = ?"
                                            + (" AND merged_into IS NULL" if c.key else ""), (loser,))]
                if not ids:
                    continue
                rows = read_rows(self.db, child, ids)
                logged = load(self.db, child, ids, rows)
                for row_id in ids:
                    row = rows.get(row_id)
                    if row is None or (child, row_id) in self._held or not self.author.may_write(child, row):
                        continue
                    own = logged.get(row_id, [])
                    current = fold(own)
                    h = self.author.clock.now()
                    base = {column: [current.versions[column]]} if column in current.versions else {}
                    change = Change(h, self.author.installation_id, self.author.user_id, "update",
                                    {column: winner}, base)
                    materialize(self.db, child, [row_id], rows)
                    log(self.db, [(h, change.origin, change.user, child, row_id, "update", change.fields, base)])
                    self._settle(c, row_id, [*own, change], (), row, count=False)

    def _late_references(self, checked: set[tuple[str, str]]) -> None:
        """Rows this import wrote that point at a record merged into another (made where the merge
        was not known yet): their references move to the record that stays, as at the merge."""
        if self.author is None:
            return
        for table, ids in [*self._inserted.items(), *self._updated.items()]:
            todo = [i for i in dict.fromkeys(ids) if (table, i) not in checked]
            checked.update((table, i) for i in todo)
            t = TABLES[table]
            for col, ref in t.references:
                if not TABLES[ref].key:
                    continue
                for start in range(0, len(todo), MAX_VARIABLES):
                    part = todo[start:start + MAX_VARIABLES]
                    marks = ", ".join("?" * len(part))
                    for loser, winner in _fetch(
                            self.db, f"SELECT DISTINCT p.id, p.merged_into FROM {table} r JOIN {ref} p ON p.id = r.{col} "
                                     f"WHERE p.merged_into IS NOT NULL AND r.id IN ({marks})", part):
                        if (ref, loser, winner) not in self._repoint:
                            self._repoint.append((ref, loser, winner))

    def _merged_before_made(self) -> None:
        """A record made here now that others were merged into before it arrived (their merge came
        by an earlier bundle): it takes their changes too, as everywhere else. Merged rows are few,
        so each table that had records made is read for them once."""
        for table, ids in self._inserted.items():
            if not TABLES[table].key or not ids:
                continue
            into = {r[0] for r in _fetch(self.db, f"SELECT DISTINCT merged_into FROM {table} "
                                                  "WHERE merged_into IS NOT NULL")}
            self._refold[table].update(into.intersection(ids))

    def _fold_again(self) -> None:
        """Records whose merged rows changed (merged now, or edited on a PC that had not heard)."""
        pending, self._refold = self._refold, defaultdict(set)
        for table, roots in pending.items():
            t = TABLES[table]
            for root in sorted(roots):
                seen = set()
                while root and root not in seen:  # the record that stays, at the end of the chain
                    seen.add(root)
                    row = _fetch(self.db, f"SELECT merged_into FROM {table} WHERE id = ?", (root,))
                    if not row or not row[0][0]:
                        break
                    root = row[0][0]
                rows = read_rows(self.db, table, [root])
                if root not in rows:
                    continue  # not here (yet): its merged rows wait in the log
                own = load(self.db, table, [root], rows).get(root, [])
                if own:
                    self._settle(t, root, own, (), rows[root], count=False)

    # -- references that have not arrived yet ----------------------------------------------------

    def _settle_references(self) -> None:
        """A record this import made whose references are missing waits (it is taken out of its
        table, its changes stay logged); one it changed to point at a missing record is held (it
        keeps its last good state)."""
        for table, ids in self._updated.items():
            t = TABLES[table]
            for row_id, ref in self._dangling(t, ids):
                before = self._before.get((table, row_id))
                if before is not None:  # back to its last good state, stamps and all
                    stamp = self._stamps.get((table, row_id))
                    self.db.execute(t.update_sql, (*stamp, *_values(t, before), row_id)).close()
                self._hold(table, row_id, f"it refers to a {LABELS.get(ref, ref)} this PC doesn't have yet", new=False)
        pending = dict(self._inserted)
        while pending:
            moved: dict[str, list[str]] = defaultdict(list)
            for table, ids in pending.items():
                dangling = [r for r, _ref in self._dangling(TABLES[table], ids)]
                if not dangling:
                    continue
                materialize(self.db, table, dangling)  # out of its table: the log keeps its values
                self.db.executemany(f"DELETE FROM {table} WHERE id = ?", [(i,) for i in dangling]).close()
                self.db.executemany(
                    "INSERT INTO sync_waiting (table_name, row_id, since, reason, bundle_id) VALUES (?, ?, ?, ?, ?) "
                    "ON CONFLICT (table_name, row_id) DO UPDATE SET reason = excluded.reason",
                    [(table, i, self.now.isoformat(sep=" "), "it refers to a record not here yet", self.bundle_id)
                     for i in dangling]).close()
                self.db.executemany("DELETE FROM sync_conflict WHERE table_name = ? AND row_id = ?",
                                    [(table, i) for i in dangling]).close()
                counted = len([i for i in dangling if (table, i) not in self._quiet])
                self.summary.new -= counted
                self.summary.waiting += counted
                gone = set(dangling)
                self._inserted[table] = [i for i in self._inserted[table] if i not in gone]
                # Records made by this import that refer to these must wait too.
                for child in TABLES.values():
                    if any(ref == table for _, ref in child.references) and self._inserted.get(child.name):
                        moved[child.name] = self._inserted[child.name]
            pending = moved
        for table, ids in self._inserted.items():  # made at last: no longer waiting
            # A record an earlier bundle left waiting, made now: new here (it counts once, now).
            self.summary.new += len([i for i in ids if (table, i) in self._retried_made])
            self.db.executemany("DELETE FROM sync_waiting WHERE table_name = ? AND row_id = ?",
                                [(table, i) for i in ids if (table, i) not in self._held]).close()
        for table, ids in self._updated.items():
            self.db.executemany("DELETE FROM sync_waiting WHERE table_name = ? AND row_id = ?",
                                [(table, i) for i in ids if (table, i) not in self._held]).close()

    def _dangling(self, t: _Table, ids: Sequence[str]) -> list[tuple[str, str]]:
        """(row id, the table it refers to) for each row pointing at a record that isn't here."""
        if not t.references or not ids:
            return []
        found: list[tuple[str, str]] = []
        unique = list(dict.fromkeys(ids))
        for start in range(0, len(unique), MAX_VARIABLES):
            part = unique[start:start + MAX_VARIABLES]
            marks = ", ".join("?" * len(part))
            for col, ref in t.references:
                found += [(r[0], ref) for r in _fetch(
                    self.db, f"SELECT r.id FROM {t.name} r WHERE r.id IN ({marks}) AND r.{col} IS NOT NULL "
                             f"AND NOT EXISTS (SELECT 1 FROM {ref} p WHERE p.id = r.{col})", part)]
        seen: set[str] = set()
        return [(r, ref) for r, ref in found if not (r in seen or seen.add(r))]


def _same(stored: Mapping[str, Any], values: Mapping[str, Any], columns: Iterable[str]) -> bool:
    """Whether a row read back from SQLite holds ``values`` (booleans come back as 0/1)."""
    for c in columns:
        a, b = stored.get(c), values.get(c)
        if a != b and not (isinstance(b, bool) and a == int(b)):
            return False
    return True


def try_release(dbapi: Any, table: str, row_id: str, now: dt.datetime) -> bool:
    """Write a record's fold now, if it can be written: True when it was, and the record no longer
    waits. Used after an edit made on this PC that may have fixed what held the record, and after
    a conflict is settled here (the settlement can change other fields' winners)."""
    t = TABLES[table]
    here = read_rows(dbapi, table, [row_id])
    if row_id not in here:
        return False
    own = load(dbapi, table, [row_id], here).get(row_id, [])
    if not own:
        return False
    merger = Merger(dbapi, now=now)
    mine, folded = merger._state(t, row_id, own)
    if folded.insert is None:
        return False
    state = folded.values
    for col, ref in t.references:
        value = state.get(col)
        if value is not None and not _fetch(dbapi, f"SELECT 1 FROM {ref} WHERE id = ?", (value,)):
            return False
    materialize(dbapi, table, [row_id], here)
    dbapi.execute("SAVEPOINT srcdesk_release").close()
    try:
        dbapi.execute(t.update_sql, (folded.last.hlc, folded.last.user, *_values(t, state), row_id)).close()
    except sqlite3.IntegrityError:
        dbapi.execute("ROLLBACK TO srcdesk_release").close()
        dbapi.execute("RELEASE srcdesk_release").close()
        return False
    dbapi.execute("RELEASE srcdesk_release").close()
    dbapi.execute("DELETE FROM sync_waiting WHERE table_name = ? AND row_id = ?", (table, row_id)).close()
    alias = bool(t.key and mine.values.get(MERGED_INTO))
    store_conflicts(dbapi, table, row_id, [] if alias else folded.conflicts, now)
    return True
