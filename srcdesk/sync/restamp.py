"""Clock repair: re-stamping this installation's own changes that its clock put in the future.

A PC whose clock ran days ahead stamps its changes days ahead, and its stored clock (which never
goes backwards) keeps stamping after them once the clock is corrected. Importers refuse a bundle
stamped more than a day ahead (:data:`srcdesk.sync.bundle.FUTURE_SLACK`), so until the stamps
pass, that PC can send nothing. :func:`restamp` gives those changes honest stamps, in one
transaction of the caller's:

**Which changes.** This installation's own changes stamped after the present: after the wall
clock, and after every stamp received from other installations (the clock may never go below
what it has seen, and a change stamped below that is no problem of this PC's).

**Which stamps.** Each change gets the lowest stamp above everything this PC had logged before
it (its log position is the order in which things happened here), in their order. That is the
latest moment we *know* the change came after. Not "now": a re-stamped change keeps its original
base (it still had not seen what it had not seen), so against an edit made elsewhere meanwhile
the clocks decide, and an edit made at the office after this PC's change, before the repair,
must still win. Stamped "now", this PC's stale edit would beat it; stamped at the lower bound,
that edit wins and this PC's value goes to the conflict queue, where nothing is lost. Against
what this PC had seen before it made the change, the change still comes after.

**Nothing that named the old stamps is lost.** The change keeps its base and adds the old stamp
it replaces, so an installation that took the old one (a bundle accepted within the day's slack)
lets the new one overwrite it knowingly and holds nothing twice. This PC's own later changes that
named an old stamp name the new one as well (changes received from others are kept as they came:
a version is the same change everywhere). A delete carries its own stamp in ``deleted_hlc``: that
moves with it. Rows are folded again (their stamps, and their values where an edit received later
now comes after this PC's), and so is the conflict queue.

**Sent again.** Re-stamped changes get new log positions, above every watermark, so the next
bundle carries them: the bundle that was refused is never imported, so that is what the PC owes.

**Remembered.** The old stamps are *retired* (``local_state`` :data:`RETIRED_KEY`). One that
comes back in a bundle (a refused bundle imported after all, a ``--full`` bundle) changes no
value (the new changes name it), but must not be taken again, or its stamp would put the clock
ahead again: :func:`retired_versions` lists them for the merge. The stored clock moves back to
the present, never below the highest stamp received.
"""

from __future__ import annotations

import datetime as dt
import json
import sqlite3
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ..models import MERGED_INTO, NATURAL_KEYS
from .bundle import MAX_BASE_VERSIONS
from .changelog import CONTENT, canonical_json, history, load, materialize, read_rows
from .conflicts import store_conflicts
from .fold import Version, encode_base, fold, parse_base

CLOCK_KEY = "hlc"  # local_state: the stored clock (sync.capture.save_clock)
RETIRED_KEY = "clock_retired"  # local_state: [[old stamp, new stamp], ...] of this installation's changes


def _fetch(dbapi: Any, sql: str, params: Sequence[Any] = ()) -> list[tuple]:
    cur = dbapi.execute(sql, params)
    try:
        return cur.fetchall()
    finally:
        cur.close()


def _scalar(dbapi: Any, sql: str, params: Sequence[Any] = ()) -> Any:
    rows = _fetch(dbapi, sql, params)
    return rows[0][0] if rows else None


def stored_clock(dbapi: Any) -> int:
    """The clock as saved: the highest stamp this installation has issued or seen."""
    value = _scalar(dbapi, "SELECT value FROM local_state WHERE key = ?", (CLOCK_KEY,))
    return int(value) if value else 0


def received_max(dbapi: Any, me: str) -> tuple[int, str | None]:
    """The highest stamp received from another installation, and which one (0, None: none)."""
    row = _fetch(dbapi, "SELECT hlc, origin_id FROM change_log WHERE origin_id != ? ORDER BY hlc DESC LIMIT 1",
                 (me,))
    return (row[0][0], row[0][1]) if row else (0, None)


