"""``services.sync.import_bundles()`` (issue 9, item 8): several bundle files, one backup, each file
decrypted once, the backup made while the preview is read, refusals kept with their file.

Real installations (the ``world`` fixture: the SRC office, HMP Perth and HMP Barlinnie, enrolled
with each other), real bundles, real backups; only counters and recorders are wrapped around the
real functions.
"""

from __future__ import annotations

import datetime as dt
import json
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from srcdesk import cli
from srcdesk.errors import DatabaseError
from srcdesk.services import attendance, people, sessions, sync
from srcdesk.services.base import Context
from srcdesk.services.sync import importing
from srcdesk.sync import bundle as fmt
from srcdesk.sync.errors import BundleRefused

from ..conftest import PASSWORD

TODAY = dt.date.today()


def backups(ctx: Context) -> list[Path]:
    folder = ctx.db.data_dir / "backups"
    return sorted(folder.glob("*.sqlite3")) if folder.is_dir() else []


def count_calls(monkeypatch: pytest.MonkeyPatch, owner: Any, name: str) -> list[Any]:
    """Wrap ``owner.name`` so that each call is recorded (its arguments); the real one runs."""
    calls: list[Any] = []
    real = getattr(owner, name)

    def wrapper(*args: Any, **kwargs: Any) -> Any:
        calls.append(args)
        return real(*args, **kwargs)

    monkeypatch.setattr(owner, name, wrapper)
    return calls


def payloads_opened_and_closed(monkeypatch: pytest.MonkeyPatch) -> tuple[list[Any], list[Any]]:
    """Every payload the import opens, and every close of one."""
    opened: list[Any] = []
    closed: list[Any] = []
    real_open, real_close = fmt.open_payload, fmt.Payload.close

    def open_payload(*args: Any, **kwargs: Any) -> Any:
        payload = real_open(*args, **kwargs)
        opened.append(payload)
        return payload

    def close(self: Any) -> None:
        closed.append(self)
        real_close(self)

    monkeypatch.setattr(fmt, "open_payload", open_payload)
    monkeypatch.setattr(fmt.Payload, "close", close)
    return opened, closed


def three_bundles(world: Any) -> list[Path]:
    """Perth's bundles 1 and 2 and Barlinnie's bundle 1, given out of order."""
    per, bar = world["PER"], world["BAR"]
    people.create_person(per, given_name="Jo", family_name="Bloggs")
    first = world.export(per)
    people.create_person(per, given_name="Sam", family_name="Smith")
    second = world.export(per)
    people.create_person(bar, given_name="Cal", family_name="Barr")
    third = world.export(bar)
    return [second, third, first]


def tampered(path: Path, into: Path) -> Path:
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0x01
    into.mkdir(parents=True, exist_ok=True)
    bad = into / path.name
    bad.write_bytes(bytes(data))
    return bad


# -- one backup, one decryption ---------------------------------------------------------------------


def test_several_bundles_one_backup_each_decrypted_once_oldest_first(world, monkeypatch) -> None:  # noqa: ANN001
    office = world.office
    paths = three_bundles(world)
    decrypted = count_calls(monkeypatch, fmt, "verify_and_decrypt")
    applied = count_calls(monkeypatch, importing, "apply")
    opened, closed = payloads_opened_and_closed(monkeypatch)
    asked: list[sync.BatchPreview] = []
    steps: list[tuple[int, int, str]] = []

    def preview(batch: sync.BatchPreview) -> bool:
        asked.append(batch)
        return True

    done = sync.import_bundles(office, paths, preview=preview,
                               progress=lambda d, t, what: steps.append((d, t, what)))
    assert len(decrypted) == 3  # one per file, preview and apply together
    assert len(backups(office)) == 1 and done.backup == backups(office)[0]
    assert len(asked) == 1 and [f.path for f in asked[0].files] == paths and asked[0].backing_up
    assert [o.path for o in done.outcomes] == paths  # each outcome with its file, in the order given
    assert all(o.applied and o.result.backup == done.backup for o in done.outcomes)
    # applied oldest first per origin: Barlinnie's, then Perth's 1 and 2
    assert [(opened.verified.origin_name, opened.verified.seq) for _ctx, opened, _progress in applied] == [
        ("HMP Barlinnie", 1), ("HMP Perth", 1), ("HMP Perth", 2)]
    assert len(opened) == 3 and sorted(map(id, closed)) == sorted(map(id, opened))  # nothing left open
    assert done.totals()["new"] == 5  # three people and the two establishments' administrators
    assert done.missing == {}
    # progress across the whole batch: the checks, then the apply of all three bundles
    checks = [s for s in steps if s[2].startswith("Checking")]
    assert [s[:2] for s in checks] == [(0, 3), (1, 3), (2, 3)]
    applying = [s for s in steps if s[2].startswith("Bundle ")]
    assert {s[1] for s in applying} == {sum(o.verified.total for o in done.outcomes)}
    assert [s[0] for s in applying] == sorted(s[0] for s in applying)
    assert "Bundle 3 of 3" in applying[-1][2] and steps[-1] == (applying[0][1], applying[0][1], "Done")


