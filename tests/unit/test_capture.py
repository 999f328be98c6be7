"""Change capture: every syncable entity's writes are logged, and nothing can bypass it."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from sqlalchemy import Boolean, Date, Integer, String, Text, func, insert, select, text, update

from srcdesk.models import SYNCABLE_MODELS, ChangeLog, LocalState, Person
from srcdesk.services.check import run_check
from srcdesk.sync.capture import REFERENCE_ORIGIN, UncapturedWriteError
from srcdesk.sync.hlc import HybridClock


def _value_for(column):  # noqa: ANN001, ANN202
    t = column.type
    if column.foreign_keys:
        return None  # deferred FKs: never committed in these tests
    if isinstance(t, Boolean):
        return False
    if isinstance(t, Date):
        return dt.date(2024, 5, 1)
    if isinstance(t, Integer):
        return 1
    if isinstance(t, String | Text):
        return "x"
    raise AssertionError(f"no test value for {column}")


def _minimal(model):  # noqa: ANN001, ANN202
    from srcdesk.models import SYNC_META_COLUMNS, TOMBSTONE_COLUMNS

    values = {}
    for column in model.__table__.columns:
        if column.key in SYNC_META_COLUMNS | TOMBSTONE_COLUMNS:
            continue
        if column.nullable and not column.foreign_keys:
            continue
        if column.foreign_keys:
            values[column.key] = "ref-" + column.key if not column.nullable else None
            continue
        values[column.key] = _value_for(column)
    if model.__tablename__ == "session":
        values.update(start_time="10:00", end_time="11:00", activity_type_id="act-cafe")
    return values


def _content_column(model):  # noqa: ANN001, ANN202
    from srcdesk.models import SYNC_META_COLUMNS, TOMBSTONE_COLUMNS

    candidates = [
        column for column in model.__table__.columns
        if column.key not in SYNC_META_COLUMNS | TOMBSTONE_COLUMNS | model.__sync_exclude__
        and not column.foreign_keys and not column.unique and isinstance(column.type, String | Text)
    ]
    candidates.sort(key=lambda c: not c.nullable)  # free text first: no constraints to trip
    return candidates[0].key if candidates else None


@pytest.mark.parametrize("model", SYNCABLE_MODELS, ids=lambda m: m.__tablename__)
def test_every_syncable_entity_logs_create_update_delete(ctx, model) -> None:  # noqa: ANN001
    """The capture hook covers every syncable table, whatever service writes it."""
    s = ctx.db.session(ctx.actor).__enter__()
    try:
        obj = model(**_minimal(model))
        s.add(obj)
        s.flush()
        assert obj.origin_id == ctx.installation.id and obj.created_by == ctx.user.id
        key = _content_column(model)
        if key is not None:
            setattr(obj, key, "changed")
        else:
            obj.deleted_reason = "changed"
        s.flush()
        obj.deleted_reason = "entered in error"
        obj.deleted_hlc = -1
        s.flush()
        log = s.execute(select(ChangeLog).where(ChangeLog.row_id == obj.id).order_by(ChangeLog.seq)).scalars().all()
        assert [c.op for c in log] == ["insert", "update", "delete"]
        assert len({c.hlc for c in log}) == 3 and [c.hlc for c in log] == sorted(c.hlc for c in log)
        assert all(c.origin_id == ctx.installation.id and c.user_id == ctx.user.id for c in log)
        assert json.loads(log[1].fields) == {key or "deleted_reason": "changed"}
        assert json.loads(log[2].fields)["deleted_hlc"] == log[2].hlc == obj.deleted_hlc
        assert obj.updated_hlc == log[2].hlc
        for excluded in model.__sync_exclude__:
            assert excluded not in json.loads(log[0].fields)
    finally:
        s.rollback()
        s.close()


def test_physical_delete_is_refused(ctx) -> None:  # noqa: ANN001
    from srcdesk.services.people import create_person

    p = create_person(ctx, given_name="Jo", family_name="Bloggs")
    with pytest.raises(UncapturedWriteError, match="never deleted"), ctx.db.session(ctx.actor) as s:
        s.delete(s.get(Person, p.id))


def test_write_without_actor_is_refused(ctx) -> None:  # noqa: ANN001
    with pytest.raises(UncapturedWriteError, match="who made it"), ctx.db.session() as s:
        s.add(Person(given_name="A", family_name="B", search_name="a b"))


@pytest.mark.parametrize("how", ["orm_update", "core_insert", "raw_sql"])
def test_bulk_and_raw_writes_cannot_bypass_capture(ctx, how) -> None:  # noqa: ANN001
    before = _hash(ctx)
    with pytest.raises(UncapturedWriteError, match="bypasses change capture"), ctx.db.session(ctx.actor) as s:
        if how == "orm_update":
            s.execute(update(Person).values(notes="sneaky"))
        elif how == "core_insert":
            s.execute(insert(Person.__table__).values(id="p", origin_id="o", created_hlc=1, updated_hlc=1,
                                                      given_name="a", family_name="b", search_name="a b",
                                                      kind="prisoner"))
        else:
            s.execute(text("UPDATE establishment SET name = 'HMP Nowhere'"))
    assert _hash(ctx) == before


def test_local_tables_are_not_guarded(ctx) -> None:  # noqa: ANN001
    with ctx.db.session(ctx.actor) as s:
        s.add(LocalState(key="setting:idle_minutes", value="10"))
    with ctx.db.read() as s:
        assert s.get(LocalState, "setting:idle_minutes").value == "10"


def test_reference_rows_are_identical_on_every_installation(ctx, office) -> None:  # noqa: ANN001
    def ref_log(c):  # noqa: ANN001, ANN202
        with c.db.read() as s:
            return s.execute(
                select(ChangeLog.hlc, ChangeLog.origin_id, ChangeLog.table_name, ChangeLog.row_id, ChangeLog.fields)
                .where(ChangeLog.origin_id == REFERENCE_ORIGIN).order_by(ChangeLog.table_name, ChangeLog.row_id)
            ).all()

    assert ref_log(ctx) == ref_log(office)
    assert len(ref_log(ctx)) > 50


def test_clock_survives_restart_and_never_goes_back(ctx, data_dir) -> None:  # noqa: ANN001
    from srcdesk.services.people import create_person, update_person
    from srcdesk.services.setup import open_installation

    p = create_person(ctx, given_name="Jo", family_name="Bloggs")
    last = ctx.db.clock.last
    ctx.db.close()
    reopened = open_installation(data_dir)
    reopened = reopened.signed_in(ctx.user)
    assert reopened.db.clock.last == last
    reopened.db.clock._wall_ms = lambda: 0  # the PC's clock jumped back to 1970
    update_person(reopened, p.id, notes="after restart")
    with reopened.db.read() as s:
        assert s.execute(select(func.max(ChangeLog.hlc))).scalar_one() == last + 1
    reopened.db.close()


def test_hybrid_clock_orders_and_observes() -> None:
    wall = [1000]
    clock = HybridClock(wall_ms=lambda: wall[0])
    a, b = clock.now(), clock.now()
    assert b == a + 1
    wall[0] = 900  # backwards
    assert clock.now() > b
    clock.observe(5000 << 16)
    assert clock.now() > 5000 << 16
    first = clock.reserve(10)
    assert clock.last == first + 9


def test_check_passes_after_service_writes(ctx) -> None:  # noqa: ANN001
    from srcdesk.services.people import create_person, delete_person, update_person

    p = create_person(ctx, given_name="Jo", family_name="Bloggs")
    update_person(ctx, p.id, notes="n")
    delete_person(ctx, p.id, "Registered twice")
    report = run_check(ctx.db)
    assert report.ok, report.problems


def _hash(ctx) -> str:  # noqa: ANN001
    import hashlib

    h = hashlib.sha256()
    with ctx.db.engine.connect() as conn:
        for (name,) in conn.exec_driver_sql("SELECT name FROM sqlite_master WHERE type='table' ORDER BY name"):
            for row in conn.exec_driver_sql(f'SELECT * FROM "{name}" ORDER BY 1'):
                h.update(repr(tuple(row)).encode())
    return h.hexdigest()