def _written_up_to(dbapi: Any, me: str) -> int:
    """The log position every bundle this installation wrote covers up to."""
    return max(
        _scalar(dbapi, "SELECT coalesce(max(watermark), 0) FROM bundle_record WHERE direction = 'sent' "
                       "AND origin_id = ?", (me,)) or 0,
        _scalar(dbapi, "SELECT coalesce(max(sent_watermark), 0) FROM installation WHERE NOT is_self") or 0,
    )


@dataclass(frozen=True)
class Ahead:
    """This installation's own changes stamped after a moment."""

    changes: int
    written: int  # of which already in a bundle written (refused, or not imported yet)
    highest: int  # the highest of their stamps (0: none)


def own_changes_ahead(dbapi: Any, me: str, limit_hlc: int) -> Ahead:
    """How many of this installation's changes are stamped after ``limit_hlc``."""
    written = _written_up_to(dbapi, me)
    count, sent, highest = _fetch(
        dbapi, "SELECT count(*), coalesce(sum(seq <= ?), 0), coalesce(max(hlc), 0) FROM change_log "
               "WHERE origin_id = ? AND hlc > ?", (written, me, limit_hlc))[0]
    return Ahead(count, sent, highest)


# -- retired stamps ---------------------------------------------------------------------------------


def _retired(dbapi: Any) -> dict[int, int]:
    raw = _scalar(dbapi, "SELECT value FROM local_state WHERE key = ?", (RETIRED_KEY,))
    return {int(old): int(new) for old, new in json.loads(raw)} if raw else {}


def retired_versions(dbapi: Any) -> frozenset[Version]:
    """The versions a clock repair on this installation replaced: a bundle that brings one back
    (the refused bundle imported after all, or a ``--full`` one) must not have it taken again,
    or its stamp would put the clock ahead again."""
    me = _scalar(dbapi, "SELECT id FROM installation WHERE is_self")
    if me is None:
        return frozenset()
    return frozenset((old, me) for old in _retired(dbapi))


# -- the repair -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Restamped:
    """What :func:`restamp` did."""

    changes: int  # changes re-stamped
    written: int  # of which had been in a bundle already
    by_op: Mapping[str, int]  # insert/update/delete: how many of each
    records: int  # records folded again
    changed: int  # of which now show another value (an edit received later comes after this PC's)
    held: int  # records whose new state can't be written (kept as they were, with the reason)
    conflicts: int  # conflict-queue entries that named a re-stamped change
    clock_before: int
    clock_after: int
    first: int  # the lowest new stamp (0: none)
    last: int  # the highest new stamp


def restamp(dbapi: Any, me: str, now_hlc: int, *, now: dt.datetime, clock: int = 0) -> Restamped:
    """Re-stamp this installation's changes stamped after the present and move the stored clock
    back to the present (see the module's docstring), in the caller's transaction. ``clock`` is
    the clock in memory, if it is ahead of the one saved. Nothing is written if nothing is ahead."""
    clock_before = max(stored_clock(dbapi), clock)
    written = _written_up_to(dbapi, me)
    limit = max(now_hlc, received_max(dbapi, me)[0])
    rows = _fetch(
        dbapi, "SELECT seq, hlc, table_name, row_id, op, fields, base FROM change_log "
               "WHERE origin_id = ? AND hlc > ? ORDER BY seq", (me, limit))
    if not rows:
        clock_after = min(clock_before, limit)
        if clock_after < clock_before:
            _save_clock(dbapi, clock_after)
        return Restamped(0, 0, {}, 0, 0, 0, 0, clock_before, clock_after, 0, 0)

    retired = _retired(dbapi)
    stamps = _new_stamps(dbapi, me, rows, retired)
    top = max(written, _scalar(dbapi, "SELECT coalesce(max(seq), 0) FROM change_log") or 0)
    by_op: dict[str, int] = defaultdict(int)
    touched: dict[str, set[str]] = defaultdict(set)
    sent = 0
    updates = []
    for position, (seq, old, table, row_id, op, fields, base) in enumerate(rows, start=top + 1):
        by_op[op] += 1
        sent += seq <= written
        touched[table].add(row_id)
        updates.append((position, stamps[old], _moved_fields(fields, stamps),
                        _moved_base(base, op, fields, old, me, stamps), seq))
    # New log positions, above every one in use and every bundle's watermark (so no two rows ever
    # share one, and the next bundle carries these again).
    dbapi.executemany("UPDATE change_log SET seq = ?, hlc = ?, fields = ?, base = ? WHERE seq = ?",
                      updates).close()
    conflicts = _move_conflict_stamps(dbapi, me, stamps)
    records, changed, held = _fold_again(dbapi, touched, stamps, now)
    retired.update(stamps)
    _save(dbapi, RETIRED_KEY, json.dumps(sorted(retired.items()), separators=(",", ":")))
    new = sorted(stamps.values())
    clock_after = max(limit, new[-1])
    _save_clock(dbapi, clock_after)
    return Restamped(len(rows), sent, dict(by_op), records, changed, held, conflicts, clock_before, clock_after,
                     new[0], new[-1])


