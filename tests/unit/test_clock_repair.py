"""Clocks recover (issue 9, item 6): a PC whose clock ran ahead, once corrected, repairs srcdesk's
clock and sends again at once, losing nothing and overwriting nobody.

Each PC's clock is its database's ``wall_ms`` (:class:`Wall` puts it ahead); the importers judge
"in the future" by their own clock. The scenarios run the real services on real installations and
carry real bundles (:class:`tests.conftest.World`).
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from srcdesk.cli import main
from srcdesk.db import system_wall_ms
from srcdesk.errors import PermissionDenied, ValidationError
from srcdesk.services import clock, conflicts, people, sync
from srcdesk.services.base import Context
from srcdesk.services.check import database_digest, run_check
from srcdesk.services.setup import open_installation
from srcdesk.services.users import authenticate
from srcdesk.sync import restamp
from srcdesk.sync.errors import BundleRefused
from srcdesk.sync.hlc import pack

from ..conftest import PASSWORD

DAY = dt.timedelta(days=1)


class Wall:
    """A PC's clock: the real one, ``offset`` ahead (or behind)."""

    def __init__(self, offset: dt.timedelta = dt.timedelta(0)) -> None:
        self.offset = offset

    def __call__(self) -> int:
        return system_wall_ms() + int(self.offset.total_seconds() * 1000)


def wrong_clock(ctx: Context, offset: dt.timedelta) -> Wall:
    wall = Wall(offset)
    ctx.db.wall_ms = wall
    return wall


@contextmanager
def raw(ctx: Context) -> Iterator[Any]:
    with ctx.db.engine.connect() as conn:
        yield conn.connection.driver_connection


def stored(ctx: Context) -> int:
    with raw(ctx) as db:
        return restamp.stored_clock(db)


def log_of(ctx: Context, row_id: str) -> list[tuple]:
    with raw(ctx) as db:
        return db.execute("SELECT seq, hlc, origin_id, op, fields, base FROM change_log WHERE row_id = ? "
                          "ORDER BY hlc", (row_id,)).fetchall()


def queue(ctx: Context) -> list[tuple]:
    with raw(ctx) as db:
        return sorted(db.execute(
            "SELECT table_name, row_id, field, winner_hlc, winner_origin, json_extract(winner_value, '$.v'), "
            "loser_hlc, loser_origin, json_extract(loser_value, '$.v') FROM sync_conflict").fetchall())


def people_rows(ctx: Context) -> list[tuple]:
    from srcdesk.sync.changelog import CONTENT

    with raw(ctx) as db:
        return db.execute(f"SELECT id, {', '.join(CONTENT['person'])} FROM person ORDER BY id").fetchall()


def all_ok(*ctxs: Context) -> None:
    for c in ctxs:
        report = run_check(c.db)
        assert report.ok, (c.installation.name, report.problems)


def cli(capsys: pytest.CaptureFixture, ctx: Context, *args: str) -> tuple[int, str]:
    code = main(["--data-dir", str(ctx.db.data_dir), *args])
    out = capsys.readouterr()
    return code, out.out + out.err


def reopened(world: Any, code: str) -> Context:
    """The PC's srcdesk closed and opened again (after a repair made by another process)."""
    old = world.sites[code]
    old.db.close()
    ctx = open_installation(old.db.data_dir)
    ctx = ctx.signed_in(authenticate(ctx.db, old.user.username, PASSWORD))
    world.sites[code] = ctx
    return ctx


# -- the test -----------------------------------------------------------------------------