def test_the_backup_is_made_while_the_preview_is_read(world, monkeypatch) -> None:  # noqa: ANN001
    """The backup starts before the preview is answered, and the first bundle is applied after it
    is finished: the preview here waits to see it start, and the backup waits for the answer."""
    office = world.office
    paths = three_bundles(world)[:2]
    events: list[str] = []
    started, answered = threading.Event(), threading.Event()
    real_backup = importing.timestamped_backup

    def backup(data_dir: Path, reason: str, **kw) -> Path:  # noqa: ANN003
        events.append("backup started")
        started.set()
        answered.wait(5)
        made = real_backup(data_dir, reason, **kw)
        events.append("backup finished")
        return made

    def preview(batch: sync.BatchPreview) -> bool:
        started.wait(5)  # with the backup made after the preview, this would wait in vain
        events.append("preview answered")
        answered.set()
        return True

    real_apply = importing.apply

    def apply(*args: Any, **kwargs: Any) -> Any:
        events.append("apply")
        return real_apply(*args, **kwargs)

    monkeypatch.setattr(importing, "timestamped_backup", backup)
    monkeypatch.setattr(importing, "apply", apply)
    done = sync.import_bundles(office, paths, preview=preview)
    assert events == ["backup started", "preview answered", "backup finished", "apply", "apply"]
    assert len(done.applied) == 2 and len(backups(office)) == 1


def test_one_refused_file_among_good_ones_never_stops_them(world, tmp_path, monkeypatch) -> None:  # noqa: ANN001
    office = world.office
    good = three_bundles(world)
    bad = tampered(good[0], tmp_path / "copy")
    junk = tmp_path / "notes.srcbundle"
    junk.write_text("not a bundle at all")
    opened, closed = payloads_opened_and_closed(monkeypatch)
    asked: list[sync.BatchPreview] = []
    done = sync.import_bundles(office, [bad, good[1], junk, good[2]], preview=lambda b: asked.append(b) or True)
    states = [(f.path.name, f.ready, f.error is not None) for f in asked[0].files]
    assert states == [(bad.name, False, True), (good[1].name, True, False), ("notes.srcbundle", False, True),
                      (good[2].name, True, False)]
    assert [o.refused for o in done.outcomes] == [True, False, True, False]
    assert isinstance(done.outcomes[0].error, BundleRefused) and isinstance(done.outcomes[2].error, BundleRefused)
    assert str(done.outcomes[0].error) == str(asked[0].files[0].error)  # the refusal stays with its file
    assert len(done.applied) == 2 and len(backups(office)) == 1
    assert sorted(map(id, closed)) == sorted(map(id, opened))


def test_nothing_to_apply_asks_nothing_and_backs_up_nothing(world, tmp_path) -> None:  # noqa: ANN001
    office = world.office
    [path] = three_bundles(world)[2:]
    sync.import_bundles(office, [path], backup=False)
    junk = tmp_path / "junk.srcbundle"
    junk.write_bytes(b"PK")
    asked: list[Any] = []
    done = sync.import_bundles(office, [path, junk], preview=asked.append)
    assert asked == [] and backups(office) == []
    assert done.outcomes[0].result.already_imported and done.outcomes[1].refused and done.applied == []


