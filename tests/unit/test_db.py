"""The database file: migrations, migrate-on-open with backup, refusals, check, backup."""

from __future__ import annotations

import shutil
import sqlite3
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from srcdesk import db as dbmod
from srcdesk.db import Database, head_revision, schema_revision
from srcdesk.errors import DatabaseError, ValidationError
from srcdesk.models import Base
from srcdesk.paths import backups_dir, database_path
from srcdesk.services.check import run_check


def test_migrations_describe_the_same_schema_as_the_models(ctx) -> None:  # noqa: ANN001
    with ctx.db.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn, opts={"compare_type": True}), Base.metadata)
    assert diff == []


def test_sqlite_pragmas(ctx) -> None:  # noqa: ANN001
    with ctx.db.engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() == 5000


def test_newer_database_is_refused_and_left_alone(ctx, data_dir) -> None:  # noqa: ANN001
    ctx.db.close()
    path = database_path(data_dir)
    con = sqlite3.connect(path)
    con.execute("UPDATE alembic_version SET version_num = '9999'")
    con.commit()
    con.close()
    before = path.read_bytes()
    with pytest.raises(DatabaseError, match=r"newer srcdesk \(schema 9999\); update srcdesk to open it"):
        Database.open(data_dir)
    assert path.read_bytes() == before


def test_older_database_is_backed_up_then_migrated(ctx, data_dir, tmp_path, monkeypatch) -> None:  # noqa: ANN001
    """A real extra revision after the current head, in a copy of the migrations."""
    ctx.db.close()
    current = head_revision()
    migrations = tmp_path / "migrations"
    shutil.copytree(dbmod.MIGRATIONS_DIR, migrations, ignore=shutil.ignore_patterns("__pycache__"))
    (migrations / "versions" / "9000_test.py").write_text(
        'import sqlalchemy as sa\nfrom alembic import op\n'
        f'revision = "9000"\ndown_revision = "{current}"\nbranch_labels = None\ndepends_on = None\n'
        'def upgrade():\n    op.create_table("test_extra", sa.Column("k", sa.Integer, primary_key=True))\n'
        'def downgrade():\n    op.drop_table("test_extra")\n'
    )
    monkeypatch.setattr(dbmod, "MIGRATIONS_DIR", migrations)
    assert head_revision() == "9000"
    db = Database.open(data_dir)
    try:
        assert schema_revision(db.engine) == "9000"
        backups = list(backups_dir(data_dir).glob("*.sqlite3"))
        assert len(backups) == 1 and "before-9000" in backups[0].name
        con = sqlite3.connect(backups[0])
        assert con.execute("SELECT version_num FROM alembic_version").fetchone() == (current,)
        assert con.execute("SELECT count(*) FROM person").fetchone() == (0,)
        con.close()
    finally:
        db.close()


def test_missing_database_says_run_init(tmp_path: Path) -> None:
    with pytest.raises(DatabaseError, match="No srcdesk data in .*run 'srcdesk init' first"):
        Database.open(tmp_path / "nothing")


def test_corrupt_database_is_refused_and_never_overwritten(ctx, data_dir) -> None:  # noqa: ANN001
    ctx.db.close()
    path = database_path(data_dir)
    for suffix in ("-wal", "-shm"):
        Path(str(path) + suffix).unlink(missing_ok=True)
    path.write_bytes(b"this is not a database at all" * 100)
    before = path.read_bytes()
    with pytest.raises(DatabaseError, match="not a srcdesk database or is damaged"):
        Database.open(data_dir)
    with pytest.raises(DatabaseError, match="already srcdesk data"):
        Database.create(data_dir)
    assert path.read_bytes() == before