def test_a_pc_two_days_ahead_sends_again_at_once_after_clock_repair(world, capsys, monkeypatch) -> None:  # noqa: ANN001
    """+2 days, edit, export: the office refuses, naming the command. Correct the clock: 'clock
    check' says so (exit 1); 'clock repair'; export; the office imports; the edit is there; check
    passes everywhere."""
    office, per = world.office, world["PER"]
    jo = people.create_person(per, given_name="Jo", family_name="Bloggs")
    world.send(per, office)

    wall = wrong_clock(per, 2 * DAY)
    people.update_person(per, jo.id, notes="Seen on Tuesday")
    kim = people.create_person(per, given_name="Kim", family_name="Lee")
    skewed = world.export(per)
    with pytest.raises(BundleRefused, match=r"in the future.*run 'srcdesk clock repair'"):
        sync.import_bundle(office, skewed, backup=False)

    wall.offset = dt.timedelta(0)  # someone put the PC's clock right
    code, out = cli(capsys, per, "clock", "check")
    assert code == 1, out
    lines = out.splitlines()
    assert lines[0].startswith("This PC's clock: ") and lines[1].startswith("srcdesk's clock: ")
    assert "srcdesk's clock is 2 days ahead of this PC's clock." in lines
    assert "2 changes made on this PC are stamped after now; 2 of them were in a bundle already written." in lines
    assert lines[-1].startswith("A repair is needed: ") and "'srcdesk clock repair'" in lines[-1]

    monkeypatch.setenv("SRCDESK_USER", per.user.username)
    monkeypatch.setenv("SRCDESK_PASSWORD", PASSWORD)
    code, out = cli(capsys, per, "clock", "repair")
    assert code == 0, out
    assert "Re-stamped 2 changes made on this PC (1 edit, 1 new record); 2 of them had been in a bundle" in out
    assert "srcdesk's clock went back from " in out and "A backup was made first: " in out
    per = reopened(world, "PER")  # the repair ran in another process: this one starts again
    assert cli(capsys, per, "clock", "check")[0] == 0

    result = world.send(per, office)
    assert (result.new, result.updated) == (1, 1)
    assert people.get_person(office, jo.id).notes == "Seen on Tuesday"
    assert people.get_person(office, kim.id).given_name == "Kim"
    world.send(office, per)
    assert people_rows(office) == people_rows(per)
    assert queue(office) == queue(per) == []
    all_ok(office, per)
    for c in (office, per):
        assert cli(capsys, c, "clock", "check")[0] == 0
        assert cli(capsys, c, "check")[0] == 0


def test_export_refuses_while_changes_are_stamped_more_than_a_day_ahead(world, tmp_path) -> None:  # noqa: ANN001
    """No point writing a bundle every importer refuses, nor one that looks like all was sent while
    the refused changes wait: export names the repair instead, and writes nothing."""
    per = world["PER"]
    wall = wrong_clock(per, 2 * DAY)
    people.create_person(per, given_name="Jo", family_name="Bloggs")
    wall.offset = dt.timedelta(0)
    stick = tmp_path / "usb"
    stick.mkdir()
    with pytest.raises(ValidationError, match=r"1 change made on this PC is stamped up to .*more than a day ahead "
                                              r"of this PC's clock\. .*run 'srcdesk clock repair'"):
        sync.export_bundles(per, stick)
    assert list(stick.iterdir()) == []
    clock.repair_clock(per)
    [written] = sync.export_bundles(per, stick)
    assert written.counts["person"] == 1


def test_export_goes_ahead_within_the_importers_slack(world) -> None:  # noqa: ANN001
    """Twenty hours ahead is within the day importers allow: the bundle is written and taken."""
    office, per = world.office, world["PER"]
    wall = wrong_clock(per, dt.timedelta(hours=20))
    people.create_person(per, given_name="Jo", family_name="Bloggs")
    wall.offset = dt.timedelta(0)
    assert world.send(per, office).new == 2


# -- overwriting nobody ----------------------------------------------------------------------------