def test_the_same_bundle_chosen_twice_is_imported_once(world, tmp_path) -> None:  # noqa: ANN001
    office = world.office
    [path] = three_bundles(world)[2:]
    copy = tmp_path / "elsewhere" / path.name
    copy.parent.mkdir()
    copy.write_bytes(path.read_bytes())
    asked: list[sync.BatchPreview] = []
    done = sync.import_bundles(office, [path, copy], preview=lambda b: asked.append(b) or True)
    assert [f.ready for f in asked[0].files] == [True, False] and asked[0].files[1].same_as == path
    assert done.outcomes[0].applied and done.outcomes[1].same_as == path
    assert done.outcomes[1].result.already_imported and not done.refused


# -- cancel, a file changed, a failed backup --------------------------------------------------------


def test_cancel_at_the_preview_applies_nothing_and_leaves_nothing_open(world, monkeypatch, table_hash) -> None:  # noqa: ANN001
    office = world.office
    paths = three_bundles(world)
    before = table_hash(office)
    opened, closed = payloads_opened_and_closed(monkeypatch)
    applied = count_calls(monkeypatch, importing, "apply")
    done = sync.import_bundles(office, paths, preview=lambda _b: False)
    assert done.cancelled and applied == [] and done.applied == [] and not done.refused
    assert table_hash(office) == before
    assert len(opened) == 3 and sorted(map(id, closed)) == sorted(map(id, opened))
    assert backups(office) == []  # the backup made for nothing is not kept
    with pytest.raises(BundleRefused, match="cancelled"):
        sync.import_bundle(office, paths[0], preview=lambda _v: False)


def test_a_backup_made_for_nothing_prunes_nothing_a_kept_one_prunes(world) -> None:  # noqa: ANN001
    """Automatic backups are pruned only once the import's own backup is kept: an import cancelled at
    its preview deletes its backup again, and must not have pruned an older one in its place."""
    office = world.office
    paths = three_bundles(world)
    folder = office.db.data_dir / "backups"
    folder.mkdir(mode=0o700, exist_ok=True)
    old = []
    for days in range(1, 41):  # an import a day for 40 days: the rule keeps far fewer
        when = dt.datetime.now() - dt.timedelta(days=days)
        old.append(folder / f"srcdesk-{when:%Y%m%d-%H%M%S-%f}-before-import.sqlite3")
        old[-1].write_bytes(b"backup")
    sync.import_bundles(office, paths, preview=lambda _b: False)
    assert backups(office) == sorted(old)
    done = sync.import_bundles(office, paths, preview=lambda _b: True)
    assert done.applied and done.backup in backups(office)
    assert len(backups(office)) < 12 and len([p for p in old if p.exists()]) < len(old)


def test_a_file_changed_after_the_preview_is_refused(world, monkeypatch) -> None:  # noqa: ANN001
    office = world.office
    second, third, first = three_bundles(world)

    def preview(batch: sync.BatchPreview) -> bool:
        # someone copies another bundle over the first file while the preview is read
        first.write_bytes(second.read_bytes())
        return True

    done = sync.import_bundles(office, [first, third], preview=preview)
    assert done.outcomes[0].refused and "changed after it was checked" in str(done.outcomes[0].error)
    assert done.outcomes[1].applied and done.applied == [done.outcomes[1].result]
    assert len(backups(office)) == 1


def test_a_file_written_again_with_the_same_bytes_is_still_applied(world) -> None:  # noqa: ANN001
    office = world.office
    [path] = three_bundles(world)[2:]

    def preview(_batch: sync.BatchPreview) -> bool:
        time.sleep(0.01)
        path.write_bytes(path.read_bytes())  # copied onto the stick again: a new time, the same bundle
        return True

    done = sync.import_bundles(office, [path], preview=preview)
    assert done.outcomes[0].applied


