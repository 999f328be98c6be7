"""Migrations can't cascade-delete: db._migrate runs them with foreign keys off, then checks every
reference. A step that rebuilds ``person`` the way Alembic's batch mode does (new table, copy, drop
the old one, rename) keeps every row that refers to a person; the same step with the pragma on
deletes rows that cascade and refuses the rest, so these tests fail if _migrate stops turning it off.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic.migration import MigrationContext
from alembic.operations import Operations
from sqlalchemy.engine import Connection, Engine

from srcdesk import db as dbmod
from srcdesk.errors import DatabaseError
from srcdesk.services.demo import generate_demo
from srcdesk.services.people import create_person

CHILDREN = ("attendance", "session_facilitator")


def rebuild_person(conn: Connection) -> None:
    """What a migration that changes ``person`` in SQLite does: Alembic batch mode, recreated."""
    op = Operations(MigrationContext.configure(conn))
    with op.batch_alter_table("person", recreate="always") as batch:
        batch.add_column(sa.Column("test_extra", sa.Text))


def _counts(engine: Engine, tables: tuple[str, ...]) -> dict[str, int]:
    with engine.connect() as conn:
        return {t: conn.exec_driver_sql(f"SELECT count(*) FROM {t}").scalar_one() for t in ("person", *tables)}


def _columns(engine: Engine) -> set[str]:
    return {c["name"] for c in sa.inspect(engine).get_columns("person")}


def _with_pragma_on(engine: Engine, step: Callable[[Connection], None]) -> None:
    """The same step the way Alembic runs it when nobody turns foreign keys off."""
    with engine.connect() as conn:
        conn.connection.driver_connection.execute("PRAGMA foreign_keys=ON")
        with conn.begin():
            step(conn)


def _copy(engine_path: Path, target: Path) -> Engine:
    from srcdesk.backups import copy_database

    copy_database(engine_path, target)
    return sa.create_engine(f"sqlite:///{target}")


def test_rebuilding_person_keeps_its_children(ctx, tmp_path: Path) -> None:  # noqa: ANN001
    generate_demo(ctx, scale="small", seed=1)
    engine = ctx.db.engine
    before = _counts(engine, CHILDREN)
    assert all(before[t] > 0 for t in CHILDREN)
    control = _copy(ctx.db.path, tmp_path / "control.sqlite3")

    dbmod._migrate(engine, lambda cfg: rebuild_person(cfg.attributes["connection"]))

    assert "test_extra" in _columns(engine)
    assert _counts(engine, CHILDREN) == before
    with engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA foreign_key_check").fetchall() == []
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar_one() == 1  # back on afterwards

    # The control: with the pragma on, dropping the old person table deletes "from" it, and every
    # attendance line now points nowhere: the commit is refused and the migration can't run.
    with pytest.raises(sa.exc.IntegrityError, match="FOREIGN KEY"):
        _with_pragma_on(control, rebuild_person)
    assert "test_extra" not in _columns(control)
    control.dispose()


def test_cascading_children_survive_only_with_the_pragma_off(ctx, tmp_path: Path) -> None:  # noqa: ANN001
    """A child declared ON DELETE CASCADE (the case the issue reproduced) is emptied by the rebuild
    with foreign keys on, and kept by _migrate."""
    for i in range(3):
        create_person(ctx, given_name=f"Jo{i}", family_name="Bloggs")
    engine = ctx.db.engine
    with engine.begin() as conn:
        conn.exec_driver_sql("CREATE TABLE test_note (id INTEGER PRIMARY KEY, "
                             "person_id TEXT NOT NULL REFERENCES person(id) ON DELETE CASCADE, note TEXT)")
        conn.exec_driver_sql("INSERT INTO test_note (person_id, note) SELECT id, 'kept' FROM person")
    control = _copy(ctx.db.path, tmp_path / "control.sqlite3")

    dbmod._migrate(engine, lambda cfg: rebuild_person(cfg.attributes["connection"]))
    assert _counts(engine, ("test_note",)) == {"person": 3, "test_note": 3}

    _with_pragma_on(control, rebuild_person)
    assert "test_extra" in _columns(control)
    assert _counts(control, ("test_note",)) == {"person": 3, "test_note": 0}  # silently deleted
    control.dispose()


def test_a_broken_reference_aborts_the_migration(ctx) -> None:  # noqa: ANN001
    generate_demo(ctx, scale="small", seed=1)
    engine = ctx.db.engine
    before = _counts(engine, CHILDREN)

    def rebuild_and_lose_a_person(cfg) -> None:  # noqa: ANN001
        conn = cfg.attributes["connection"]
        rebuild_person(conn)
        # a migration's own SQL (the engine's capture guard refuses it through SQLAlchemy)
        conn.connection.driver_connection.execute(
            "DELETE FROM person WHERE id IN (SELECT person_id FROM attendance LIMIT 1)")

    with pytest.raises(DatabaseError, match=r"would break \d+ references? \(first in \w+\); nothing was changed"):
        dbmod._migrate(engine, rebuild_and_lose_a_person)
    assert _counts(engine, CHILDREN) == before
    assert "test_extra" not in _columns(engine)
    with engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar_one() == 1
