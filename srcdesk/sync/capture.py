"""Change capture: every write to a syncable table is stamped and logged, or refused.

Three pieces make this a property of the storage rather than a matter of discipline:

1. ``before_flush`` on every ORM session made by :mod:`srcdesk.db` stamps new and changed
   syncable rows (id, origin, HLC, user) and turns physical deletes into an error;
   ``after_flush`` writes the change-log rows in the same transaction.
2. ``before_cursor_execute`` on the engine refuses any INSERT/UPDATE/DELETE on a syncable
   table that does not come from that flush (or from :func:`bulk_insert`, which logs
   its own changes): a Core ``update()`` or a hand-written SQL statement cannot slip past.
3. ``srcdesk check`` verifies afterwards that every row's latest stamp is in the log.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
import sqlite3
import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from sqlalchemy import event, inspect
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session as OrmSession

from ..ids import new_id
from ..models import SYNCABLE_TABLES, Syncable
from .changelog import content_columns, history, log, materialize
from .fold import fold
from .hlc import HybridClock

# The origin that shipped reference data is "nobody": every installation seeds the same
# rows with the same stamps, so they never conflict.
REFERENCE_ORIGIN = "00000000-0000-0000-0000-000000000000"
CAPTURE_FLAG = "srcdesk_capture"
# session.info key: {(table, row_id): {field: [versions]}} a change also overwrites (conflict resolution)
RESOLVES = "srcdesk_resolves"


class UncapturedWriteError(RuntimeError):
    """A write to a syncable table tried to bypass change capture."""


@dataclass(frozen=True)
class Actor:
    """Who is writing and where: stamped on every change."""

    installation_id: str
    user_id: str | None


def encode_value(value: Any) -> Any:
    if isinstance(value, dt.datetime):
        return value.isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    return value


_content_cache: dict[type, tuple[str, ...]] = {}
_defaults_cache: dict[type, dict[str, Any]] = {}


def _defaults(model: type[Syncable]) -> dict[str, Any]:
    found = _defaults_cache.get(model)
    if found is None:
        found = _defaults_cache[model] = {
            c.key: c.default.arg
            for c in model.__table__.columns
            if c.default is not None and c.default.is_scalar
        }
    return found


def _content(model: type[Syncable]) -> tuple[str, ...]:
    cols = _content_cache.get(model)
    if cols is None:
        cols = _content_cache[model] = tuple(content_columns(model))
    return cols


def _apply_python_defaults(obj: Syncable) -> None:
    for column in obj.__table__.columns:
        default = column.default
        if default is not None and default.is_scalar and getattr(obj, column.key) is None:
            setattr(obj, column.key, default.arg)


def _clock_of(session: OrmSession) -> HybridClock:
    clock = session.info.get("clock")
    if clock is None:
        raise UncapturedWriteError("This database session has no clock; open it through srcdesk.db.")
    return clock


def _before_flush(session: OrmSession, flush_context: Any, instances: Any) -> None:
    new = [o for o in session.new if isinstance(o, Syncable)]
    dirty = [o for o in session.dirty if isinstance(o, Syncable) and session.is_modified(o)]
    deleted = [o for o in session.deleted if isinstance(o, Syncable)]
    if deleted:
        names = ", ".join(sorted({type(o).__tablename__ for o in deleted}))
        raise UncapturedWriteError(
            f"Records are never deleted ({names}); retire them or record a deletion with a reason."
        )
    if not new and not dirty:
        return
    actor: Actor | None = session.info.get("actor")
    if actor is None:
        raise UncapturedWriteError("A change was made without saying who made it; use the services.")
    hlc = _clock_of(session).now()
    changes = session.info.setdefault("pending_changes", [])
    for obj in new:
        _apply_python_defaults(obj)
        if obj.id is None:
            obj.id = new_id()
        if obj.origin_id is None:
            obj.origin_id = actor.installation_id
        obj.created_hlc = obj.updated_hlc = hlc
        obj.created_by = obj.updated_by = actor.user_id
        # Logged without its values: they are the row's own until it changes (see sync.changelog).
        # (its user too: the row's created_by)
        changes.append((hlc, actor.installation_id, None, obj.__tablename__, obj.id, "insert", None, None))
    dbapi = session.connection().connection.driver_connection if dirty else None
    for obj in dirty:
        state = inspect(obj)
        fields = {}
        for key in _content(type(obj)):
            hist = state.attrs[key].history
            if hist.added or hist.deleted:
                fields[key] = encode_value(getattr(obj, key))
        if not fields:
            continue
        # The row is about to change: its insert's values go into the log first (they are still
        # the row's, in the database, until this flush writes).
        materialize(dbapi, obj.__tablename__, [obj.id])
        known = fold(history(dbapi, obj.__tablename__, obj.id))
        if "deleted_hlc" in fields and obj.deleted_hlc is not None:
            obj.deleted_hlc = hlc
            obj.deleted_by = actor.user_id
            fields.update(deleted_hlc=hlc, deleted_by=actor.user_id)
            op = "delete"
            # A delete overwrites the whole row as this installation holds it: every head.
            base = dict(known.heads) if known else None
        else:
            op = "update"
            base = {f: [known.versions[f]] for f in fields if f in known.versions} if known else None
        # Resolving a conflict: the change overwrites every head it names, not just the winner.
        extra = session.info.get(RESOLVES, {}).get((obj.__tablename__, obj.id))
        if extra:
            base = dict(base or {})
            for f, versions in extra.items():
                base[f] = sorted({*base.get(f, ()), *versions})
        obj.updated_hlc = hlc
        obj.updated_by = actor.user_id
        changes.append((hlc, actor.installation_id, actor.user_id, obj.__tablename__, obj.id, op, fields, base))
    session.connection().info[CAPTURE_FLAG] = True


def _after_flush(session: OrmSession, flush_context: Any) -> None:
    changes = session.info.pop("pending_changes", None)
    if not changes:
        return
    conn = session.connection()
    dbapi = conn.connection.driver_connection
    _write_log(dbapi, changes, _clock_of(session))
    _refresh_conflicts(dbapi, changes)
    _release_held(dbapi, changes)


def _refresh_conflicts(dbapi: Any, changes: Sequence[tuple]) -> None:
    """A local edit or delete of a record in the conflict queue may settle (a delete overwrites
    every value) or change what the queue shows: fold the record again, as a merge would."""
    touched = {(c[3], c[4]) for c in changes if c[5] != "insert"}
    if not touched:
        return
    cur = dbapi.execute("SELECT DISTINCT table_name, row_id FROM sync_conflict")
    try:
        held = set(cur.fetchall())
    finally:
        cur.close()
    if not held & touched:
        return
    from .conflicts import store_conflicts

    now = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    for table, row_id in held & touched:
        store_conflicts(dbapi, table, row_id, fold(history(dbapi, table, row_id)).conflicts, now)


def _release_held(dbapi: Any, changes: Sequence[tuple]) -> None:
    """A record held back by a merge (changes from elsewhere that can't be written yet) that was
    just edited here: the edit may have fixed what held it, so try to write its fold. If it still
    can't be written, the record keeps waiting (the edit is logged; the next import tries again)."""
    touched = {(c[3], c[4]) for c in changes if c[5] != "insert"}
    if not touched:
        return
    cur = dbapi.execute("SELECT table_name, row_id FROM sync_waiting")
    try:
        held = set(cur.fetchall())
    finally:
        cur.close()
    if not held & touched:
        return
    from .merge import try_release

    now = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    for table, row_id in sorted(held & touched):
        try_release(dbapi, table, row_id, now)


def _after_flush_postexec(session: OrmSession, flush_context: Any) -> None:
    if session.in_transaction():
        session.connection().info.pop(CAPTURE_FLAG, None)


def _after_rollback(session: OrmSession) -> None:
    session.info.pop("pending_changes", None)


def _write_log(dbapi_conn: Any, changes: Sequence[tuple], clock: HybridClock) -> None:
    log(dbapi_conn, changes)
    save_clock(dbapi_conn, clock)


def save_clock(dbapi_conn: Any, clock: HybridClock) -> None:
    """Store the clock, never below what is stored: another process with this data (the app and a
    command, before the data folder's lock, or an older srcdesk) may have stamped further on. Only
    a clock repair moves the stored clock back (srcdesk.sync.restamp). This process's clock then
    goes on from the stored one if that was further on."""
    stored = dbapi_conn.execute(
        "INSERT INTO local_state (key, value) VALUES ('hlc', ?) "
        "ON CONFLICT (key) DO UPDATE SET value = "
        "MAX(CAST(local_state.value AS INTEGER), CAST(excluded.value AS INTEGER)) "
        "RETURNING value",
        (str(clock.last),),
    ).fetchone()
    if stored is not None:
        clock.observe(int(stored[0]))


def install_session_hooks(session_class: type[OrmSession]) -> None:
    event.listen(session_class, "before_flush", _before_flush)
    event.listen(session_class, "after_flush", _after_flush)
    event.listen(session_class, "after_flush_postexec", _after_flush_postexec)
    event.listen(session_class, "after_rollback", _after_rollback)
    event.listen(session_class, "after_begin", _note_begin)
    event.listen(session_class, "before_commit", _before_commit)
    event.listen(session_class, "after_commit", _after_commit)
    event.listen(session_class, "after_rollback", _forget_written)


_WRITE = re.compile(
    r"^\s*(?:INSERT|REPLACE|UPDATE|DELETE)\b(?:\s+OR\s+\w+)?(?:\s+INTO|\s+FROM)?\s+[\"`\[]?(\w+)",
    re.IGNORECASE,
)

# -- telling others what a transaction wrote ----------------------------------------------------
#
# Every connection records the tables its statements write (SQLite's trace callback sees every
# statement, the ORM's and the raw ones of bulk_insert and the merge alike). A session notes the
# connections of its transaction; once it has committed, the watchers (the UI's data bus) are told
# which tables it wrote. Writes by another process are not seen here: DataVersion tells them.

log_ = logging.getLogger(__name__)
WRITTEN = "srcdesk_written"  # connection info: the tables written since its transaction began
_WATCHED = "srcdesk_watched"  # session info: the WRITTEN sets of its transaction's connections
_NOTE = "srcdesk_note"  # connection info: its trace callback, set while commits are watched
_TRACING = "srcdesk_tracing"  # connection info: whether the callback is set now


class CommitWatcher(Protocol):
    def before_commit(self) -> None:
        """Called in the committing thread just before a transaction commits."""

    def committed(self, tables: frozenset[str]) -> None:
        """Called in the committing thread once a transaction that wrote ``tables`` has committed."""


_watchers: list[CommitWatcher] = []
_watchers_lock = threading.Lock()


def watch_commits(watcher: CommitWatcher) -> Callable[[], None]:
    """Tell ``watcher`` about every commit of this process; returns the function that stops it."""
    with _watchers_lock:
        _watchers.append(watcher)

    def stop() -> None:
        with _watchers_lock:
            if watcher in _watchers:
                _watchers.remove(watcher)

    return stop


def _current_watchers() -> list[CommitWatcher]:
    with _watchers_lock:
        return list(_watchers)


def install_write_watch(engine: Engine) -> None:
    """Make every connection of ``engine`` record the tables it writes."""

    @event.listens_for(engine, "connect")
    def _trace(dbapi_conn, record):  # noqa: ANN001
        written: set[str] = set()
        record.info[WRITTEN] = written

        def note(statement: str) -> None:
            m = _WRITE.match(statement)
            if m:
                written.add(m.group(1).lower())

        record.info[_NOTE] = note
        record.info[_TRACING] = bool(_current_watchers())
        dbapi_conn.set_trace_callback(note if record.info[_TRACING] else None)


def _note_begin(session: OrmSession, transaction: Any, connection: Any) -> None:
    written = connection.info.get(WRITTEN)
    if written is not None:
        written.clear()
        session.info.setdefault(_WATCHED, []).append(written)
        # Tracing costs about a microsecond a statement (SQLite expands each one for the callback:
        # ~10 % of a large import), so a connection traces only while someone watches commits (the
        # app's data bus); the command line, with nobody watching, does not pay for it.
        watched = bool(_current_watchers())
        if connection.info.get(_TRACING) is not watched:
            connection.connection.driver_connection.set_trace_callback(connection.info[_NOTE] if watched else None)
            connection.info[_TRACING] = watched


def _before_commit(session: OrmSession) -> None:
    for watcher in _current_watchers():
        try:
            watcher.before_commit()
        except Exception:  # a watcher must never stop a commit
            log_.exception("a commit watcher failed before a commit")


def _after_commit(session: OrmSession) -> None:
    sets = session.info.pop(_WATCHED, [])
    tables = frozenset().union(*sets)
    for written in sets:
        written.clear()
    if not tables:
        return
    for watcher in _current_watchers():
        try:
            watcher.committed(tables)
        except Exception:
            log_.exception("a commit watcher failed after a commit")


def _forget_written(session: OrmSession) -> None:
    for written in session.info.pop(_WATCHED, []):
        written.clear()


class DataVersion:
    """Tells whether another process (a CLI import while the app is open) committed to the database.

    SQLite's ``PRAGMA data_version`` on a connection of its own changes whenever any other
    connection commits, this process's included; this process's own commits are read off as they
    happen (:meth:`before_commit`, :meth:`committed`, as a :class:`CommitWatcher`), so :meth:`poll`
    answers True only for commits from elsewhere. Not thread-bound: call it off the UI thread.
    """

    def __init__(self, path: Path) -> None:
        # (as_uri: "file:///C:/…" on Windows, where "file:C:\…" is no URI; spaces and "?" escaped)
        self._conn = sqlite3.connect(f"{Path(path).resolve().as_uri()}?mode=ro", uri=True,
                                     check_same_thread=False, isolation_level=None)
        self._lock = threading.Lock()
        self._known = self._read()
        self._outside = False
        self._stop = watch_commits(self)

    def _read(self) -> int:
        return int(self._conn.execute("PRAGMA data_version").fetchone()[0])

    def before_commit(self) -> None:
        with self._lock:
            if self._conn is not None and self._read() != self._known:
                self._outside = True  # someone else committed since we last looked

    def committed(self, tables: frozenset[str]) -> None:
        with self._lock:
            if self._conn is not None:
                self._known = self._read()

    def poll(self) -> bool:
        """True if another process committed since the last poll."""
        with self._lock:
            if self._conn is None:
                return False
            version = self._read()
            changed = self._outside or version != self._known
            self._known, self._outside = version, False
            return changed

    def close(self) -> None:
        self._stop()
        with self._lock:
            if self._conn is not None:
                self._conn.close()
                self._conn = None


def install_engine_guard(engine: Engine) -> None:
    @event.listens_for(engine, "before_cursor_execute")
    def _guard(conn, cursor, statement, parameters, context, executemany):  # noqa: ANN001
        m = _WRITE.match(statement)
        if m and m.group(1).lower() in SYNCABLE_TABLES and not conn.info.get(CAPTURE_FLAG):
            raise UncapturedWriteError(
                f"Refused a write to {m.group(1)} that bypasses change capture; use the services."
            )

    @event.listens_for(engine, "checkin")
    def _reset(dbapi_conn, record):  # noqa: ANN001
        record.info.pop(CAPTURE_FLAG, None)


def bulk_insert(
    session: OrmSession, model: type[Syncable], rows: Iterable[Mapping[str, Any]], actor: Actor,
    *, origin_id: str | None = None, hlc: int | None = None,
) -> int:
    """Insert many new rows fast, logging each one exactly as the ORM hook would.

    Rows are dicts of content columns (``id`` optional). Values must be plain: str, int,
    float, bool, None, ``datetime.date``. Used for demo data, imports and reference data.
    Returns the number of rows inserted.
    """
    rows = list(rows)
    if not rows:
        return 0
    clock = _clock_of(session)
    cols = _content(model)
    defaults = _defaults(model)
    origin = origin_id or actor.installation_id
    first = hlc if hlc is not None else clock.reserve(len(rows))
    user = actor.user_id
    table = model.__tablename__
    all_cols = ("id", "origin_id", "created_hlc", "created_by", "updated_hlc", "updated_by", *cols)
    data_rows = []
    log_rows = []
    for i, row in enumerate(rows):
        stamp = first if hlc is not None else first + i
        row_id = row.get("id") or new_id()
        values = [encode_value(row.get(c, defaults.get(c))) for c in cols]
        data_rows.append((row_id, origin, stamp, user, stamp, user, *values))
        log_rows.append((stamp, origin, table, row_id))  # the values and user are the row's (sync.changelog)
    dbapi = session.connection().connection.driver_connection
    placeholders = ", ".join("?" * len(all_cols))
    dbapi.executemany(f"INSERT INTO {table} ({', '.join(all_cols)}) VALUES ({placeholders})", data_rows)
    dbapi.executemany(
        "INSERT INTO change_log (hlc, origin_id, table_name, row_id, op) VALUES (?, ?, ?, ?, 'insert')",
        log_rows,
    )
    save_clock(dbapi, clock)
    return len(rows)