def test_a_failed_backup_applies_nothing(world, monkeypatch, table_hash) -> None:  # noqa: ANN001
    office = world.office
    paths = three_bundles(world)
    before = table_hash(office)
    opened, closed = payloads_opened_and_closed(monkeypatch)

    def backup(_data_dir: Path, _reason: str, **_kw) -> Path:  # noqa: ANN003
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(importing, "timestamped_backup", backup)
    with pytest.raises(DatabaseError, match="Couldn't back up the data before the import.*No space left"):
        sync.import_bundles(office, paths, preview=lambda _b: True)
    assert table_hash(office) == before and sorted(map(id, closed)) == sorted(map(id, opened))


def test_beyond_the_memory_budget_a_bundle_is_decrypted_again_when_its_turn_comes(world, monkeypatch) -> None:  # noqa: ANN001
    office = world.office
    paths = three_bundles(world)
    monkeypatch.setattr(importing, "KEEP_OPEN_BYTES", 1)  # keep only the first
    decrypted = count_calls(monkeypatch, fmt, "verify_and_decrypt")
    opened, closed = payloads_opened_and_closed(monkeypatch)
    done = sync.import_bundles(office, paths, preview=lambda _b: True)
    assert len(done.applied) == 3 and len(decrypted) == 5
    assert sorted(map(id, closed)) == sorted(map(id, opened))


def test_gaps_in_the_preview_count_the_other_files_of_the_import(world) -> None:  # noqa: ANN001
    per, office = world["PER"], world.office
    made = []
    for name in ("Ann", "Ben", "Cat"):
        people.create_person(per, given_name=name, family_name="Gap")
        made.append(world.export(per))
    asked: list[sync.BatchPreview] = []
    done = sync.import_bundles(office, [made[2], made[1]], preview=lambda b: asked.append(b) or True)
    assert [(f.verified.seq, f.verified.missing_before, f.missing_before) for f in asked[0].files] == [
        (3, [1, 2], (1,)), (2, [1], (1,))]
    assert done.missing == {"HMP Perth": (1,)}


# -- held, waiting, merged: counted, shown, in the history -----------------------------------------


def session_at(ctx: Context, start: str = "10:00", end: str = "11:00") -> Any:
    return sessions.save_session(ctx, date=TODAY, start_time=start, end_time=end, activity_type_id="act-cafe").session


def held_session_bundle(world: Any) -> tuple[Any, Any, Path]:
    """The office moves a session's end earlier, Perth its start later: together it would end
    before it starts. Returns (the session, someone else Perth changed, Perth's bundle)."""
    office, per = world.office, world["PER"]
    s = session_at(per, "10:00", "11:00")
    other = people.create_person(per, given_name="Al", family_name="Other")
    world.send(per, office)
    sessions.save_session(office, s.id, end_time="10:30")
    sessions.save_session(per, s.id, start_time="10:45")
    people.update_person(per, other.id, notes="still applies")
    people.create_person(per, given_name="New", family_name="Comer")
    return s, other, world.export(per)


def test_held_records_are_counted_described_and_listed_in_the_history(world) -> None:  # noqa: ANN001
    office = world.office
    s, other, path = held_session_bundle(world)
    done = sync.import_bundles(office, [path], backup=False)
    [r] = done.applied
    assert (r.new, r.updated, r.held, r.waiting, r.merged) == (1, 1, 1, 0, 0)
    assert r.records == 3 == len(records_in(office, path))  # the counts add up
    assert [(t, i) for t, i, _why in r.held_rows] == [("session", s.id)]
    [held] = r.held_records
    assert held.record.startswith("Session: ") and held.still_held
    assert held.reason == ("its session would end (10:30) before it starts (10:45): its times were changed "
                           "on two PCs; set them again here to release it")
    assert r.describe().endswith("3 records: 1 new, 1 updated, 1 held (can't be applied yet).")
    assert people.get_person(office, other.id).notes == "still applies"

    [origin] = [h for h in sync.bundle_history(office) if h.origin_name == "HMP Perth"]
    latest = origin.entries[0]
    assert latest.seq == 2 and [h.row_id for h in latest.held] == [s.id] and latest.held[0].still_held
    assert "1 held (can't be applied yet)" in latest.outcome()
    assert latest.held[0].text() == f"{held.record} — {held.reason}"
    assert origin.entries[1].held == ()

    sessions.save_session(office, s.id, end_time="11:30")  # a person fixes it at the office: released
    [origin] = [h for h in sync.bundle_history(office) if h.origin_name == "HMP Perth"]
    assert not origin.entries[0].held[0].still_held


