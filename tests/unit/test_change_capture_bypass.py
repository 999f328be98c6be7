"""Change capture can't be bypassed (issue 10, item 8).

(a) Outside ``srcdesk/sync/`` (where change capture lives), no code writes to the database
behind SQLAlchemy's back: the source is read with ``ast`` (nothing imported) and every
``driver_connection``, every SQL literal that writes (INSERT INTO, UPDATE … SET, DELETE FROM,
REPLACE INTO), every ``executescript`` and every ``sqlite3.connect`` must be on the allow-list
below, each with its reason. A new one fails this test until someone has looked at it. (The
engine guard in :mod:`srcdesk.sync.capture` refuses uncaptured writes through SQLAlchemy at run
time; a raw DB-API connection goes around it, hence this test.)

(b) ``srcdesk check`` finds a row edited outside srcdesk (an UPDATE through sqlite3 directly,
stamps left alone) and names the table and the number of rows, never a value.
"""

from __future__ import annotations

import ast
import re
import sqlite3
from pathlib import Path

import pytest

import srcdesk
from srcdesk.services.check import run_check
from srcdesk.services.people import create_person, update_person

PACKAGE = Path(srcdesk.__file__).resolve().parent

WRITE_SQL = re.compile(
    r"^\s*(?:INSERT\s+(?:OR\s+\w+\s+)?INTO|REPLACE\s+INTO|UPDATE\s+(?:OR\s+\w+\s+)?[\"`\[]?[\w.]+[\"`\]]?\s+SET"
    r"|DELETE\s+FROM)\s",
    re.IGNORECASE,
)

#: (module path under srcdesk/, function, what) -> why it is allowed. "raw": the function takes the
#: DB-API connection; "write": it holds a SQL literal that writes; "connect": it opens SQLite itself.
ALLOWED: dict[tuple[str, str, str], str] = {
    ("db.py", "_migrate", "raw"): "PRAGMA foreign_keys, which SQLAlchemy would wrap in a transaction",
    ("db.py", "_recount_summaries", "raw"): "hands it to models.stats.refresh: the dashboard's summaries, "
                                            "local derived tables, never synced",
    ("models/stats.py", "_fill", "write"): "fills the dashboard's summaries (or temporary recount tables): "
                                           "local derived tables, never synced",
    ("models/stats.py", "_mark", "write"): "the triggers' SQL: marks summary cells dirty (stat_dirty, local)",
    ("models/stats.py", "_recount", "write"): "recounts summary cells (local derived tables)",
    ("models/stats.py", "rebuild", "write"): "empties and refills the summaries (local derived tables)",
    ("models/stats.py", "refresh", "write"): "clears stat_dirty once its cells are recounted (local)",
    ("models/stats.py", "verify", "write"): "fills temporary recount tables of this connection, not the data",
    ("backups.py", "copy_database", "connect"): "the backup: the live file opened read-only (mode=ro), "
                                                 "writes go to the new copy",
    ("services/certificate_verify.py", "__init__", "raw"): "reads only: a scan's lookups (_Lookup), in plain SQL "
                                                         "so that one takes well under 5 ms",
    ("services/check.py", "_run", "raw"): "reads only: histories for the stamp check",
    ("services/check.py", "database_digest", "raw"): "reads only: every row, for the digest",
    ("services/check.py", "rebuild_summaries", "raw"): "hands it to models.stats.rebuild (local derived tables)",
    ("services/clock.py", "_reading", "raw"): "reads only: the clock check",
    ("services/clock.py", "repair_clock", "raw"): "BEGIN IMMEDIATE, then sync.restamp writes and logs",
    ("services/conflicts.py", "resolve_conflict", "raw"): "hands it to sync (merge.try_release) inside a "
                                                          "captured session",
    ("services/demo.py", "generate_demo", "raw"): "hands it to sync.capture (bulk_insert logs every row)",
    ("services/ladder.py", "_load_facts", "raw"): "reads only",
    ("services/people.py", "person_details", "raw"): "reads only: the person's logged changes",
    ("services/sync/apply.py", "_authority", "raw"): "hands it to sync (authority)",
    ("services/sync/apply.py", "_apply_in_transaction", "raw"): "hands it to sync.merge, which logs what it "
                                                                "writes",
    ("services/sync/export.py", "_export_one", "raw"): "reads the log, and sync.scope remembers what was sent",
    ("services/sync/export.py", "_change_lines", "write"): "fills temp.sync_send, a temporary table of this "
                                                           "connection, not the data",
}
#: Migrations change the schema inside db._migrate's transaction; their SQL fills tables that are not
#: synced (the search index) or rewrites the log's own encoding.
ALLOWED_FOLDERS = ("migrations/",)