def _new_stamps(dbapi: Any, me: str, rows: Sequence[tuple], retired: Mapping[int, int]) -> dict[int, int]:
    """Old stamp -> new stamp: each just above everything logged before it (in log order, with
    the re-stamped changes at their new stamps), never a stamp this installation has used. The
    changes one save made share a stamp (one per record): they keep sharing one."""
    first = rows[0][0]
    floor = _scalar(dbapi, "SELECT coalesce(max(hlc), 0) FROM change_log WHERE seq < ?", (first,)) or 0
    taken = {h for (h,) in _fetch(dbapi, "SELECT hlc FROM change_log WHERE origin_id = ? AND hlc > ?", (me, floor))}
    taken.update(retired)
    taken.update(retired.values())
    mine = {r[0] for r in rows}
    stamps: dict[int, int] = {}
    running = floor
    cur = dbapi.execute("SELECT seq, hlc FROM change_log WHERE seq >= ? ORDER BY seq", (first,))
    try:
        for seq, h in cur:
            if seq in mine:
                if h in stamps:
                    continue
                new = running + 1
                while new in taken:
                    new += 1
                taken.add(new)
                stamps[h] = new
                running = new
            elif h > running:
                running = h
    finally:
        cur.close()
    return stamps


def _moved_fields(fields: str | None, stamps: Mapping[int, int]) -> str | None:
    """A delete's values carry its own stamp (``deleted_hlc``): it moves with the change."""
    if fields is None:
        return None  # an insert whose values are its row's (sync.changelog)
    values = json.loads(fields)
    deleted = values.get("deleted_hlc")
    if type(deleted) is int and deleted in stamps:
        values["deleted_hlc"] = stamps[deleted]
        return canonical_json(values)
    return fields


def _moved_base(base: str | None, op: str, fields: str | None, old: int, me: str,
                stamps: Mapping[int, int]) -> str | None:
    """The versions it overwrote, as before, plus the new stamp of each that was re-stamped, plus
    (for an update or delete) its own old stamp in every field it writes."""
    parsed = parse_base(base) or {}
    out: dict[str, set[Version]] = {}
    for f, versions in parsed.items():
        named = set(versions)
        named.update((stamps[h], o) for h, o in versions if o == me and h in stamps)
        out[f] = named
    if op != "insert" and fields is not None:
        for f in json.loads(fields):
            out.setdefault(f, set()).add((old, me))
    for f, named in out.items():
        if len(named) > MAX_BASE_VERSIONS:
            # Importers refuse more. The old stamps of other changes go first (those are named by
            # their own new versions too), then this change's own old stamp.
            spare = sorted(v for v in named if v[1] == me and v[0] in stamps and v[0] != old)
            spare.append((old, me))
            out[f] = named - set(spare[:len(named) - MAX_BASE_VERSIONS])
    if not out:
        return base
    return canonical_json(encode_base(out))


def _move_conflict_stamps(dbapi: Any, me: str, stamps: Mapping[int, int]) -> int:
    """The conflict queue names versions: keep each entry (and when it was first seen) under the
    new stamp. Returns how many entries named a re-stamped change."""
    moved = 0
    for side in ("winner", "loser"):
        cur = dbapi.executemany(
            f"UPDATE sync_conflict SET {side}_hlc = ? WHERE {side}_origin = ? AND {side}_hlc = ?",
            [(new, me, old) for old, new in stamps.items()])
        moved += max(cur.rowcount, 0)
        cur.close()
    return moved


