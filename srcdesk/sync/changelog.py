"""The change log: every change to a syncable row, and a row's history read back from it.

``change_log`` holds one line per change: (seq, hlc, origin, user, table, row, op, fields, base).
Bundles are made from it and rows are folded from it (:mod:`srcdesk.sync.fold`).

**No second copy of a row.** An insert's ``fields`` (and ``user_id``) are stored as NULL while
the row has not changed since it was made: its values are the row's own, and its user the row's
``created_by``, so the log needs only where and when it was made. Most records (register lines, sessions) never change, so the log costs a fraction
of the data instead of doubling it. Before anything changes such a row, its insert's values are
written into the log (:func:`materialize`), so the log always knows what every change wrote.
``srcdesk check`` proves the rule holds: a NULL insert is the only change of a row whose stamps
are that insert's.

**A row's history** is its own changes, plus the changes of every row merged into it (a natural
key made on two PCs is one record; see :class:`srcdesk.models.Mergeable`): those count as edits
of this record, made by PCs that had not seen it (:func:`history`).
"""

from __future__ import annotations

import json
import sys
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from sqlalchemy import Boolean

from ..models import MERGED_INTO, NATURAL_KEYS, SYNC_META_COLUMNS, SYNCABLE_MODELS, TOMBSTONE_COLUMNS
from .fold import Change, encode_base, parse_base

MAX_VARIABLES = 900  # SQLite's limit on "?" in one statement is 32766 today, 999 in old builds

LOG_INSERT = (
    "INSERT INTO change_log (hlc, origin_id, user_id, table_name, row_id, op, fields, base) "
    "VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
)

_CANONICAL = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False)


def canonical_json(fields: Mapping[str, Any]) -> str:
    """Sorted keys, no spaces, UTF-8 as is, NaN refused: the same bytes on every installation."""
    return _CANONICAL.encode(fields)  # one shared encoder: json.dumps(**options) builds one per call


def content_columns(model: type) -> list[str]:
    """Columns whose values travel in changes (everything but the stamps and exclusions)."""
    excluded = SYNC_META_COLUMNS | model.__sync_exclude__
    return [c.key for c in model.__table__.columns if c.key not in excluded]


MODELS: dict[str, type] = {m.__tablename__: m for m in SYNCABLE_MODELS}
CONTENT: dict[str, tuple[str, ...]] = {name: tuple(content_columns(m)) for name, m in MODELS.items()}
_BOOLEANS: dict[str, tuple[int, ...]] = {
    name: tuple(i for i, c in enumerate(CONTENT[name]) if isinstance(m.__table__.columns[c].type, Boolean))
    for name, m in MODELS.items()
}
_SELECT_CONTENT = {name: f"SELECT id, {', '.join(cols)} FROM {name} WHERE id IN " for name, cols in CONTENT.items()}


def row_fields(table: str, values: Sequence[Any]) -> dict[str, Any]:
    """A row's content as a change carries it, from the values SQLite returns in :data:`CONTENT`
    order (yes/no columns come back as 0/1)."""
    out = dict(zip(CONTENT[table], values, strict=True))
    if _BOOLEANS[table]:
        cols = CONTENT[table]
        for i in _BOOLEANS[table]:
            v = values[i]
            if v is not None:
                out[cols[i]] = bool(v)
    return out


def _chunks(ids: Sequence[str]) -> Iterable[Sequence[str]]:
    for start in range(0, len(ids), MAX_VARIABLES):
        yield ids[start:start + MAX_VARIABLES]


def _fetch(dbapi: Any, sql: str, params: Sequence[Any]) -> list[tuple]:
    cur = dbapi.execute(sql, params)
    try:
        return cur.fetchall()
    finally:
        cur.close()  # closed here, on this thread: never finalised later by the garbage collector


def read_rows(dbapi: Any, table: str, ids: Iterable[str]) -> dict[str, dict[str, Any]]:
    """The content of rows as changes carry it, by id (missing rows left out)."""
    unique = list(dict.fromkeys(ids))
    out: dict[str, dict[str, Any]] = {}
    for part in _chunks(unique):
        for row in _fetch(dbapi, _SELECT_CONTENT[table] + f"({', '.join('?' * len(part))})", list(part)):
            out[row[0]] = row_fields(table, row[1:])
    return out


def creators(dbapi: Any, table: str, ids: Iterable[str]) -> dict[str, str | None]:
    """Who made each row (``created_by``): the user of an insert logged without its values."""
    out: dict[str, str | None] = {}
    for part in _chunks(list(dict.fromkeys(ids))):
        out.update(_fetch(dbapi, f"SELECT id, created_by FROM {table} WHERE id IN ({', '.join('?' * len(part))})",
                          list(part)))
    return out


def intern_origin(origin: str) -> str:
    """Origins repeat on every change: one string each keeps a long history small in memory."""
    return sys.intern(origin)