def uses(source: str) -> set[tuple[str, str]]:
    """(function, what) for every raw connection, writing SQL literal, executescript and
    sqlite3.connect in ``source`` (module level counts as function "<module>")."""
    found: set[tuple[str, str]] = set()
    tree = ast.parse(source)
    owners: dict[ast.AST, str] = {}
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            for inner in ast.walk(node):
                if inner is not node:
                    owners[inner] = node.name  # ast.walk goes outside in: the innermost function wins
    for node in ast.walk(tree):
        owner = owners.get(node, "<module>")
        if isinstance(node, ast.Attribute) and node.attr == "driver_connection":
            found.add((owner, "raw"))
        elif isinstance(node, ast.Attribute) and node.attr == "executescript":
            found.add((owner, "write"))
        elif isinstance(node, ast.Attribute) and node.attr == "connect" and isinstance(node.value, ast.Name) \
                and node.value.id == "sqlite3":
            found.add((owner, "connect"))
        elif isinstance(node, ast.Constant) and isinstance(node.value, str) and WRITE_SQL.match(node.value):
            found.add((owner, "write"))
        elif isinstance(node, ast.JoinedStr) and node.values and isinstance(node.values[0], ast.Constant) \
                and WRITE_SQL.match(str(node.values[0].value)):
            found.add((owner, "write"))
    return found


def _outside_sync() -> dict[tuple[str, str, str], Path]:
    out = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        rel = path.relative_to(PACKAGE).as_posix()
        if rel.startswith("sync/") or rel.startswith(ALLOWED_FOLDERS):
            continue
        for owner, what in uses(path.read_text(encoding="utf-8")):
            out[(rel, owner, what)] = path
    return out


def test_no_raw_writes_outside_sync() -> None:
    found = _outside_sync()
    unexpected = sorted(set(found) - set(ALLOWED))
    assert not unexpected, (
        "Raw database access outside srcdesk/sync/ (write through the services, or add it to ALLOWED "
        f"with the reason it can't bypass change capture): {unexpected}")


def test_the_allow_list_has_no_stale_entries() -> None:
    assert sorted(set(ALLOWED) - set(_outside_sync())) == []


@pytest.mark.parametrize("source", [
    "def f(s):\n    s.connection().connection.driver_connection.execute('UPDATE person SET x = 1')\n",
    "def f(conn):\n    conn.exec_driver_sql('DELETE FROM attendance WHERE id = 1')\n",
    "def f(conn, t):\n    conn.exec_driver_sql(f'INSERT INTO {t} VALUES (1)')\n",
    "import sqlite3\ndef f(p):\n    sqlite3.connect(p).execute('select 1')\n",
    "def f(c):\n    c.executescript('drop table person')\n",
])
def test_the_scanner_sees_a_bypass(source: str) -> None:
    assert uses(source), source


def test_the_scanner_ignores_words_that_are_not_sql() -> None:
    assert uses("def f():\n    return 'Delete something entered in error'\n") == set()


# -- (b) check finds a silent raw edit ------------------------------------------------------------------


def _raw_update(path: Path, sql: str, *params: object) -> None:
    con = sqlite3.connect(path)
    try:
        con.execute(sql, params)
        con.commit()
    finally:
        con.close()


def test_check_finds_a_raw_edit_and_names_only_the_table_and_count(ctx) -> None:  # noqa: ANN001
    people = [create_person(ctx, given_name=f"Jo{i}", family_name="Bloggs") for i in range(3)]
    for p in people[:2]:
        update_person(ctx, p.id, family_name="Bloggs-Smith")
    assert run_check(ctx.db).ok

    _raw_update(ctx.db.path, "UPDATE person SET family_name = 'Secretname' WHERE family_name = 'Bloggs-Smith'")

    report = run_check(ctx.db)
    [problem] = [p for p in report.problems if "changed outside srcdesk" in p]
    assert problem.startswith("Change log: 2 person rows changed outside srcdesk (values no logged change wrote)")
    assert "Secretname" not in problem and "Bloggs" not in problem and people[0].id not in problem


def test_a_one_character_edit_is_found_and_undoing_it_clears_the_problem(ctx) -> None:  # noqa: ANN001
    person = create_person(ctx, given_name="Jo", family_name="Bloggs")
    update_person(ctx, person.id, given_name="Joanne")
    _raw_update(ctx.db.path, "UPDATE person SET given_name = 'Joanne ' WHERE id = ?", person.id)
    assert any("1 person row changed outside srcdesk" in p for p in run_check(ctx.db).problems)
    _raw_update(ctx.db.path, "UPDATE person SET given_name = 'Joanne' WHERE id = ?", person.id)
    assert run_check(ctx.db).ok  # put back: the row is its log's fold again


def test_a_raw_edit_of_a_row_logged_once_with_its_values_is_found(ctx) -> None:  # noqa: ANN001
    """A row whose only change is its insert, logged with its values (as rows that came in a bundle
    can be), is compared in SQL rather than folded: the same finding."""
    from srcdesk.sync.changelog import materialize

    people = [create_person(ctx, given_name=f"Jo{i}", family_name="Bloggs") for i in range(4)]
    con = sqlite3.connect(ctx.db.path)
    try:
        assert materialize(con, "person", [p.id for p in people]) == 4
        con.commit()
    finally:
        con.close()
    assert run_check(ctx.db).ok
    _raw_update(ctx.db.path, "UPDATE person SET family_name = 'Other' WHERE id IN (?, ?, ?)", *[p.id for p in people[:3]])
    assert [p for p in run_check(ctx.db).problems if p.startswith("Change log: 3 person rows changed outside srcdesk")]
