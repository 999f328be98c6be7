"""Nothing blocks a bundle (issue 9, items 4 and 9): the same record made on two PCs is one record;
a record whose new state can't be written is held, not the bundle refused; the change log holds no
second copy of a row, and bundles are the same for it.

Each scenario runs the real services on real installations (the office and Perth, enrolled) and
carries real bundles between them.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from srcdesk.models import Module, Programme
from srcdesk.services import attendance, catalogue, conflicts, people, sessions, sync
from srcdesk.services.base import Context
from srcdesk.services.check import run_check
from srcdesk.sync import bundle as fmt
from srcdesk.sync.changelog import CONTENT

TODAY = dt.date.today()


@contextmanager
def raw(ctx: Context) -> Iterator[Any]:
    with ctx.db.engine.connect() as conn:
        yield conn.connection.driver_connection


def rows(ctx: Context, table: str, where: str = "1", params: tuple = ()) -> list[dict[str, Any]]:
    with raw(ctx) as db:
        cur = db.execute(f"SELECT * FROM {table} WHERE {where} ORDER BY id", params)
        names = [d[0] for d in cur.description]
        return [dict(zip(names, r, strict=True)) for r in cur.fetchall()]


def queue(ctx: Context) -> list[tuple]:
    with raw(ctx) as db:
        return sorted(db.execute(
            "SELECT table_name, row_id, field, winner_hlc, winner_origin, winner_value, loser_hlc, loser_origin, "
            "loser_value FROM sync_conflict").fetchall())


def send(world: Any, source: Context, target: Context) -> dict[str, Any]:
    """Export from ``source`` for ``target``, import it there; what the import recorded (its summary)."""
    result = world.send(source, target)
    assert not result.already_imported
    with raw(target) as db:
        [(summary,)] = db.execute("SELECT summary FROM bundle_record WHERE bundle_id = ?",
                                  (result.verified.bundle_id,)).fetchall()
    return json.loads(summary)


def all_ok(*ctxs: Context) -> None:
    for c in ctxs:
        report = run_check(c.db)
        assert report.ok, (c.installation.name, report.problems)


def session_at(ctx: Context, start: str = "10:00", end: str = "11:00") -> Any:
    return sessions.save_session(ctx, date=TODAY, start_time=start, end_time=end, activity_type_id="act-cafe").session


# -- the same register line made at the office and at Perth ------------------------------------


@pytest.mark.parametrize("first", ["office", "PER"])
def test_the_same_person_put_on_one_register_in_two_places_is_one_line(world, first: str) -> None:  # noqa: ANN001
    """Both PCs put Jo on the register, with different statuses, before hearing of each other.
    Neither bundle is refused; every installation ends with one line (the lower id), the other a
    tombstone naming it, and the status that lost in the conflict queue; settling it travels."""
    office, per = world.office, world["PER"]
    jo = people.create_person(per, given_name="Jo", family_name="Bloggs")
    s = session_at(per)
    world.send(per, office)
    makers = {"office": (office, "present"), "PER": (per, "absent")}
    order = [first, "PER" if first == "office" else "office"]
    for name in order:  # the first one made gets the lower id
        ctx, status = makers[name]
        attendance.save_register(ctx, s.id, [attendance.RegisterEntry(jo.id, status=status)])
    made = {name: rows(makers[name][0], "attendance", "session_id = ? AND deleted_hlc IS NULL", (s.id,))[0]["id"]
            for name in makers}
    winner, loser = sorted(made.values())
    assert winner == made[first]

    got = send(world, per, office)
    assert got["merged"] == 1, got
    world.send(office, per)
    for ctx in (office, per):
        lines = rows(ctx, "attendance", "session_id = ?", (s.id,))
        assert [(r["id"], r["merged_into"], r["deleted_hlc"] is None) for r in lines] == [
            (winner, None, True), (loser, winner, False)]
        assert "two PCs" in lines[1]["deleted_reason"]
        held = conflicts.list_conflicts(ctx)
        assert [(c.field, c.record.startswith("Register line")) for c in held] == [("status_id", True)]
    assert queue(office) == queue(per)
    lines = {ctx.installation.name: rows(ctx, "attendance", "session_id = ?", (s.id,)) for ctx in (office, per)}
    assert lines[office.installation.name] == lines[per.installation.name]
    all_ok(office, per)

    # Settling it on one PC travels, and every installation drops it.
    [item] = conflicts.list_conflicts(per)
    conflicts.resolve_conflict(per, item.id, "other")
    world.send(per, office)
    assert queue(office) == queue(per) == []
    assert rows(office, "attendance", "id = ?", (winner,)) == rows(per, "attendance", "id = ?", (winner,))
    # The line is a line like any other: taking Jo off the register (here, then there) is one change.
    attendance.save_register(office, s.id, [])
    world.send(office, per)
    assert [r["id"] for r in rows(per, "attendance", "session_id = ? AND deleted_hlc IS NULL", (s.id,))] == []
    all_ok(office, per)


def test_an_edit_of_the_merged_line_made_where_the_merge_was_not_known_reaches_the_line(world) -> None:  # noqa: ANN001
    """Perth marks Jo late on its own line after the office merged it away, before hearing of the
    merge: the edit counts as an edit of the line that stays."""
    office, per = world.office, world["PER"]
    jo = people.create_person(per, given_name="Jo", family_name="Bloggs")
    s = session_at(per)
    world.send(per, office)
    attendance.save_register(office, s.id, [attendance.RegisterEntry(jo.id)])  # lower id: made first
    attendance.save_register(per, s.id, [attendance.RegisterEntry(jo.id)])
    world.send(per, office)  # the office merges Perth's line into its own
    attendance.save_register(per, s.id, [attendance.RegisterEntry(jo.id, status="late")])
    world.send(per, office)
    world.send(office, per)
    for ctx in (office, per):
        [line] = rows(ctx, "attendance", "session_id = ? AND deleted_hlc IS NULL", (s.id,))
        assert line["status_id"] == "status-late"
        assert conflicts.list_conflicts(ctx) == []  # both said present; then one said late, knowingly
    assert rows(office, "attendance", "session_id = ?", (s.id,)) == rows(per, "attendance", "session_id = ?", (s.id,))
    all_ok(office, per)


def test_a_line_taken_off_the_register_and_the_same_line_made_elsewhere(world) -> None:  # noqa: ANN001
    """The office takes Jo off; Perth, not knowing, adds Jo again (a new line): the record stays
    off the register (no silent resurrection) and Perth's line waits in the queue for a person."""
    office, per = world.office, world["PER"]
    jo = people.create_person(per, given_name="Jo", family_name="Bloggs")
    s = session_at(per)
    world.send(per, office)
    attendance.save_register(office, s.id, [attendance.RegisterEntry(jo.id)])
    attendance.save_register(office, s.id, [])  # off again
    world.send(office, per)
    attendance.save_register(per, s.id, [attendance.RegisterEntry(jo.id)])  # Perth still shows nobody
    # Perth's service brought the office's line back (same natural key here): an edit racing the
    # office's delete, not a second line.
    assert len(rows(per, "attendance", "session_id = ?", (s.id,))) == 1
    world.send(per, office)
    world.send(office, per)
    assert rows(office, "attendance", "session_id = ?", (s.id,)) == rows(per, "attendance", "session_id = ?", (s.id,))
    all_ok(office, per)


