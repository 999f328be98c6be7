"""One backup function: checked copies, damaged data reported, no folder made, pruning, free space."""

from __future__ import annotations

import datetime as dt
import shutil
import sqlite3
from collections import namedtuple
from pathlib import Path

import pytest

from srcdesk import backups
from srcdesk.backups import copy_database, prune_automatic, timestamped_backup
from srcdesk.cli import main
from srcdesk.db import Database
from srcdesk.errors import DatabaseError, ValidationError
from srcdesk.paths import backups_dir, database_path
from srcdesk.services.backup import backup_now, backup_to
from srcdesk.services.people import create_person

from ..conftest import PASSWORD


def _fill(ctx, n: int = 60) -> None:  # noqa: ANN001
    for i in range(n):
        create_person(ctx, given_name=f"Given{i}", family_name=f"Family{i}" * 8)


def _corrupt_table(path: Path, table: str) -> None:
    """Overwrite the middle of one of ``table``'s b-tree pages with junk (a damaged disk sector)."""
    con = sqlite3.connect(path)
    con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    page_size = con.execute("PRAGMA page_size").fetchone()[0]
    root = con.execute("SELECT rootpage FROM sqlite_master WHERE name = ?", (table,)).fetchone()[0]
    con.execute("PRAGMA journal_mode=DELETE")
    con.close()
    with path.open("r+b") as fh:
        fh.seek((root - 1) * page_size)
        fh.write(b"\xff" * 64)  # the page header: no b-tree page starts like this


def _nothing_left(folder: Path) -> None:
    assert not [p for p in folder.iterdir() if p.name.startswith("srcdesk-") or ".partial" in p.name]


def test_a_damaged_database_is_reported_not_backed_up(ctx, data_dir: Path, tmp_path: Path) -> None:  # noqa: ANN001
    _fill(ctx)
    ctx.db.close()
    _corrupt_table(database_path(data_dir), "person")
    out = tmp_path / "usb"
    out.mkdir()
    with pytest.raises(DatabaseError, match="damaged .* not backed up"):
        copy_database(database_path(data_dir), out / "copy.sqlite3")
    _nothing_left(out)
    folder = backups_dir(data_dir)
    folder.mkdir(exist_ok=True)
    with pytest.raises(DatabaseError, match="damaged"):
        timestamped_backup(data_dir, "before-import")
    _nothing_left(folder)


def test_the_copy_is_checked_and_complete(ctx, tmp_path: Path) -> None:  # noqa: ANN001
    _fill(ctx, 5)
    made = copy_database(ctx.db.path, tmp_path / "copy.sqlite3")
    con = sqlite3.connect(made)
    try:
        assert con.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        assert con.execute("SELECT count(*) FROM person").fetchone() == (5,)
    finally:
        con.close()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["copy.sqlite3", "data"]


@pytest.mark.parametrize("where", ["usbb", "nowhere/backups", "nowhere/copy.sqlite3"])
def test_backup_to_a_missing_folder_is_refused_and_no_folder_is_made(ctx, tmp_path: Path, where: str) -> None:  # noqa: ANN001
    target = tmp_path / where
    with pytest.raises(ValidationError, match="There is no folder .* never makes a folder"):
        backup_to(ctx, target)
    assert not target.exists() and not (tmp_path / "nowhere").exists()


def test_backup_to_an_existing_folder_writes_a_dated_file_in_it(ctx, tmp_path: Path) -> None:  # noqa: ANN001
    usb = tmp_path / "usb"
    usb.mkdir()
    first, second = backup_to(ctx, usb), backup_to(ctx, usb)
    assert first.path.parent == second.path.parent == usb and first.path != second.path
    assert first.path.name.startswith(f"srcdesk-{dt.date.today():%Y%m%d}-")
    named = backup_to(ctx, usb / "friday.sqlite3")  # a new file name in a folder that exists
    assert named.path == usb / "friday.sqlite3"


def test_cli_backup_to_missing_folder(ctx, tmp_path: Path, capsys, monkeypatch) -> None:  # noqa: ANN001
    ctx.db.close()
    monkeypatch.setenv("SRCDESK_PASSWORD", PASSWORD)
    target = tmp_path / "media" / "usb"
    code = main(["--data-dir", str(ctx.db.data_dir), "--user", "ann", "backup", "--to", str(target)])
    err = capsys.readouterr().err
    assert code == 1 and err.count("\n") == 1 and "There is no folder" in err
    assert not (tmp_path / "media").exists()
    (tmp_path / "media").mkdir()
    code = main(["--data-dir", str(ctx.db.data_dir), "--user", "ann", "backup", "--to", str(tmp_path / "media")])
    assert code == 0 and len(list((tmp_path / "media").glob("srcdesk-*.sqlite3"))) == 1


Usage = namedtuple("Usage", "total used free")


