"""Summary tables for the national picture (this installation only, never synced, rebuilt from the
records at any time): what the dashboard's figures are summed from, so that its first paint does
not count a decade of register entries.

* ``stat_attendance``: for each quarter, establishment (where the session was held) and person,
  their counted attendances there and the first and last day of them;
* ``stat_count``: for each quarter and establishment, small counts by ``kind``: ``session``
  (held sessions by module or activity type id, the ``key``), ``minutes`` (facilitator minutes
  by role), ``signoff`` (active achievements dated in the quarter, by level), ``issued`` and
  ``revoked`` (certificates). Ladder and certificate rows name the establishment the person was
  at on the day (``''``: none);
* ``stat_achievement``: each active achievement, its quarter and the establishment it counts at;
* ``stat_dirty``: the (kind, quarter, establishment) cells a write has made out of date.

How they are kept right: SQLite triggers on every table a figure is counted from (so every way a
row is written — the services, a bundle's merge, bulk inserts — marks its cells dirty), and
:func:`refresh`, which recounts the dirty cells from the records in the same transaction, just
before it commits (a hook on every ORM session, :mod:`srcdesk.db`). A reader that finds a dirty
cell (something wrote without committing through an ORM session) counts from the records instead
(:func:`ready`), so a figure is never stale. ``srcdesk check`` recounts everything and compares
(:func:`verify`); :func:`rebuild` (``srcdesk check --rebuild-summaries``) makes them afresh.

The rules they count by are those of :mod:`srcdesk.reports.indicators` (its docstring).
"""

from __future__ import annotations

import datetime as dt
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Date, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from .base import Base


class StatAttendance(Base):
    __tablename__ = "stat_attendance"
    __table_args__ = (
        Index("ix_stat_attendance_person", "person_id", "first_date"),
        {"sqlite_with_rowid": False},
    )

    quarter: Mapped[str] = mapped_column(String(10), primary_key=True)  # its first day, "2025-04-01"
    establishment_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    person_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    attended: Mapped[int] = mapped_column(Integer)
    first_date: Mapped[dt.date] = mapped_column(Date)
    last_date: Mapped[dt.date] = mapped_column(Date)


class StatCount(Base):
    __tablename__ = "stat_count"
    __table_args__ = ({"sqlite_with_rowid": False},)

    kind: Mapped[str] = mapped_column(String(10), primary_key=True)
    quarter: Mapped[str] = mapped_column(String(10), primary_key=True)
    establishment_id: Mapped[str] = mapped_column(String(36), primary_key=True)  # '' : none
    key: Mapped[str] = mapped_column(String(36), primary_key=True)
    n: Mapped[int] = mapped_column(Integer)


class StatAchievement(Base):
    """Each active achievement with the establishment it counts at (the sign-offs behind a number)."""

    __tablename__ = "stat_achievement"
    __table_args__ = (
        Index("ix_stat_achievement_day", "achieved_on", "achievement_id"),
        Index("ix_stat_achievement_establishment", "establishment_id", "achieved_on", "achievement_id"),
        {"sqlite_with_rowid": False},
    )

    achievement_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    quarter: Mapped[str] = mapped_column(String(10), index=True)
    establishment_id: Mapped[str] = mapped_column(String(36))  # '' : none
    achieved_on: Mapped[dt.date] = mapped_column(Date)


class StatDirty(Base):
    __tablename__ = "stat_dirty"
    __table_args__ = ({"sqlite_with_rowid": False},)

    kind: Mapped[str] = mapped_column(String(10), primary_key=True)  # session | ladder | cert
    quarter: Mapped[str] = mapped_column(String(10), primary_key=True)
    establishment_id: Mapped[str] = mapped_column(String(36), primary_key=True)  # '' : every one


# -- the rules, as SQL (shared with srcdesk.reports.indicators) ---------------------------------

def quarter_of(day: str) -> str:
    """SQL: the first day of the (calendar, so also plan-year) quarter of a date column."""
    return f"printf('%s-%02d-01', substr({day}, 1, 4), (CAST(substr({day}, 6, 2) AS INTEGER) - 1) / 3 * 3 + 1)"


COUNTED = ("a.deleted_hlc IS NULL AND a.status_id IN "
           "(SELECT id FROM attendance_status WHERE counts_as_attended = 1)")