# -- catalogue records made twice ------------------------------------------------------------------


def test_the_same_programme_and_module_made_at_perth_and_the_office_is_one(world, make_user) -> None:  # noqa: ANN001
    office, per = world.office, world["PER"]
    per_coordinator = make_user(per, "coordinator", "colin")
    mine = catalogue.create(per_coordinator, Programme, code="T4T2", name="Training for trainers (Perth)")
    mine_module = catalogue.create(per_coordinator, Module, programme_id=mine.id, code="M1", name="Getting started")
    theirs = catalogue.create(office, Programme, code="T4T2", name="Training 4 Trainers, part two")
    their_module = catalogue.create(office, Module, programme_id=theirs.id, code="M1", name="Starting out")
    s = sessions.save_session(per, date=TODAY, start_time="10:00", end_time="11:00", module_id=mine_module.id).session
    world.send(per, office)
    world.send(office, per)
    world.send(per, office)
    world.send(office, per)
    winner_programme = min(mine.id, theirs.id)
    winner_module = min(mine_module.id, their_module.id)
    for ctx in (office, per):
        live = rows(ctx, "programme", "code = 'T4T2' AND deleted_hlc IS NULL")
        assert [p["id"] for p in live] == [winner_programme]
        live_modules = rows(ctx, "module", "code = 'M1' AND programme_id = ? AND deleted_hlc IS NULL",
                            (winner_programme,))
        assert [m["id"] for m in live_modules] == [winner_module]
        [session] = rows(ctx, "session", "id = ?", (s.id,))
        assert session["module_id"] == winner_module  # moved to the module that stays
        assert {c.field for c in conflicts.list_conflicts(ctx)} == {"name"}  # the names differed
    for table in ("programme", "module", "session"):
        assert rows(office, table) == rows(per, table), table
    assert queue(office) == queue(per)
    all_ok(office, per)