def test_low_space_is_refused_before_starting(ctx, tmp_path: Path, monkeypatch) -> None:  # noqa: ANN001
    size = ctx.db.path.stat().st_size
    monkeypatch.setattr(backups.shutil, "disk_usage", lambda _p: Usage(10**12, 10**12, size + 1024))
    usb = tmp_path / "usb"
    usb.mkdir()
    with pytest.raises(DatabaseError, match="not enough free space .* nothing was written"):
        backup_to(ctx, usb)
    with pytest.raises(DatabaseError, match="not enough free space"):
        backup_now(ctx)
    with pytest.raises(DatabaseError, match="not enough free space"):
        timestamped_backup(ctx.db.data_dir, "before-import")
    assert list(usb.iterdir()) == [] and list(backups_dir(ctx.db.data_dir).iterdir()) == []
    monkeypatch.setattr(backups.shutil, "disk_usage",
                        lambda _p: Usage(10**12, 10**12, size + backups.SPACE_MARGIN + 2 * 1024**2))
    assert backup_to(ctx, usb).path.exists()


def _fabricate(folder: Path, when: dt.datetime, reason: str) -> Path:
    path = folder / f"srcdesk-{when:%Y%m%d-%H%M%S-%f}-{reason}.sqlite3"
    path.write_bytes(b"backup")
    return path


def test_pruning_keeps_7_daily_4_weekly_and_every_pre_migration_backup(tmp_path: Path) -> None:
    folder = tmp_path / "backups"
    folder.mkdir()
    newest = dt.datetime(2026, 11, 30, 18, 0)  # a Monday
    made = {}
    for days in range(60):  # two imports a day for 60 days
        for hour in (9, 15):
            when = newest.replace(hour=hour) - dt.timedelta(days=days)
            made[when] = _fabricate(folder, when, "before-import")
    migration = _fabricate(folder, newest - dt.timedelta(days=200), "before-0007_sync_sent_scope")
    repair = _fabricate(folder, newest - dt.timedelta(days=90), "before-clock-repair")
    manual = folder / "srcdesk-20250101-120000.sqlite3"  # "Back up now": not automatic
    manual.write_bytes(b"mine")
    other = folder / "notes.txt"
    other.write_text("not a backup")

    gone = prune_automatic(folder)

    kept = {p for p in folder.iterdir()}
    daily = {made[newest.replace(hour=15) - dt.timedelta(days=d)] for d in range(7)}
    # the newest of each of the 4 newest weeks: this Monday's (already a daily), then each Sunday before
    weekly = {made[newest.replace(hour=15)]} | {
        made[newest.replace(hour=15) - dt.timedelta(days=d)] for d in (1, 8, 15)}
    assert kept == daily | weekly | {migration, manual, other}
    assert len(daily | weekly) == 7 + 2  # days 8 and 15 are beyond the 7 days
    assert repair in gone and len(gone) == 120 + 1 - 9
    assert prune_automatic(folder) == []  # the rule is stable


def test_each_automatic_backup_prunes(ctx, data_dir: Path) -> None:  # noqa: ANN001
    folder = backups_dir(data_dir)
    folder.mkdir()
    old = [_fabricate(folder, dt.datetime(2020, 1, 1) + dt.timedelta(days=d), "before-import") for d in range(40)]
    migration = _fabricate(folder, dt.datetime(2019, 1, 1), "before-0001_initial_schema")
    made = timestamped_backup(data_dir, "before-import")
    # today's new backup is one of the 7 days and the 4 weeks; of the old ones (1 Jan - 9 Feb 2020)
    # the 6 newest days (4-9 Feb) and the newest of 3 more weeks (9 Feb, 2 Feb, 26 Jan) stay
    kept_days = {*range(34, 40), 32, 25}
    assert set(folder.iterdir()) == {made, migration} | {old[d] for d in kept_days}


def test_migration_backup_is_checked_and_kept(ctx, data_dir: Path, tmp_path: Path, monkeypatch) -> None:  # noqa: ANN001
    """Opening older data backs it up with the same checked copy, and pruning keeps that backup."""
    import srcdesk.db as dbmod
    from srcdesk.db import head_revision

    ctx.db.close()
    current = head_revision()
    migrations = tmp_path / "migrations"
    shutil.copytree(dbmod.MIGRATIONS_DIR, migrations, ignore=shutil.ignore_patterns("__pycache__"))
    (migrations / "versions" / "9001_test.py").write_text(
        'revision = "9001"\n'
        f'down_revision = "{current}"\nbranch_labels = None\ndepends_on = None\n'
        'def upgrade():\n    pass\ndef downgrade():\n    pass\n')
    monkeypatch.setattr(dbmod, "MIGRATIONS_DIR", migrations)
    calls = []
    real = backups.copy_database
    monkeypatch.setattr(backups, "copy_database", lambda *a, **k: calls.append(a) or real(*a, **k))
    Database.open(data_dir).close()
    [made] = list(backups_dir(data_dir).glob("*-before-9001.sqlite3"))
    assert calls and calls[0][1] == made
    for d in range(30):
        _fabricate(backups_dir(data_dir), dt.datetime(2021, 1, 1) + dt.timedelta(days=d), "before-import")
    prune_automatic(backups_dir(data_dir))
    assert made.exists()