def test_damaged_pages_are_reported_by_check(ctx, data_dir) -> None:  # noqa: ANN001
    ctx.db.close()
    path = database_path(data_dir)
    con = sqlite3.connect(path)
    con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    con.execute("PRAGMA journal_mode=DELETE")
    con.close()
    raw = bytearray(path.read_bytes())
    page = 4096
    for offset in range(page * 3, min(len(raw), page * 12), 7):
        raw[offset] = 0xA5  # scribble over a few pages, keep the header
    path.write_bytes(bytes(raw))
    try:
        db = Database.open(data_dir, migrate=False)
    except DatabaseError as exc:
        assert "left untouched" in str(exc) or "damaged" in str(exc)
        return
    try:
        report = run_check(db)
    except Exception as exc:  # noqa: BLE001
        pytest.fail(f"check raised instead of reporting: {exc!r}")
    finally:
        db.close()
    assert not report.ok


def _check_after_tampering(ctx, data_dir, sql: str) -> list[str]:  # noqa: ANN001
    """Record one person through srcdesk, change the file behind its back, run the check."""
    from srcdesk.services.people import create_person

    create_person(ctx, given_name="Jo", family_name="Bloggs")
    assert run_check(ctx.db).ok
    ctx.db.close()
    con = sqlite3.connect(database_path(data_dir))  # as damage or another program would
    con.execute(sql)
    con.commit()
    con.close()
    db = Database.open(data_dir)
    try:
        return run_check(db).problems
    finally:
        db.close()


def test_check_finds_a_broken_foreign_key(ctx, data_dir) -> None:  # noqa: ANN001
    problems = _check_after_tampering(ctx, data_dir, "UPDATE person SET establishment_id = 'est-nowhere'")
    assert len(problems) == 1 and problems[0].startswith("Broken reference: person")


def test_check_finds_writes_that_missed_the_change_log(ctx, data_dir) -> None:  # noqa: ANN001
    problems = _check_after_tampering(ctx, data_dir, "UPDATE person SET notes = 'x', updated_hlc = updated_hlc + 1")
    assert problems == [
        "Change log: 1 person row changed without a matching log entry.",
        # its creation was logged without values (they were the row's): the row no longer holds them
        "Change log: 1 person change logged without their values while their row does not hold them.",
    ]


def test_check_finds_a_row_changed_under_an_insert_logged_without_values(ctx, data_dir) -> None:  # noqa: ANN001
    """Even with the stamp left alone: the row no longer holds what its only change made, and
    the log has no copy of it. (An edit through srcdesk writes the values into the log first.)"""
    from srcdesk.services.people import create_person

    create_person(ctx, given_name="Jo", family_name="Bloggs")
    problems = _check_after_tampering(ctx, data_dir, "UPDATE change_log SET hlc = hlc - 1 WHERE table_name = 'person' "
                                                     "AND fields IS NULL")
    assert any("logged without their values" in p for p in problems), problems


def test_backup_is_a_consistent_copy(ctx, tmp_path) -> None:  # noqa: ANN001
    from srcdesk.services.people import create_person

    create_person(ctx, given_name="Jo", family_name="Bloggs")
    target = ctx.db.backup_to(tmp_path / "copy.sqlite3")
    con = sqlite3.connect(target)
    assert con.execute("SELECT given_name FROM person").fetchall() == [("Jo",)]
    assert con.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    con.close()
    with pytest.raises(ValidationError, match="already exists"):
        ctx.db.backup_to(target)


def test_head_revision_read_without_alembic_matches_alembic():
    from alembic.script import ScriptDirectory

    from srcdesk import db as dbmod

    assert head_revision() == ScriptDirectory.from_config(dbmod.alembic_config()).get_current_head()
    assert set(dbmod._script_revisions()) == {s.revision for s in
                                               ScriptDirectory.from_config(dbmod.alembic_config()).walk_revisions()}


def test_opening_an_up_to_date_database_does_not_import_alembic(tmp_path):
    import subprocess
    import sys

    Database.create(tmp_path / "d").close()
    code = ("import sys; from pathlib import Path; from srcdesk.db import Database; "
            f"Database.open(Path({str(tmp_path / 'd')!r})).close(); "
            "print('alembic' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