# -- held, not refused ------------------------------------------------------------------------------


def test_times_changed_on_two_pcs_hold_the_session_until_someone_fixes_it(world) -> None:  # noqa: ANN001
    """The office moves the end earlier, Perth moves the start later: each valid alone, together the
    session would end before it starts. Both bundles still apply; the session keeps its last good
    state where the other's edit arrives, held with the reason; an edit that fixes it releases it."""
    office, per = world.office, world["PER"]
    s = session_at(per, "10:00", "11:00")
    other = people.create_person(per, given_name="Al", family_name="Other")
    world.send(per, office)
    sessions.save_session(office, s.id, end_time="10:30")
    sessions.save_session(per, s.id, start_time="10:45")
    people.update_person(per, other.id, notes="still applies")  # the rest of the bundle

    got = send(world, per, office)
    assert got["held"] == 1 and got["new"] == 0
    assert [(t, r) for t, r, _why in got["held_rows"]] == [("session", s.id)]
    assert "before it starts (" in got["held_rows"][0][2]
    [row] = rows(office, "session", "id = ?", (s.id,))
    assert (row["start_time"], row["end_time"]) == ("10:00", "10:30")  # its last good state
    assert people.get_person(office, other.id).notes == "still applies"
    report = run_check(office.db)
    assert report.ok and any("stay as they were" in n for n in report.notes), report

    again = send(world, office, per)  # Perth hears of the office's edit: held there too
    assert again["held"] == 1
    [row] = rows(per, "session", "id = ?", (s.id,))
    assert (row["start_time"], row["end_time"]) == ("10:45", "11:00")

    sessions.save_session(office, s.id, end_time="11:30")  # a person fixes it at the office
    [row] = rows(office, "session", "id = ?", (s.id,))
    assert (row["start_time"], row["end_time"]) == ("10:45", "11:30")
    world.send(office, per)
    [row] = rows(per, "session", "id = ?", (s.id,))
    assert (row["start_time"], row["end_time"]) == ("10:45", "11:30")
    with raw(office) as db:
        assert db.execute("SELECT count(*) FROM sync_waiting").fetchone() == (0,)
    with raw(per) as db:
        assert db.execute("SELECT count(*) FROM sync_waiting").fetchone() == (0,)
    assert rows(office, "session", "id = ?", (s.id,)) == rows(per, "session", "id = ?", (s.id,))
    all_ok(office, per)


