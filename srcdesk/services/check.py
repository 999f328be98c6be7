"""`srcdesk check`: integrity, foreign keys, migration state, change-log consistency, and that the
data's files are the owner's only."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import text
from sqlalchemy.exc import DatabaseError as SADatabaseError

from ..db import Database, head_revision, schema_revision
from ..models import NATURAL_KEYS, SYNCABLE_MODELS, stats
from ..paths import open_to
from ..words import plural
from .certificates import serial_clashes


@dataclass
class CheckReport:
    problems: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def run_check(db: Database) -> CheckReport:
    """Every problem found, as sentences; damage that stops the check is a problem too."""
    report = CheckReport()
    _check_private(db, report)
    try:
        _run(db, report)
    except SADatabaseError as exc:
        report.problems.append(f"The database file is damaged ({exc.orig}); restore it from a backup.")
    return report


def _check_private(db: Database, report: CheckReport) -> None:
    """The data folder's files are the owner's only (POSIX; on Windows the user profile is)."""
    loose = open_to(db.data_dir)
    if loose:
        names = ", ".join(str(p.relative_to(db.data_dir)) if p != db.data_dir else "the data folder itself"
                          for p in loose[:5])
        more = f" and {len(loose) - 5} more" if len(loose) > 5 else ""
        report.problems.append(
            f"{plural(len(loose), 'file or folder', 'files or folders')} of the data can be read by other users of "
            f"this PC ({names}{more}): "
            "signing in to srcdesk makes them private again.")


def _run(db: Database, report: CheckReport) -> None:
    with db.engine.connect() as conn:
        rows = [r[0] for r in conn.exec_driver_sql("PRAGMA integrity_check").fetchall()]
        if rows != ["ok"]:
            report.problems += [f"SQLite integrity: {r}" for r in rows[:20]]
        for table, rowid, parent, _fk in conn.exec_driver_sql("PRAGMA foreign_key_check").fetchall()[:20]:
            report.problems.append(f"Broken reference: {table} row {rowid} points to a missing {parent} row.")
        current, head = schema_revision(db.engine), head_revision()
        if current != head:
            report.problems.append(f"Schema is at {current}, this srcdesk expects {head}: open it once to migrate.")
        selves = conn.exec_driver_sql("SELECT count(*) FROM installation WHERE is_self").scalar_one()
        if selves != 1:
            report.problems.append(f"Expected one installation record for this PC, found {selves}.")
        has_waiting = conn.exec_driver_sql(
            "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'sync_waiting'").scalar_one()
        not_waiting = ("AND NOT EXISTS (SELECT 1 FROM sync_waiting AS w WHERE w.table_name = :t AND w.row_id = c.row_id)"
                       if has_waiting else "")
        row_not_waiting = ("AND NOT EXISTS (SELECT 1 FROM sync_waiting AS w WHERE w.table_name = :t AND w.row_id = r.id)"
                           if has_waiting else "")
        raw = conn.connection.driver_connection
        total = 0
        for model in SYNCABLE_MODELS:
            t = model.__tablename__
            count = conn.exec_driver_sql(f"SELECT count(*) FROM {t}").scalar_one()
            total += count
            # Every row's latest stamp must be the latest change of its record: its own, and those of
            # the rows merged into it. A record held back (its new state can't be written yet) keeps
            # its last good state, so it is left out.
            stale = [r[0] for r in conn.execute(
                text(
                    f"SELECT r.id FROM {t} AS r LEFT JOIN ("
                    "  SELECT row_id, max(hlc) AS last FROM change_log WHERE table_name = :t GROUP BY row_id"
                    f") AS c ON c.row_id = r.id WHERE (c.last IS NULL OR c.last <> r.updated_hlc) {row_not_waiting}"
                ),
                {"t": t},
            )]
            if stale and t in NATURAL_KEYS:
                stale = [row_id for row_id in stale if not _stamped_by_merged_rows(raw, t, row_id)]
            if stale:
                report.problems.append(f"Change log: {plural(len(stale), t + ' row')} changed without a matching log entry.")
            # A row whose creation is logged must exist. Changes to a row whose creation has not
            # arrived yet (a later bundle imported before an earlier one) wait in the log.
            orphans, waiting = conn.execute(
                text(
                    "SELECT count(DISTINCT CASE WHEN c.op = 'insert' THEN row_id END), count(DISTINCT row_id) "
                    "FROM change_log AS c WHERE table_name = :t "
                    f"AND NOT EXISTS (SELECT 1 FROM {t} AS r WHERE r.id = c.row_id) {not_waiting}"
                ),
                {"t": t},
            ).one()
            if orphans:
                report.problems.append(f"Change log: {plural(orphans, t + ' row')} logged but missing from the table.")
            elif waiting:
                report.notes.append(f"{t.capitalize()} changes that wait for a bundle that creates their record: {waiting}.")
            # An insert logged without its values (sync.changelog) is the only change of a row that
            # still holds them: stamped by that insert, with no record merged into it.
            merged = (f"OR EXISTS (SELECT 1 FROM {t} AS a WHERE a.merged_into = c.row_id)"
                      if t in NATURAL_KEYS else "")
            unvalued = conn.execute(
                text(
                    "SELECT count(*) FROM change_log AS c WHERE c.table_name = :t AND c.fields IS NULL AND ("
                    f"c.op <> 'insert' OR NOT EXISTS (SELECT 1 FROM {t} AS r WHERE r.id = c.row_id "
                    "AND r.created_hlc = c.hlc AND r.updated_hlc = c.hlc AND r.origin_id = c.origin_id) "
                    "OR EXISTS (SELECT 1 FROM change_log AS d WHERE d.table_name = c.table_name "
                    f"AND d.row_id = c.row_id AND d.seq <> c.seq) {merged})"
                ),
                {"t": t},
            ).scalar_one()
            if unvalued:
                report.problems.append(
                    f"Change log: {plural(unvalued, t + ' change')} logged without their values while their row "
                    "does not hold them.")
            drifted = _content_drift(raw, t, has_waiting)
            if drifted:
                report.problems.append(
                    f"Change log: {plural(drifted, t + ' row')} changed outside srcdesk (values no logged change "
                    "wrote); restore a backup, or ask for help.")
        known = {m.__tablename__ for m in SYNCABLE_MODELS}
        strays = [
            r[0] for r in conn.exec_driver_sql("SELECT DISTINCT table_name FROM change_log").fetchall()
            if r[0] not in known
        ]
        if strays:
            report.problems.append(f"Change log names unknown tables: {', '.join(sorted(strays))}.")
        if has_waiting:
            waiting, held = conn.exec_driver_sql(
                "SELECT count(*) FILTER (WHERE NOT here), count(*) FILTER (WHERE here) FROM ("
                + " UNION ALL ".join(
                    f"SELECT w.row_id, EXISTS (SELECT 1 FROM {m.__tablename__} AS r WHERE r.id = w.row_id) AS here "
                    f"FROM sync_waiting AS w WHERE w.table_name = '{m.__tablename__}'" for m in SYNCABLE_MODELS)
                + ")").one()
            if waiting:
                report.notes.append(f"Records that wait for a bundle with the records they refer to: {waiting}.")
            if held:
                report.notes.append(
                    "Records that stay as they were, as changes that arrived for them can't be applied yet (see "
                    f"the bundle history; each import tries again): {held}.")
        report.notes += [clash.note for clash in serial_clashes(conn)]
        if current == head:
            report.problems += stats.verify(raw)
        changes = conn.exec_driver_sql("SELECT count(*) FROM change_log").scalar_one()
        report.notes.append(f"{plural(total, 'record')}, {plural(changes, 'logged change')}, schema {current}.")


def rebuild_summaries(db: Database) -> None:
    """Make the dashboard's summary tables afresh from the records (``srcdesk check
    --rebuild-summaries``); they are derived, so nothing is lost."""
    with db.engine.begin() as conn:
        stats.rebuild(conn.connection.driver_connection)


def database_digest(db: Database) -> str:
    """SHA-256 over every row of every table, in a stable order: two digests are equal only if
    the data is. Proves that a refused import changed nothing, and compares installations."""
    digest = hashlib.sha256()
    with db.engine.connect() as conn:
        raw = conn.connection.driver_connection
        tables = [r[0] for r in raw.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name")]
        for table in tables:
            digest.update(table.encode())
            for row in sorted(raw.execute(f"SELECT * FROM {table}").fetchall(), key=repr):
                digest.update(repr(row).encode())
    return digest.hexdigest()


def _stamped_by_merged_rows(raw: object, table: str, row_id: str) -> bool:
    """Whether a record's stamp is the latest change of its history, counting the rows merged
    into it (their changes are its edits)."""
    from ..sync.changelog import history
    from ..sync.fold import fold

    changes = history(raw, table, row_id)
    if not changes:
        return False
    stamp = raw.execute(f"SELECT updated_hlc FROM {table} WHERE id = ?", (row_id,)).fetchone()
    return stamp is not None and fold(changes).last.hlc == stamp[0]


def _content_drift(raw: Any, table: str, has_waiting: bool) -> int:
    """How many rows of ``table`` differ from the fold of their logged changes.

    What can be compared: every row the log holds values for, that is every row changed since
    it was made, every row that came in a bundle with its values, and every record that rows were
    merged into (their changes are its edits). The fold of those changes (:func:`sync.fold.fold`)
    is what the row must hold, column by column. A row never changed since it was made is logged
    without its values (the lean log, :mod:`srcdesk.sync.changelog`): the log has no second copy
    to compare it with, so an edit of such a row that leaves its stamps alone is not seen here
    (one that changes a stamp is: see the stamp check). Records held back by sync (they keep
    their last good state on purpose) are left out.

    Cost: a row whose one change is its insert, logged with its values, is compared in SQL
    (``json_extract``, one pass); the others (edited rows, merged records) are folded in Python.
    ``python -m bench --only check`` measures both against a plain read of the same rows.
    """
    from ..sync.changelog import CONTENT, _chunks, history, load, read_rows
    from ..sync.fold import fold

    columns = CONTENT[table]
    not_held = ("AND NOT EXISTS (SELECT 1 FROM sync_waiting AS w WHERE w.table_name = :t AND w.row_id = c.row_id)"
                if has_waiting else "")
    no_aliases = (f"AND NOT EXISTS (SELECT 1 FROM {table} AS a WHERE a.merged_into = r.id)"
                  if table in NATURAL_KEYS else "")
    differs = " OR ".join(
        f"(json_type(c.fields, '$.\"{col}\"') IS NOT NULL AND json_extract(c.fields, '$.\"{col}\"') IS NOT r.\"{col}\")"
        for col in columns)
    drifted = raw.execute(
        f"SELECT count(*) FROM change_log AS c JOIN {table} AS r ON r.id = c.row_id "
        "WHERE c.table_name = :t AND c.op = 'insert' AND c.fields IS NOT NULL "
        "AND NOT EXISTS (SELECT 1 FROM change_log AS d WHERE d.table_name = c.table_name AND d.row_id = c.row_id "
        f"AND d.seq <> c.seq) {no_aliases} {not_held} AND ({differs})",
        {"t": table}).fetchone()[0]
    folded = [r[0] for r in raw.execute(
        "SELECT c.row_id FROM change_log AS c WHERE c.table_name = :t "
        f"{not_held} GROUP BY c.row_id HAVING max(c.fields IS NOT NULL) AND (count(*) > 1 OR max(c.op <> 'insert'))",
        {"t": table})]
    roots = set()  # records other rows were merged into: their history has those rows' changes too
    if table in NATURAL_KEYS:
        roots = {r[0] for r in raw.execute(f"SELECT DISTINCT merged_into FROM {table} WHERE merged_into IS NOT NULL")}
        folded += sorted(roots)
    if has_waiting and table in NATURAL_KEYS:
        held = {r[0] for r in raw.execute("SELECT row_id FROM sync_waiting WHERE table_name = ?", (table,))}
        folded = [i for i in folded if i not in held]
    for part in _chunks(list(dict.fromkeys(folded))):
        rows = read_rows(raw, table, part)
        logged = load(raw, table, list(rows), rows)
        for row_id, row in rows.items():
            own = logged.get(row_id)
            changes = history(raw, table, row_id, own or []) if row_id in roots else own
            if not changes:
                continue  # a row with no logged change: the stamp check reports it
            values = fold(changes).values
            if any(c in values and values[c] != row[c] for c in columns):
                drifted += 1
    return drifted