@pytest.mark.parametrize("seen", [False, True], ids=["not-seen-before-repair", "seen-before-repair"])
def test_an_office_edit_made_before_the_repair_is_not_overwritten(world, seen: bool) -> None:  # noqa: ANN001
    """Perth (clock 2 days ahead) edits Jo's notes; its bundle is refused. Then the office edits the
    same notes. After the repair the office's edit stays, everywhere, and Perth's value goes to the
    conflict queue, because the repaired edit keeps its base: it had not seen the office's edit, so
    the two are concurrent and the clocks order them, and it is stamped at the latest moment Perth
    knows it came after (before the office's edit), not at the moment of the repair. It loses by
    the rules and, its value differing, is queued for a person: nothing is lost. (Had Perth already
    imported the office's edit before the repair, it showed its own value until then; the repair
    puts the office's in front there too.)"""
    office, per = world.office, world["PER"]
    jo = people.create_person(per, given_name="Jo", family_name="Bloggs")
    world.send(per, office)
    wall = wrong_clock(per, 2 * DAY)
    people.update_person(per, jo.id, notes="Perth's note")
    with pytest.raises(BundleRefused, match="srcdesk clock repair"):
        world.send(per, office)
    people.update_person(office, jo.id, notes="The office's note")
    if seen:
        world.send(office, per)
        assert people.get_person(per, jo.id).notes == "Perth's note"  # its stamp is days ahead
    wall.offset = dt.timedelta(0)

    result = clock.repair_clock(per)
    assert (result.changes, result.changed) == (1, 1 if seen else 0)
    world.send(per, office)
    if not seen:
        world.send(office, per)
    for c in (office, per):
        assert people.get_person(c, jo.id).notes == "The office's note", c.installation.name
    [entry] = queue(office)
    assert entry == queue(per)[0]
    assert entry[2] == "notes" and entry[4] == office.installation.id and entry[5] == "The office's note"
    assert entry[7] == per.installation.id and entry[8] == "Perth's note"
    [item] = conflicts.list_conflicts(office)
    assert item.other.value == "Perth's note" and item.current.value == "The office's note"
    all_ok(office, per)


def test_the_same_value_typed_at_the_office_meanwhile_is_no_conflict(world) -> None:  # noqa: ANN001
    """Where both wrote the same value there is nothing to decide: the repaired edit loses by the
    rules and nothing is queued."""
    office, per = world.office, world["PER"]
    jo = people.create_person(per, given_name="Jo", family_name="Bloggs")
    world.send(per, office)
    wall = wrong_clock(per, 2 * DAY)
    people.update_person(per, jo.id, notes="Moved to B hall")
    people.update_person(office, jo.id, notes="Moved to B hall")
    wall.offset = dt.timedelta(0)
    clock.repair_clock(per)
    world.send(per, office)
    world.send(office, per)
    assert queue(office) == queue(per) == []
    assert people.get_person(per, jo.id).notes == people.get_person(office, jo.id).notes == "Moved to B hall"


def test_a_repaired_delete_stays_a_delete(world) -> None:  # noqa: ANN001
    office, per = world.office, world["PER"]
    jo = people.create_person(per, given_name="Jo", family_name="Bloggs")
    world.send(per, office)
    wall = wrong_clock(per, 2 * DAY)
    people.delete_person(per, jo.id, "Registered twice")
    wall.offset = dt.timedelta(0)
    result = clock.repair_clock(per)
    assert (result.changes, result.deletions) == (1, 1)
    [delete] = [r for r in log_of(per, jo.id) if r[3] == "delete"]
    assert json.loads(delete[4])["deleted_hlc"] == delete[1]  # the tombstone carries its new stamp
    assert delete[1] <= pack(system_wall_ms(), 0xFFFF)
    world.send(per, office)
    for c in (office, per):
        with raw(c) as db:
            row = db.execute("SELECT deleted_hlc, deleted_reason, updated_hlc FROM person WHERE id = ?",
                             (jo.id,)).fetchone()
        assert row == (delete[1], "Registered twice", delete[1]), c.installation.name
    assert queue(office) == queue(per) == []
    all_ok(office, per)