def _roots(dbapi: Any, table: str, ids: Iterable[str]) -> set[str]:
    """The records the rows make: a row merged into another changes that record too."""
    out = set(ids)
    if table not in NATURAL_KEYS:
        return out
    frontier = set(out)
    while frontier:
        nxt: set[str] = set()
        for row_id in frontier:
            into = _scalar(dbapi, f"SELECT {MERGED_INTO} FROM {table} WHERE id = ?", (row_id,))
            if into and into not in out:
                out.add(into)
                nxt.add(into)
        frontier = nxt
    return out


def _fold_again(dbapi: Any, touched: Mapping[str, set[str]], stamps: Mapping[int, int],
                now: dt.datetime) -> tuple[int, int, int]:
    """Write each touched record's fold (stamps, and values where the order changed) and its
    conflicts. Returns (records, records whose values changed, records held)."""
    waiting = set(_fetch(dbapi, "SELECT table_name, row_id FROM sync_waiting"))
    records = changed = held = 0
    for table in sorted(touched):
        ids = sorted(_roots(dbapi, table, touched[table]))
        content = CONTENT[table]
        present = read_rows(dbapi, table, ids)
        logged = load(dbapi, table, ids, present)
        for row_id in ids:
            before = present.get(row_id)
            own = logged.get(row_id)
            if before is None or not own:
                continue  # not in its table (waiting for what it refers to): its changes wait in the log
            records += 1
            if (table, row_id) in waiting:  # held at its last good state: only its stamps move
                _move_row_stamps(dbapi, table, row_id, stamps)
                continue
            mine = fold(own)
            alias = table in NATURAL_KEYS and bool(mine.values.get(MERGED_INTO))
            folded = mine if alias else fold(history(dbapi, table, row_id, own))
            # A column no change wrote (added to srcdesk after the record was made) keeps its value.
            state = {c: folded.values[c] if c in folded.values else before.get(c) for c in content}
            values = [state[c] for c in content]
            differs = state != {c: before.get(c) for c in content}
            if differs:
                materialize(dbapi, table, [row_id], present)  # the log keeps the values it had
            created = folded.insert.hlc if folded.insert is not None else None
            try:
                dbapi.execute(
                    f"UPDATE {table} SET created_hlc = coalesce(?, created_hlc), updated_hlc = ?, updated_by = ?, "
                    f"{', '.join(f'{c} = ?' for c in content)} WHERE id = ?",
                    (created, folded.last.hlc, folded.last.user, *values, row_id)).close()
            except sqlite3.IntegrityError as exc:
                held += 1
                _move_row_stamps(dbapi, table, row_id, stamps)
                dbapi.execute(
                    "INSERT INTO sync_waiting (table_name, row_id, since, reason, bundle_id) VALUES (?, ?, ?, ?, NULL) "
                    "ON CONFLICT (table_name, row_id) DO UPDATE SET reason = excluded.reason",
                    (table, row_id, now.isoformat(sep=" "),
                     f"after the clock repair its new state breaks a rule of the database ({exc})"[:1000])).close()
                continue
            changed += differs
            store_conflicts(dbapi, table, row_id, [] if alias else folded.conflicts, now)
    return records, changed, held


def _move_row_stamps(dbapi: Any, table: str, row_id: str, stamps: Mapping[int, int]) -> None:
    row = _fetch(dbapi, f"SELECT created_hlc, updated_hlc, deleted_hlc FROM {table} WHERE id = ?", (row_id,))
    if not row:
        return
    moved = [stamps.get(h, h) if h is not None else None for h in row[0]]
    dbapi.execute(f"UPDATE {table} SET created_hlc = ?, updated_hlc = ?, deleted_hlc = ? WHERE id = ?",
                  (*moved, row_id)).close()


def _save(dbapi: Any, key: str, value: str) -> None:
    dbapi.execute("INSERT INTO local_state (key, value) VALUES (?, ?) "
                  "ON CONFLICT (key) DO UPDATE SET value = excluded.value", (key, value)).close()


def _save_clock(dbapi: Any, value: int) -> None:
    _save(dbapi, CLOCK_KEY, str(value))