def test_a_change_pointing_at_a_record_not_here_yet_is_held_then_applied(world, tmp_path: Path) -> None:  # noqa: ANN001
    """Perth makes a recruit cohort, then puts an existing session in it: the office receives the
    second bundle first. The session keeps its state (held, with the reason) and the rest applies;
    the first bundle brings the cohort, and the session takes it."""
    office, per = world.office, world["PER"]
    s = sessions.save_session(per, date=TODAY, start_time="10:00", end_time="11:00", module_id="mod-rat-01").session
    world.send(per, office)
    cohort = sessions.create_recruit_cohort(per, name="Recruits, December", starts_on=TODAY)
    first = world.export(per)
    sessions.save_session(per, s.id, recruit_cohort_id=cohort.id, notes="for the new recruits")
    second = world.export(per)
    got = sync.import_bundle(office, second, backup=False)
    with raw(office) as db:
        [(summary,)] = db.execute("SELECT summary FROM bundle_record WHERE bundle_id = ?",
                                  (got.verified.bundle_id,)).fetchall()
    got = json.loads(summary)
    assert got["held"] == 1 and "recruit cohort" in got["held_rows"][0][2]
    [row] = rows(office, "session", "id = ?", (s.id,))
    assert row["recruit_cohort_id"] is None and row["notes"] is None
    all_ok(office)
    sync.import_bundle(office, first, backup=False)
    [row] = rows(office, "session", "id = ?", (s.id,))
    assert row["recruit_cohort_id"] == cohort.id and row["notes"] == "for the new recruits"
    with raw(office) as db:
        assert db.execute("SELECT count(*) FROM sync_waiting").fetchone() == (0,)
    all_ok(office)


# -- the change log holds no copy of a row -------------------------------------------------------


def test_inserts_are_logged_without_their_values_until_the_row_changes(world) -> None:  # noqa: ANN001
    office, per = world.office, world["PER"]
    jo = people.create_person(per, given_name="Jo", family_name="Bloggs", notes="first")
    with raw(per) as db:
        assert db.execute("SELECT fields FROM change_log WHERE row_id = ?", (jo.id,)).fetchall() == [(None,)]
    world.send(per, office)
    with raw(office) as db:  # a record new here, never changed: the same at the office
        assert db.execute("SELECT fields FROM change_log WHERE row_id = ?", (jo.id,)).fetchall() == [(None,)]
    people.update_person(per, jo.id, notes="second")
    with raw(per) as db:
        logged = db.execute("SELECT op, fields FROM change_log WHERE row_id = ? ORDER BY seq", (jo.id,)).fetchall()
    assert [op for op, _ in logged] == ["insert", "update"]
    assert json.loads(logged[0][1])["notes"] == "first"  # the insert's own values, kept before the change
    world.send(per, office)
    assert people.get_person(office, jo.id).notes == "second"
    all_ok(office, per)


def test_a_bundle_carries_an_insert_exactly_as_it_was_made(world, tmp_path: Path) -> None:  # noqa: ANN001
    """The insert a bundle carries is rebuilt from its row: it must be what the ORM object's values
    encode to (text, dates, yes/no as true/false, numbers, empty), for every kind of record."""
    from srcdesk.models import SYNCABLE_MODELS
    from srcdesk.services import trust
    from srcdesk.sync.capture import encode_value
    from srcdesk.sync.minisign import PublicKey

    office, per = world.office, world["PER"]
    people.create_person(per, given_name="Jo", family_name="Bloggs", liberation_date=TODAY, notes="x")
    s = session_at(per)
    sessions.cancel_session(per, s.id, "no room")  # a yes/no column that is true
    path = world.export(per)
    outer = fmt.open_outer(path)
    public = PublicKey.from_line(trust.my_identity(per).signing_key)
    payload = fmt.open_payload(fmt.verify_and_decrypt(outer, public, trust.local_identity(office).age_identity),
                               public, outer.header, now=dt.datetime.now(dt.UTC).replace(tzinfo=None))
    outer.zip.close()
    try:
        records = [json.loads(line) for line in payload.zip.read(fmt.CHANGES, 1 << 30).decode().splitlines()]
    finally:
        payload.close()
    inserts = [r for r in records if r["p"] == "insert"]
    models = {m.__tablename__: m for m in SYNCABLE_MODELS}
    assert {"person", "session", "app_user"} <= {r["t"] for r in inserts}
    with per.db.read() as orm:
        for rec in inserts:
            obj = orm.get(models[rec["t"]], rec["r"])
            if rec["t"] == "session" and rec["r"] == s.id:
                continue  # cancelled since: its insert carries the values it was made with
            assert rec["f"] == {c: encode_value(getattr(obj, c)) for c in CONTENT[rec["t"]]}, rec["t"]
    cancelled = [r for r in records if r["t"] == "session" and r["r"] == s.id]
    assert [r["p"] for r in cancelled] == ["insert", "update"]
    assert cancelled[0]["f"]["cancelled"] is False and cancelled[1]["f"]["cancelled"] is True


