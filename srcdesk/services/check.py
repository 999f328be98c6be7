"""`srcdesk check`: integrity, foreign keys, migration state, change-log consistency."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

from sqlalchemy import text
from sqlalchemy.exc import DatabaseError as SADatabaseError

from ..db import Database, head_revision, schema_revision
from ..models import SYNCABLE_MODELS


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
    try:
        _run(db, report)
    except SADatabaseError as exc:
        report.problems.append(f"The database file is damaged ({exc.orig}); restore it from a backup.")
    return report


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
        total = 0
        for model in SYNCABLE_MODELS:
            t = model.__tablename__
            count = conn.exec_driver_sql(f"SELECT count(*) FROM {t}").scalar_one()
            total += count
            # Every row's latest stamp must be the latest change logged for it.
            unlogged = conn.execute(
                text(
                    f"SELECT count(*) FROM {t} AS r LEFT JOIN ("
                    "  SELECT row_id, max(hlc) AS last FROM change_log WHERE table_name = :t GROUP BY row_id"
                    ") AS c ON c.row_id = r.id WHERE c.last IS NULL OR c.last <> r.updated_hlc"
                ),
                {"t": t},
            ).scalar_one()
            if unlogged:
                report.problems.append(f"Change log: {unlogged} {t} row(s) changed without a matching log entry.")
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
                report.problems.append(f"Change log: {orphans} {t} row(s) logged but missing from the table.")
            elif waiting:
                report.notes.append(f"{waiting} {t} change(s) wait for a bundle that creates their record.")
        known = {m.__tablename__ for m in SYNCABLE_MODELS}
        strays = [
            r[0] for r in conn.exec_driver_sql("SELECT DISTINCT table_name FROM change_log").fetchall()
            if r[0] not in known
        ]
        if strays:
            report.problems.append(f"Change log names unknown tables: {', '.join(sorted(strays))}.")
        waiting = conn.exec_driver_sql("SELECT count(*) FROM sync_waiting").scalar_one() if has_waiting else 0
        if waiting:
            report.notes.append(f"{waiting} record(s) wait for a bundle with the records they refer to.")
        changes = conn.exec_driver_sql("SELECT count(*) FROM change_log").scalar_one()
        report.notes.append(f"{total} records, {changes} logged changes, schema {current}.")


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