def test_a_record_held_by_an_earlier_bundle_is_not_counted_again(world) -> None:  # noqa: ANN001
    """Perth's bundle 2 holds the session; bundle 3 brings someone new, and its import tries the
    session again (still held): bundle 3 holds nothing of its own, and the history lists the session
    once, under bundle 2."""
    office, per = world.office, world["PER"]
    s, _other, held_path = held_session_bundle(world)
    people.create_person(per, given_name="Fay", family_name="Muir")
    later = world.export(per)
    done = sync.import_bundles(office, [held_path, later], backup=False)
    first, second = done.applied
    assert (first.held, [h.row_id for h in first.held_records], first.held_again) == (1, [s.id], ())
    assert (second.held, second.held_records, [h.row_id for h in second.held_again]) == (0, (), [s.id])
    assert (second.new, second.records) == (1, 1)
    [origin] = [h for h in sync.bundle_history(office) if h.origin_name == "HMP Perth"]
    assert [(e.seq, [h.row_id for h in e.held]) for e in origin.entries] == [(3, []), (2, [s.id]), (1, [])]
    assert "held" not in origin.entries[0].outcome() and "1 held" in origin.entries[1].outcome()


def merging_bundle(world: Any) -> tuple[Any, Path]:
    """Jo put on one register at the office and at Perth before they heard of each other: Perth's
    bundle brings one register line, the same as the office's. Returns (the session, the bundle)."""
    office, per = world.office, world["PER"]
    jo = people.create_person(per, given_name="Jo", family_name="Bloggs")
    s = session_at(per)
    world.send(per, office)
    attendance.save_register(office, s.id, [attendance.RegisterEntry(jo.id, status="present")])
    attendance.save_register(per, s.id, [attendance.RegisterEntry(jo.id, status="absent")])
    return s, world.export(per)


def test_waiting_and_merged_records_are_counted(world) -> None:  # noqa: ANN001
    office, per = world.office, world["PER"]
    _s, merging = merging_bundle(world)
    late = people.create_person(per, given_name="Late", family_name="Comer")
    first = world.export(per)
    people.update_person(per, late.id, notes="changed in the next bundle")
    second = world.export(per)
    done = sync.import_bundles(office, [merging, second], backup=False)
    merged, waiting = done.applied
    assert (merged.merged, merged.conflicts, merged.waiting, merged.held) == (1, 1, 0, 0)
    assert (waiting.waiting, waiting.records) == (1, 1)
    assert "merged (made on two PCs, now one)" in merged.describe() and "1 conflict to decide" in merged.describe()
    assert "1 waiting for a bundle not imported yet" in waiting.describe()
    assert done.missing == {"HMP Perth": (3,)}
    later = sync.import_bundles(office, [first], backup=False)
    assert later.applied[0].new == 1 and later.missing == {}
    assert people.get_person(office, late.id).notes == "changed in the next bundle"


def test_a_merged_record_is_counted_once(world) -> None:  # noqa: ANN001
    office = world.office
    _s, merging = merging_bundle(world)
    [r] = sync.import_bundles(office, [merging], backup=False).applied
    assert len(records_in(office, merging)) == 1
    assert (r.merged, r.records) == (1, 1), r.counts()


def records_in(ctx: Context, path: Path) -> set[tuple[str, str]]:
    """The records a bundle changes, (table, row id), read as ``ctx`` reads it."""
    from srcdesk.services.sync.verify import open_bundle

    opened = open_bundle(ctx, path)
    try:
        return {(c["t"], c["r"]) for c in map(json.loads, opened.payload.zip.read(fmt.CHANGES, 1 << 30).splitlines())}
    finally:
        opened.payload.close()


# -- the command line goes through import_bundles() ------------------------------------------------