def test_the_0006_migration_stores_unchanged_inserts_without_their_values(tmp_path: Path) -> None:
    """A database from before (every insert with its values) is migrated: the inserts of rows never
    changed since lose their copy, the others keep it, and nothing else changes."""
    from srcdesk.db import Database, downgrade
    from srcdesk.services.check import database_digest
    from srcdesk.services.setup import init_installation

    ctx = init_installation(tmp_path / "data", establishment="PER", office=False, admin_username="ann",
                            admin_name="Ann", admin_password="password123")
    jo = people.create_person(ctx, given_name="Jo", family_name="Bloggs")
    al = people.create_person(ctx, given_name="Al", family_name="Other")
    people.update_person(ctx, al.id, notes="changed")
    s = session_at(ctx)
    attendance.save_register(ctx, s.id, [attendance.RegisterEntry(jo.id), attendance.RegisterEntry(al.id)])

    def content(db: Database) -> dict[str, list[tuple]]:
        with db.engine.connect() as conn:
            d = conn.connection.driver_connection
            return {t: sorted(d.execute(f"SELECT * FROM {t}").fetchall()) for t in ("person", "session", "attendance")}

    before = content(ctx.db)
    downgrade(ctx.db.engine, "0005")
    with raw(ctx) as db:
        assert db.execute("SELECT count(*) FROM change_log WHERE fields IS NULL").fetchone() == (0,)
    ctx.db.close()
    db = Database.open(tmp_path / "data")  # migrates, after a backup
    try:
        with db.engine.connect() as conn:
            d = conn.connection.driver_connection
            null = {r[0] for r in d.execute("SELECT row_id FROM change_log WHERE fields IS NULL")}
            valued = {r[0] for r in d.execute("SELECT row_id FROM change_log WHERE op = 'insert' AND fields IS NOT NULL")}
        assert jo.id in null and s.id in null and al.id in valued
        assert content(db) == before
        assert run_check(db).ok
        assert database_digest(db)  # readable end to end
    finally:
        db.close()


def test_an_insert_written_into_the_log_on_import_keeps_yes_no_as_true_false(world) -> None:  # noqa: ANN001
    """The office receives a session (its insert logged without values), then an edit of it: the
    insert's values go into the log first, as a bundle carries them (a yes/no column as
    true/false, never 0/1: a bundle with 0 for a yes/no is refused)."""
    office, per = world.office, world["PER"]
    s = session_at(per)
    world.send(per, office)
    sessions.save_session(per, s.id, notes="changed")
    world.send(per, office)
    with raw(office) as db:
        [(fields,)] = db.execute("SELECT fields FROM change_log WHERE row_id = ? AND op = 'insert'", (s.id,)).fetchall()
    assert json.loads(fields)["cancelled"] is False
    all_ok(office)


def test_a_deleted_person_restored_with_an_edited_date(world) -> None:  # noqa: ANN001
    """Perth sets a liberation date while the office deletes the person: restoring the person with
    the edit (settling the conflict) brings the date back as a date."""
    office, per = world.office, world["PER"]
    jo = people.create_person(per, given_name="Jo", family_name="Bloggs")
    world.send(per, office)
    people.delete_person(office, jo.id, "registered in error")
    people.update_person(per, jo.id, liberation_date=TODAY + dt.timedelta(days=30))
    world.send(per, office)
    [c] = conflicts.list_conflicts(office)
    assert c.is_delete
    conflicts.resolve_conflict(office, c.id, "other")
    back = people.get_person(office, jo.id)
    assert back.deleted_hlc is None and back.liberation_date == TODAY + dt.timedelta(days=30)
    world.send(office, per)
    assert people.get_person(per, jo.id).liberation_date == TODAY + dt.timedelta(days=30)
    assert queue(office) == queue(per) == []
    all_ok(office, per)