HELD = "s.deleted_hlc IS NULL AND s.cancelled = 0"
# Facilitator hours: a person's kind -> the role their hours count under (anything else: staff).
HOURS_ROLES = {
    "sps_staff": "staff", "healthcare_staff": "staff", "src_staff": "staff",
    "prisoner": "peer",
    "third_sector_staff": "third_sector", "community_member": "third_sector",
}
ROLE_SQL = ("CASE p.kind " + " ".join(f"WHEN '{k}' THEN '{r}'" for k, r in HOURS_ROLES.items())
            + " ELSE 'staff' END")
MINUTES = ("((CAST(substr(s.end_time, 1, 2) AS INTEGER) * 60 + CAST(substr(s.end_time, 4, 2) AS INTEGER))"
           " - (CAST(substr(s.start_time, 1, 2) AS INTEGER) * 60 + CAST(substr(s.start_time, 4, 2) AS INTEGER)))")


def est_on(person: str, day: str) -> str:
    """SQL: the establishment ``person`` (a column naming a person id) was at on ``day`` (a date
    column): the destination of their last transfer on or before it; before their first transfer,
    where that one moved them from; no transfers: where they are now."""
    live = f"t.person_id = {person} AND t.deleted_hlc IS NULL"
    return (f"(CASE WHEN EXISTS (SELECT 1 FROM person_transfer t WHERE {live} AND t.transferred_on <= {day}) "
            f"THEN (SELECT t.to_establishment_id FROM person_transfer t WHERE {live} AND t.transferred_on <= {day} "
            "ORDER BY t.transferred_on DESC, t.created_hlc DESC LIMIT 1) "
            f"WHEN EXISTS (SELECT 1 FROM person_transfer t WHERE {live}) "
            f"THEN (SELECT t.from_establishment_id FROM person_transfer t WHERE {live} "
            "ORDER BY t.transferred_on, t.created_hlc LIMIT 1) "
            f"ELSE (SELECT p.establishment_id FROM person p WHERE p.id = {person}) END)")


def cert_est(day: str) -> str:
    """SQL: where certificate ``c`` counts: the establishment that issued it, else (issued at the
    office) where its person was on ``day``."""
    return f"coalesce(c.establishment_id, {est_on('c.person_id', day)})"


# -- recounting ----------------------------------------------------------------------------------
# Each SELECT makes the rows of one kind, for the cells its WHERE keeps: ``{cell}`` is replaced by
# a condition on the session / achievement / certificate (one cell, or everything).

_ATTENDANCE = (
    f"SELECT {quarter_of('s.date')} AS q, s.establishment_id, a.person_id, count(*), min(s.date), max(s.date) "
    f"FROM session s JOIN attendance a ON a.session_id = s.id WHERE {HELD} AND {COUNTED} AND {{cell}} "
    "GROUP BY q, s.establishment_id, a.person_id")
_SESSIONS = (
    f"SELECT 'session', {quarter_of('s.date')} AS q, s.establishment_id, "
    "coalesce(s.module_id, s.activity_type_id) AS what, count(*) "
    f"FROM session s WHERE {HELD} AND {{cell}} GROUP BY q, s.establishment_id, what")
_MINUTES = (
    f"SELECT 'minutes', {quarter_of('s.date')} AS q, s.establishment_id, {ROLE_SQL} AS role, sum({MINUTES}) "
    "FROM session s JOIN session_facilitator f ON f.session_id = s.id AND f.deleted_hlc IS NULL "
    f"JOIN person p ON p.id = f.person_id WHERE {HELD} AND {{cell}} GROUP BY q, s.establishment_id, role")
_SIGNOFFS = (
    f"SELECT 'signoff', {quarter_of('m.achieved_on')} AS q, coalesce({est_on('m.person_id', 'm.achieved_on')}, '') "
    "AS est, m.definition_id, count(*) FROM milestone_achievement m "
    "WHERE m.deleted_hlc IS NULL AND m.status = 'active' AND {cell} GROUP BY q, est, m.definition_id")
_ACHIEVEMENTS = (
    f"SELECT m.id, {quarter_of('m.achieved_on')}, coalesce({est_on('m.person_id', 'm.achieved_on')}, ''), "
    "m.achieved_on FROM milestone_achievement m WHERE m.deleted_hlc IS NULL AND m.status = 'active' AND {cell}")
_ISSUED = (
    f"SELECT 'issued', {quarter_of('c.issued_on')} AS q, coalesce({cert_est('c.issued_on')}, '') AS est, '', "
    "count(*) FROM certificate c WHERE c.deleted_hlc IS NULL AND c.supersedes_id IS NULL AND {cell} "
    "GROUP BY q, est")