def test_changes_saved_together_keep_sharing_a_stamp(world) -> None:  # noqa: ANN001
    """A transfer saves the person and the transfer line in one go, with one stamp: after the repair
    they share the new one, and the office takes both."""
    office, per = world.office, world["PER"]
    jo = people.create_person(per, given_name="Jo", family_name="Bloggs")
    world.send(per, office)
    wall = wrong_clock(per, 2 * DAY)
    move = people.transfer_person(per, jo.id, "est-bar", on=dt.date.today(), reason="Closer to family")
    wall.offset = dt.timedelta(0)
    assert clock.repair_clock(per).changes == 2  # the person's establishment, and the transfer line
    with raw(per) as db:
        [(person_stamp,)] = db.execute("SELECT hlc FROM change_log WHERE row_id = ? AND op = 'update'",
                                       (jo.id,)).fetchall()
        [(line_stamp,)] = db.execute("SELECT hlc FROM change_log WHERE row_id = ?", (move.id,)).fetchall()
    assert person_stamp == line_stamp <= pack(system_wall_ms(), 0xFFFF)
    world.send(per, office)
    assert people.get_person(office, jo.id).establishment_id == "est-bar"
    assert [m.id for m in people.establishment_history(office, jo.id)] == [move.id]
    all_ok(office, per)


# -- a bundle taken within the slack ----------------------------------------------------------------


def _accepted_within_the_slack(world: Any) -> tuple[Context, Context, Any, Any]:
    office, per = world.office, world["PER"]
    jo = people.create_person(per, given_name="Jo", family_name="Bloggs")
    world.send(per, office)
    wall = wrong_clock(per, dt.timedelta(hours=20))
    people.update_person(per, jo.id, notes="Seen on Tuesday")
    kim = people.create_person(per, given_name="Kim", family_name="Lee")
    people.update_person(per, kim.id, notes="New on Monday")
    assert world.send(per, office).new == 1  # 20 hours ahead: within the day the office allows
    wall.offset = dt.timedelta(0)
    return office, per, jo, kim


def test_a_pc_whose_skewed_bundle_was_taken_repairs_without_duplicating_anything(world, capsys) -> None:  # noqa: ANN001
    """The office took Perth's bundle (20 hours ahead is within its slack). Perth repairs anyway
    (srcdesk's clock is more than an hour ahead); its re-stamped changes name the stamps they
    replace, so the office, which holds those, takes the new ones as knowing overwrites: no record
    twice, no value changed, nothing queued."""
    office, per, jo, kim = _accepted_within_the_slack(world)
    assert cli(capsys, per, "clock", "check")[0] == 1
    rows_before = people_rows(office)
    result = clock.repair_clock(per)
    assert (result.changes, result.written, result.new_records) == (3, 3, 1)
    imported = world.send(per, office)
    assert (imported.new, imported.updated, imported.conflicts) == (0, 0, 0)
    assert people_rows(office) == rows_before == people_rows(per)
    assert people.get_person(office, kim.id).notes == "New on Monday"
    with raw(office) as db:
        assert db.execute("SELECT count(*) FROM person WHERE id = ?", (kim.id,)).fetchone() == (1,)
    world.send(office, per)
    assert people_rows(per) == rows_before
    assert queue(office) == queue(per) == []
    all_ok(office, per)
    assert cli(capsys, per, "clock", "check")[0] == 0


def test_an_edit_after_the_taken_bundle_overwrites_its_old_stamp_knowingly(world) -> None:  # noqa: ANN001
    """Perth changed the notes again after the office took its bundle. Re-stamped, the first edit
    names the stamp it replaces (which the office holds, days ahead of it) and the second names the
    first: the office shows the second, with nothing queued."""
    office, per, jo, kim = _accepted_within_the_slack(world)
    per.db.wall_ms = Wall(dt.timedelta(hours=20))
    people.update_person(per, kim.id, notes="Moved on Wednesday")
    per.db.wall_ms = Wall()
    clock.repair_clock(per)
    world.send(per, office)
    world.send(office, per)
    for c in (office, per):
        assert people.get_person(c, kim.id).notes == "Moved on Wednesday", c.installation.name
    assert queue(office) == queue(per) == []
    all_ok(office, per)


def test_retired_stamps_that_come_back_change_no_value(world) -> None:  # noqa: ANN001
    """The office holds Perth's old stamps and sends everything back (--full): Perth's records keep
    their values (the new changes name the old ones they replace) and nothing is queued."""
    office, per, jo, kim = _accepted_within_the_slack(world)
    clock.repair_clock(per)
    world.send(per, office)
    rows = people_rows(per)
    world.send(office, per, full=True)
    assert people_rows(per) == rows == people_rows(office)
    assert queue(per) == []
    all_ok(office, per)