def cli_run(ctx: Context, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, *argv: str,
            user: str = "phr") -> tuple[int, str, str]:
    monkeypatch.setenv("SRCDESK_USER", user)
    monkeypatch.setenv("SRCDESK_PASSWORD", PASSWORD)
    code = cli.main(["--data-dir", str(ctx.db.data_dir), *argv])
    out, err = capsys.readouterr()
    return code, out, err


def spy(monkeypatch: pytest.MonkeyPatch) -> list[tuple[Any, ...]]:
    """Record each call of ``services.sync.import_bundles`` (the real one runs)."""
    calls: list[tuple[Any, ...]] = []
    real: Callable[..., Any] = sync.import_bundles

    def wrapper(ctx: Context, paths: Any, **kwargs: Any) -> Any:
        calls.append((tuple(paths), tuple(sorted(kwargs))))
        return real(ctx, paths, **kwargs)

    monkeypatch.setattr(sync, "import_bundles", wrapper)
    return calls


def test_the_command_line_imports_through_import_bundles(world, tmp_path, monkeypatch, capsys) -> None:  # noqa: ANN001
    office = world.office
    s, _other, held_path = held_session_bundle(world)
    paths = [held_path, *three_bundles(world)[1:2]]
    bad = tampered(paths[1], tmp_path / "copy")
    calls = spy(monkeypatch)
    office.db.close()  # the command opens the database itself
    code, out, err = cli_run(office, capsys, monkeypatch, "bundle", "import", *map(str, [*paths, bad]))
    assert calls == [((*paths, bad), ("preview",))]
    [refusal] = err.splitlines()
    assert code == 1 and refusal.startswith(f"srcdesk: {bad.name}: ")
    lines = out.splitlines()
    assert lines[0].startswith("Checked: Bundle 2 from HMP Perth")
    assert lines[1].startswith("Checked: Bundle 1 from HMP Barlinnie")
    assert lines[1].endswith("Backing up, then applying 2 bundles.")
    assert f"{held_path.name}: 3 records: 1 new, 1 updated, 1 held (can't be applied yet)." in lines
    assert any(line.startswith("  held: Session: ") and "before it starts (10:45)" in line for line in lines)
    assert sync.HELD_RETRIED in lines and len([p for p in (world.office.db.data_dir / "backups").iterdir()]) == 1

    code, out, err = cli_run(office, capsys, monkeypatch, "bundle", "history")
    assert code == 0, err
    assert "held: Session: " in out and "(still held)" in out and sync.HELD_RETRIED in out
    assert "1 held (can't be applied yet)" in out


def test_a_slow_preview_is_answered_after_the_backup_has_begun_through_the_cli_too(world, monkeypatch,  # noqa: ANN001
                                                                                   capsys) -> None:
    """The command line answers at once; the backup it started is waited for before anything
    applies (the time between is what the Sync page hides behind its preview)."""
    office = world.office
    paths = three_bundles(world)
    events: list[tuple[str, float]] = []
    real_backup = importing.timestamped_backup

    def backup(data_dir: Path, reason: str, **kw) -> Path:  # noqa: ANN003
        events.append(("backup started", time.monotonic()))
        time.sleep(0.2)
        made = real_backup(data_dir, reason, **kw)
        events.append(("backup finished", time.monotonic()))
        return made

    real_preview = cli._print_preview

    def preview(batch: Any) -> bool:
        events.append(("preview", time.monotonic()))
        return real_preview(batch)

    real_apply = importing.apply

    def apply(*args: Any, **kwargs: Any) -> Any:
        events.append(("apply", time.monotonic()))
        return real_apply(*args, **kwargs)

    monkeypatch.setattr(importing, "timestamped_backup", backup)
    monkeypatch.setattr(cli, "_print_preview", preview)
    monkeypatch.setattr(importing, "apply", apply)
    office.db.close()
    code, _out, err = cli_run(office, capsys, monkeypatch, "bundle", "import", *map(str, paths))
    assert code == 0, err
    names = [e for e, _t in events]
    assert names[:2] == ["backup started", "preview"] or names[:2] == ["preview", "backup started"]
    assert names[2:] == ["backup finished", "apply", "apply", "apply"]