_REVOKED = (
    f"SELECT 'revoked', {quarter_of('c.status_changed_on')} AS q, "
    f"coalesce({cert_est('c.status_changed_on')}, '') AS est, '', count(*) FROM certificate c "
    "WHERE c.deleted_hlc IS NULL AND c.status = 'revoked' AND c.status_changed_on IS NOT NULL AND {cell} "
    "GROUP BY q, est")

_COUNT_COLUMNS = "(kind, quarter, establishment_id, key, n)"
_ATT_COLUMNS = "(quarter, establishment_id, person_id, attended, first_date, last_date)"
_ACH_COLUMNS = "(achievement_id, quarter, establishment_id, achieved_on)"
EVERYTHING = "1 = 1"


def _quarter_end(quarter: str) -> str:
    start = dt.date.fromisoformat(quarter)
    month = start.month + 3
    after = dt.date(start.year + (month - 1) // 12, (month - 1) % 12 + 1, 1)
    return (after - dt.timedelta(days=1)).isoformat()


def _recount(raw: sqlite3.Connection, kind: str, quarter: str, est: str) -> None:
    """Recount one dirty cell from the records."""
    span = {"q": quarter, "qend": _quarter_end(quarter), "e": est}
    if kind == "session":
        cell = "s.establishment_id = :e AND s.date BETWEEN :q AND :qend"
        raw.execute("DELETE FROM stat_attendance WHERE quarter = :q AND establishment_id = :e", span)
        raw.execute(f"INSERT INTO stat_attendance {_ATT_COLUMNS} {_ATTENDANCE.format(cell=cell)}", span)
        raw.execute("DELETE FROM stat_count WHERE kind IN ('session', 'minutes') AND quarter = :q "
                    "AND establishment_id = :e", span)
        for sql in (_SESSIONS, _MINUTES):
            raw.execute(f"INSERT INTO stat_count {_COUNT_COLUMNS} {sql.format(cell=cell)}", span)
    elif kind == "ladder":
        raw.execute("DELETE FROM stat_achievement WHERE quarter = :q", span)
        raw.execute(f"INSERT INTO stat_achievement {_ACH_COLUMNS} "
                    f"{_ACHIEVEMENTS.format(cell='m.achieved_on BETWEEN :q AND :qend')}", span)
        raw.execute("DELETE FROM stat_count WHERE kind = 'signoff' AND quarter = :q", span)
        raw.execute(f"INSERT INTO stat_count {_COUNT_COLUMNS} SELECT 'signoff', quarter, establishment_id, "
                    "m.definition_id, count(*) FROM stat_achievement x JOIN milestone_achievement m "
                    "ON m.id = x.achievement_id WHERE x.quarter = :q GROUP BY establishment_id, m.definition_id",
                    span)
    elif kind == "cert":
        raw.execute("DELETE FROM stat_count WHERE kind IN ('issued', 'revoked') AND quarter = :q", span)
        raw.execute(f"INSERT INTO stat_count {_COUNT_COLUMNS} "
                    f"{_ISSUED.format(cell='c.issued_on BETWEEN :q AND :qend')}", span)
        raw.execute(f"INSERT INTO stat_count {_COUNT_COLUMNS} "
                    f"{_REVOKED.format(cell='c.status_changed_on BETWEEN :q AND :qend')}", span)


def refresh(raw: sqlite3.Connection) -> int:
    """Recount every dirty cell (inside the caller's transaction); how many there were."""
    try:
        dirty = raw.execute("SELECT kind, quarter, establishment_id FROM stat_dirty").fetchall()
    except sqlite3.OperationalError:  # not migrated yet (the summaries come with schema 0012)
        return 0
    for kind, quarter, est in dirty:
        _recount(raw, kind, quarter, est)
    if dirty:
        raw.execute("DELETE FROM stat_dirty")
    return len(dirty)


def ready(conn: Any) -> bool:
    """Whether the summaries are up to date (``conn``: anything with ``exec_driver_sql`` or
    ``execute`` of plain SQL)."""
    run = getattr(conn, "exec_driver_sql", None) or conn.execute
    try:
        return run("SELECT NOT EXISTS (SELECT 1 FROM stat_dirty)").scalar() == 1
    except Exception:  # noqa: BLE001 - not migrated: count from the records
        return False


def _fill(raw: sqlite3.Connection, prefix: str = "") -> None:
    raw.execute(f"INSERT INTO {prefix}stat_attendance {_ATT_COLUMNS} {_ATTENDANCE.format(cell=EVERYTHING)}")
    raw.execute(f"INSERT INTO {prefix}stat_achievement {_ACH_COLUMNS} {_ACHIEVEMENTS.format(cell=EVERYTHING)}")
    for sql in (_SESSIONS, _MINUTES, _SIGNOFFS, _ISSUED, _REVOKED):
        raw.execute(f"INSERT INTO {prefix}stat_count {_COUNT_COLUMNS} {sql.format(cell=EVERYTHING)}")


def rebuild(raw: sqlite3.Connection) -> None:
    """Make the summaries afresh from the records (inside the caller's transaction)."""
    for table in ("stat_attendance", "stat_achievement", "stat_count", "stat_dirty"):
        raw.execute(f"DELETE FROM {table}")
    _fill(raw)


def verify(raw: sqlite3.Connection) -> list[str]:
    """Recount everything and compare with the summaries: the differences, in words."""
    refresh_first = raw.execute("SELECT count(*) FROM stat_dirty").fetchone()[0]
    raw.execute("CREATE TEMP TABLE IF NOT EXISTS recount_stat_attendance AS SELECT * FROM stat_attendance WHERE 0")
    raw.execute("CREATE TEMP TABLE IF NOT EXISTS recount_stat_count AS SELECT * FROM stat_count WHERE 0")
    raw.execute("CREATE TEMP TABLE IF NOT EXISTS recount_stat_achievement AS SELECT * FROM stat_achievement WHERE 0")
    try:
        for table in ("stat_attendance", "stat_count", "stat_achievement"):
            raw.execute(f"DELETE FROM temp.recount_{table}")
        _fill(raw, "temp.recount_")
        problems = []
        for table, what in (("stat_attendance", "people's attendance by quarter"),
                            ("stat_achievement", "ladder sign-offs"),
                            ("stat_count", "sessions, hours, sign-offs and certificates by quarter")):
            differ = raw.execute(
                f"SELECT count(*) FROM (SELECT * FROM main.{table} EXCEPT SELECT * FROM temp.recount_{table} "
                f"UNION ALL SELECT * FROM temp.recount_{table} EXCEPT SELECT * FROM main.{table})").fetchone()[0]
            if differ:
                problems.append(f"The dashboard's summary of {what} differs from a recount in {differ} "
                                "places; run 'srcdesk check --rebuild-summaries' to make it afresh.")
        if refresh_first:
            problems.append(f"The dashboard's summaries have {refresh_first} parts waiting to be recounted; "
                            "run 'srcdesk check --rebuild-summaries'.")
        return problems
    finally:
        raw.execute("DROP TABLE IF EXISTS temp.recount_stat_attendance")
        raw.execute("DROP TABLE IF EXISTS temp.recount_stat_count")
        raw.execute("DROP TABLE IF EXISTS temp.recount_stat_achievement")


# -- the triggers that mark cells dirty -----------------------------------------------------------

def _mark(kind: str, day: str, est: str, source: str = "", where: str = "") -> str:
    est = est or "''"
    cond = f"{day} IS NOT NULL" + (f" AND {where}" if where else "")
    return (f"INSERT OR IGNORE INTO stat_dirty (kind, quarter, establishment_id) "
            f"SELECT '{kind}', {quarter_of(day)}, coalesce({est}, '') {source} WHERE {cond};")


def _person_records(person: str) -> str:
    """Marks for everything that counts where ``person`` was on a day (their ladder and certificates)."""
    return (_mark("ladder", "m.achieved_on", "''", "FROM milestone_achievement m", f"m.person_id = {person}")
            + _mark("cert", "c.issued_on", "''", "FROM certificate c", f"c.person_id = {person}")
            + _mark("cert", "c.status_changed_on", "''", "FROM certificate c", f"c.person_id = {person}"))


def _session_of(row: str) -> str:
    return _mark("session", "s.date", "s.establishment_id", "FROM session s", f"s.id = {row}.session_id")


TRIGGERS: dict[str, str] = {
    "trg_stat_attendance_insert": f"AFTER INSERT ON attendance BEGIN {_session_of('NEW')} END",
    "trg_stat_attendance_update": (
        "AFTER UPDATE OF session_id, person_id, status_id, deleted_hlc ON attendance BEGIN "
        f"{_session_of('OLD')} {_session_of('NEW')} END"),
    "trg_stat_attendance_delete": f"AFTER DELETE ON attendance BEGIN {_session_of('OLD')} END",
    "trg_stat_session_insert": (
        f"AFTER INSERT ON session BEGIN {_mark('session', 'NEW.date', 'NEW.establishment_id')} END"),
    "trg_stat_session_update": (
        "AFTER UPDATE OF date, establishment_id, cancelled, deleted_hlc, start_time, end_time, module_id, "
        f"activity_type_id ON session BEGIN {_mark('session', 'OLD.date', 'OLD.establishment_id')} "
        f"{_mark('session', 'NEW.date', 'NEW.establishment_id')} END"),
    "trg_stat_session_delete": (
        f"AFTER DELETE ON session BEGIN {_mark('session', 'OLD.date', 'OLD.establishment_id')} END"),
    "trg_stat_facilitator_insert": f"AFTER INSERT ON session_facilitator BEGIN {_session_of('NEW')} END",
    "trg_stat_facilitator_update": (
        "AFTER UPDATE OF session_id, person_id, deleted_hlc ON session_facilitator BEGIN "
        f"{_session_of('OLD')} {_session_of('NEW')} END"),
    "trg_stat_facilitator_delete": f"AFTER DELETE ON session_facilitator BEGIN {_session_of('OLD')} END",
    "trg_stat_person_kind": (
        "AFTER UPDATE OF kind ON person WHEN OLD.kind IS NOT NEW.kind BEGIN "
        + _mark("session", "s.date", "s.establishment_id",
                "FROM session_facilitator f JOIN session s ON s.id = f.session_id", "f.person_id = NEW.id")
        + " END"),
    "trg_stat_person_establishment": (
        "AFTER UPDATE OF establishment_id ON person WHEN OLD.establishment_id IS NOT NEW.establishment_id "
        f"BEGIN {_person_records('NEW.id')} END"),
    "trg_stat_status_counts": (
        "AFTER UPDATE OF counts_as_attended ON attendance_status "
        "WHEN OLD.counts_as_attended IS NOT NEW.counts_as_attended BEGIN "
        + _mark("session", "s.date", "s.establishment_id", "FROM session s") + " END"),
    "trg_stat_achievement_insert": (
        f"AFTER INSERT ON milestone_achievement BEGIN {_mark('ladder', 'NEW.achieved_on', '')} END"),
    "trg_stat_achievement_update": (
        "AFTER UPDATE OF achieved_on, status, deleted_hlc, person_id, definition_id ON milestone_achievement "
        f"BEGIN {_mark('ladder', 'OLD.achieved_on', '')} {_mark('ladder', 'NEW.achieved_on', '')} END"),
    "trg_stat_achievement_delete": (
        f"AFTER DELETE ON milestone_achievement BEGIN {_mark('ladder', 'OLD.achieved_on', '')} END"),
    "trg_stat_transfer_insert": f"AFTER INSERT ON person_transfer BEGIN {_person_records('NEW.person_id')} END",
    "trg_stat_transfer_update": (
        "AFTER UPDATE ON person_transfer BEGIN "
        f"{_person_records('OLD.person_id')} {_person_records('NEW.person_id')} END"),
    "trg_stat_transfer_delete": f"AFTER DELETE ON person_transfer BEGIN {_person_records('OLD.person_id')} END",
    "trg_stat_certificate_insert": (
        f"AFTER INSERT ON certificate BEGIN {_mark('cert', 'NEW.issued_on', '')} "
        f"{_mark('cert', 'NEW.status_changed_on', '')} END"),
    "trg_stat_certificate_update": (
        "AFTER UPDATE OF issued_on, status, status_changed_on, deleted_hlc, supersedes_id, establishment_id, "
        "person_id ON certificate BEGIN "
        + " ".join(_mark("cert", f"{row}.{col}", "") for row in ("OLD", "NEW")
                   for col in ("issued_on", "status_changed_on")) + " END"),
    "trg_stat_certificate_delete": (
        f"AFTER DELETE ON certificate BEGIN {_mark('cert', 'OLD.issued_on', '')} "
        f"{_mark('cert', 'OLD.status_changed_on', '')} END"),
}


def create_triggers(raw: sqlite3.Connection) -> None:
    for name, body in TRIGGERS.items():
        raw.execute(f"CREATE TRIGGER IF NOT EXISTS {name} {body}")


@contextmanager
def suspended(raw: sqlite3.Connection) -> Iterator[None]:
    """For a bulk load into an empty database, in the caller's transaction (``srcdesk demo``): the
    triggers are dropped while it runs, then made again and the summaries rebuilt once, which is
    cheaper than marking cells row by row. SQLite's DDL is transactional, so if the load fails and
    its transaction rolls back, the triggers are back as they were."""
    if not raw.in_transaction:
        raw.execute("BEGIN")
    for name in TRIGGERS:
        raw.execute(f"DROP TRIGGER IF EXISTS {name}")
    yield
    create_triggers(raw)
    rebuild(raw)