def test_a_retired_stamp_is_not_taken_again(world) -> None:  # noqa: ANN001
    """...and does not take them again: its clock stays right."""
    office, per, jo, kim = _accepted_within_the_slack(world)
    clock.repair_clock(per)
    world.send(per, office)
    world.send(office, per, full=True)
    with raw(per) as db:
        retired = restamp.retired_versions(db)
        logged = set(db.execute("SELECT hlc, origin_id FROM change_log").fetchall())
    assert retired and not retired & logged
    assert not clock.clock_status(per).needs_repair


# -- what the repair rewrites -----------------------------------------------------------------------


def test_the_repair_rewrites_everything_that_named_the_old_stamps(world) -> None:  # noqa: ANN001
    """Later changes' bases, the rows' stamps, the conflict queue (when each was first seen kept),
    new log positions above every watermark, one backup, the stored clock back to the present."""
    office, per = world.office, world["PER"]
    jo = people.create_person(per, given_name="Jo", family_name="Bloggs")
    world.send(per, office)
    people.update_person(office, jo.id, notes="The office's note")
    wall = wrong_clock(per, 3 * DAY)
    people.update_person(per, jo.id, notes="Perth's note")  # made without seeing the office's: a conflict
    world.send(office, per)
    people.update_person(per, jo.id, notes="Perth's note, again")  # names the first, made after seeing the office's
    [(detected,)] = [(c.detected_at,) for c in conflicts.list_conflicts(per)]
    wall.offset = dt.timedelta(0)
    with raw(per) as db:
        watermark = db.execute("SELECT max(seq) FROM change_log").fetchone()[0]
        old = {r[0]: r for r in db.execute("SELECT hlc, seq, base FROM change_log WHERE origin_id = ? AND hlc > ?",
                                           (per.installation.id, pack(system_wall_ms(), 0)))}
    assert len(old) == 2
    backups = set((per.db.data_dir / "backups").glob("*.sqlite3"))

    result = clock.repair_clock(per)

    assert len(set((per.db.data_dir / "backups").glob("*.sqlite3")) - backups) == 1
    first, second = sorted(old)
    mine = [r for r in log_of(per, jo.id) if r[2] == per.installation.id and r[3] == "update"]
    assert len(mine) == 2 and all(r[0] > watermark for r in mine)
    new_first, new_second = sorted(r[1] for r in mine)
    assert new_first < new_second <= pack(system_wall_ms(), 0xFFFF)
    later = json.loads([r for r in mine if r[1] == new_second][0][5])
    named = {tuple(v) for v in later["notes"]}
    assert {(new_first, per.installation.id), (first, per.installation.id), (second, per.installation.id)} <= named
    with raw(per) as db:
        assert db.execute("SELECT updated_hlc FROM person WHERE id = ?", (jo.id,)).fetchone() == (new_second,)
    [item] = conflicts.list_conflicts(per)
    assert item.detected_at == detected
    # The second edit came after Perth took the office's, and still does: it wins, the office's is queued.
    assert (item.current.value, item.other.value) == ("Perth's note, again", "The office's note")
    assert result.clock_after < result.clock_before and stored(per) == per.db.clock.last
    assert per.db.clock.last <= pack(system_wall_ms(), 0xFFFF)
    all_ok(per)
    # The office took none of it yet; now it does, and both hold the same.
    world.send(per, office)
    world.send(office, per)
    assert people_rows(office) == people_rows(per)
    assert [c[2:] for c in queue(office)] == [c[2:] for c in queue(per)]
    assert people.get_person(office, jo.id).notes == "Perth's note, again"
    all_ok(office, per)