def load(dbapi: Any, table: str, ids: Sequence[str], rows: Mapping[str, Mapping[str, Any]] | None = None
         ) -> dict[str, list[Change]]:
    """Every change logged for each row (any order), by row id. An insert stored without its
    values takes them from the row: from ``rows`` (the rows as read already) or the table."""
    out: dict[str, list[Change]] = defaultdict(list)
    unread: list[tuple[str, int, str, str | None, str | None]] = []
    unique = list(dict.fromkeys(ids))
    for part in _chunks(unique):
        for row_id, h, o, u, op, f, b in _fetch(
            dbapi, "SELECT row_id, hlc, origin_id, user_id, op, fields, base FROM change_log "
            f"WHERE table_name = ? AND row_id IN ({', '.join('?' * len(part))})", [table, *part],
        ):
            if f is None:
                unread.append((row_id, h, o, u, b))
                continue
            out[row_id].append(Change(h, intern_origin(o), u, op, json.loads(f), parse_base(b)))
    if unread:
        known = dict(rows or {})
        missing = [r[0] for r in unread if r[0] not in known]
        if missing:
            known.update(read_rows(dbapi, table, missing))
        makers = creators(dbapi, table, [r[0] for r in unread])
        for row_id, h, o, u, b in unread:
            fields = known.get(row_id)
            if fields is None:  # srcdesk check reports it; a fold without it still works
                continue
            out[row_id].append(Change(h, intern_origin(o), u if u is not None else makers.get(row_id), "insert",
                                      dict(fields), parse_base(b)))
    return out


def logged_changes(dbapi: Any, table: str, row_id: str) -> list[Change]:
    """Every change this installation has logged for one row (any order)."""
    return load(dbapi, table, [row_id]).get(row_id, [])


def materialize(dbapi: Any, table: str, ids: Iterable[str],
                rows: Mapping[str, Mapping[str, Any]] | None = None) -> int:
    """Write into the log the values of inserts stored without them, before their rows change:
    ``rows`` (or the table) must still hold exactly those values. Returns how many were written."""
    unique = list(dict.fromkeys(ids))
    pending: list[str] = []
    for part in _chunks(unique):
        pending += [r[0] for r in _fetch(
            dbapi, "SELECT row_id FROM change_log WHERE table_name = ? AND op = 'insert' AND fields IS NULL "
            f"AND row_id IN ({', '.join('?' * len(part))})", [table, *part])]
    if not pending:
        return 0
    known = {i: rows[i] for i in pending if rows is not None and i in rows}
    known.update(read_rows(dbapi, table, [i for i in pending if i not in known]))
    makers = creators(dbapi, table, pending)
    dbapi.executemany(
        "UPDATE change_log SET fields = ?, user_id = coalesce(user_id, ?) WHERE table_name = ? AND row_id = ? "
        "AND op = 'insert' AND fields IS NULL",
        [(canonical_json(known[i]), makers.get(i), table, i) for i in pending if i in known]).close()
    return len(pending)


def log(dbapi: Any, rows: Iterable[tuple]) -> None:
    """Add changes: (hlc, origin, user, table, row_id, op, fields dict or None, base or None). Each
    is encoded as it is written (a long history never has all its JSON in memory at once)."""
    dbapi.executemany(LOG_INSERT, (
        (h, o, u, t, r, op, None if f is None else canonical_json(f), None if b is None else canonical_json(encode_base(b)))
        for h, o, u, t, r, op, f, b in rows)).close()


# -- rows merged into others -----------------------------------------------------------------------


def is_merge(c: Change) -> bool:
    """The change that merged its row into another (it sets ``merged_into``)."""
    return c.fields.get(MERGED_INTO) is not None


_QUIET = TOMBSTONE_COLUMNS | {MERGED_INTO}


def translate(alias: str, changes: Iterable[Change]) -> list[Change]:
    """The changes of a row merged into another, as edits of that record: its merge itself is left
    out, and its creation neither deletes nor merges the record."""
    out = []
    for c in changes:
        if is_merge(c):
            continue
        fields = c.fields
        if c.op == "insert":
            fields = {k: v for k, v in fields.items() if k not in _QUIET}
            if not fields:
                continue
        elif MERGED_INTO in fields:
            fields = {k: v for k, v in fields.items() if k != MERGED_INTO}
            if not fields:
                continue
        out.append(Change(c.hlc, c.origin, c.user, c.op, fields, c.base, alias))
    return out


def aliases(dbapi: Any, table: str, roots: Sequence[str]) -> dict[str, list[str]]:
    """The rows merged into each of ``roots`` (directly, or into a row merged into it), by root."""
    if table not in NATURAL_KEYS or not roots:
        return {}
    out: dict[str, list[str]] = {}
    frontier = {r: r for r in dict.fromkeys(roots)}  # row -> its root
    seen: set[str] = set(frontier)
    while frontier:
        nxt: dict[str, str] = {}
        for part in _chunks(list(frontier)):
            for row_id, into in _fetch(
                dbapi, f"SELECT id, merged_into FROM {table} WHERE merged_into IN ({', '.join('?' * len(part))})",
                list(part),
            ):
                if row_id in seen:  # a loop only a forged bundle makes
                    continue
                seen.add(row_id)
                root = frontier[into]
                out.setdefault(root, []).append(row_id)
                nxt[row_id] = root
        frontier = nxt
    return out


def history(dbapi: Any, table: str, row_id: str, own: Sequence[Change] | None = None) -> list[Change]:
    """The changes that make a record: its own, and those of the rows merged into it. A row merged
    into another is only its own changes (a tombstone naming the record that took its changes)."""
    changes = list(own) if own is not None else logged_changes(dbapi, table, row_id)
    if table not in NATURAL_KEYS:
        return changes
    into = _fetch(dbapi, f"SELECT merged_into FROM {table} WHERE id = ?", (row_id,))
    if into and into[0][0]:
        return changes
    merged = aliases(dbapi, table, [row_id]).get(row_id)
    if merged:
        logged = load(dbapi, table, merged)
        for alias in sorted(merged):
            changes.extend(translate(alias, logged.get(alias, ())))
    return changes