def test_the_repair_is_one_transaction(world, monkeypatch) -> None:  # noqa: ANN001
    per = world["PER"]
    wall = wrong_clock(per, 2 * DAY)
    jo = people.create_person(per, given_name="Jo", family_name="Bloggs")
    people.update_person(per, jo.id, notes="Seen")
    wall.offset = dt.timedelta(0)
    digest = database_digest(per.db)

    def broken(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("the disk went away")

    monkeypatch.setattr(restamp, "_fold_again", broken)
    with pytest.raises(RuntimeError):
        clock.repair_clock(per)
    assert database_digest(per.db) == digest
    assert clock.clock_status(per).needs_repair


def test_repair_refuses_when_there_is_nothing_to_repair_and_needs_an_administrator(world, make_user) -> None:  # noqa: ANN001
    per = world["PER"]
    with pytest.raises(ValidationError, match="Nothing needs repairing: srcdesk's clock agrees with this PC's"):
        clock.repair_clock(per)
    wall = wrong_clock(per, dt.timedelta(minutes=30))
    people.create_person(per, given_name="Jo", family_name="Bloggs")
    wall.offset = dt.timedelta(0)
    status = clock.clock_status(per)
    assert not status.needs_repair and status.ahead >= dt.timedelta(minutes=29)
    with pytest.raises(ValidationError, match="Nothing needs repairing: srcdesk's clock is 30 minutes ahead"):
        clock.repair_clock(per)
    wrong_clock(per, 2 * DAY)
    people.create_person(per, given_name="Kim", family_name="Lee")
    per.db.wall_ms = Wall()
    coordinator = make_user(per, "coordinator", "colin")
    with pytest.raises(PermissionDenied, match="Only an administrator can repair srcdesk's clock"):
        clock.repair_clock(coordinator)
    assert clock.clock_status(per).needs_repair


def test_a_clock_ahead_only_because_of_what_another_pc_sent_is_repaired_there(world) -> None:  # noqa: ANN001
    """The office took a bundle stamped 20 hours ahead: its clock follows (it never goes below what
    it has seen). Its check says whose clock it was; a repair at the office can't help and says so."""
    office, per = world.office, world["PER"]
    wrong_clock(per, dt.timedelta(hours=20))
    people.create_person(per, given_name="Jo", family_name="Bloggs")
    world.send(per, office)
    status = clock.clock_status(office)
    assert status.needs_repair and not status.repairable
    assert status.received_from == per.installation.name and status.changes_ahead == 0
    assert any(line.startswith(f"Changes received from {per.installation.name} are stamped up to ")
               for line in status.describe())
    with pytest.raises(ValidationError, match="Nothing can be repaired on this PC"):
        clock.repair_clock(office)


# -- the clock never goes back, except through a repair ---------------------------------------------


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(steps=st.lists(st.tuples(st.integers(-3 * 24 * 60, 3 * 24 * 60), st.sampled_from(["edit", "reopen"])),
                      min_size=1, max_size=6))
def test_the_stored_clock_never_moves_back_except_through_a_repair(ctx, steps) -> None:  # noqa: ANN001
    """Whatever the PC's clock does (back or forward, by up to three days), through edits and
    restarts, srcdesk's clock never goes back; a repair takes it back to the present (not below)."""
    wall = Wall()
    ctx.db.wall_ms = wall
    jo = people.create_person(ctx, given_name="Jo", family_name="Bloggs")
    last = stored(ctx)
    for minutes, action in steps:
        wall.offset = dt.timedelta(minutes=minutes)
        if action == "edit":
            people.update_person(ctx, jo.id, notes=f"{minutes} minutes")
        else:
            from srcdesk.db import Database

            ctx.db.close()
            # The fixture's (frozen) Context is shared by every example: restart its database in place.
            object.__setattr__(ctx, "db", Database.open(ctx.db.data_dir, wall_ms=wall))
        now = stored(ctx)
        assert now >= last and ctx.db.clock.last >= last
        last = now
    wall.offset = dt.timedelta(0)
    status = clock.clock_status(ctx)
    if status.needs_repair:
        clock.repair_clock(ctx)
        assert stored(ctx) == ctx.db.clock.last <= pack(system_wall_ms(), 0xFFFF)
        assert not clock.clock_status(ctx).needs_repair
        all_ok(ctx)
