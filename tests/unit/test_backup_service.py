"""Backups: consistent, complete copies; progress reported; who may write them where."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from srcdesk.errors import PermissionDenied, ValidationError
from srcdesk.paths import backups_dir
from srcdesk.services.backup import backup_now, backup_to, copy_database, human_size, list_backups
from srcdesk.services.users import add_user, authenticate

from ..conftest import PASSWORD


def _usernames(path: Path) -> list[str]:
    con = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        assert con.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        return [r[0] for r in con.execute("SELECT username FROM app_user ORDER BY username")]
    finally:
        con.close()


def test_backup_now_writes_a_complete_copy_in_the_backups_folder(ctx) -> None:  # noqa: ANN001
    add_user(ctx, "bob", "Bob Recorder", "recorder", PASSWORD)
    steps: list[tuple[int, int, str]] = []
    made = backup_now(ctx, progress=lambda done, total, what: steps.append((done, total, what)))
    assert made.path.parent == backups_dir(ctx.db.data_dir)
    assert made.path.name.startswith("srcdesk-") and made.path.name.endswith(".sqlite3")
    assert made.size == made.path.stat().st_size > 0
    assert _usernames(made.path) == ["ann", "bob"]
    assert not list(made.path.parent.glob("*.partial*"))
    assert steps[-1][0] == steps[-1][1] and steps[-1][1] > 0  # finished: done == total
    assert any(total > 1 for _, total, _ in steps)  # page counts were reported on the way


def test_progress_is_reported_page_by_page(ctx, tmp_path) -> None:  # noqa: ANN001
    steps: list[tuple[int, int]] = []
    copy_database(ctx.db.path, tmp_path / "copy.sqlite3", pages_per_step=5,
                  progress=lambda done, total, _what: steps.append((done, total)))
    pages = [s for s in steps if s[1] > 1]
    assert len(pages) >= 2
    assert [d for d, _ in pages] == sorted(d for d, _ in pages)
    assert pages[-1][0] == pages[-1][1]


def test_two_backups_in_the_same_second_get_different_names(ctx) -> None:  # noqa: ANN001
    first = backup_now(ctx)
    second = backup_now(ctx)
    assert first.path != second.path
    assert {b.path for b in list_backups(ctx.db.data_dir)} == {first.path, second.path}


def test_list_backups_newest_first_and_empty_without_folder(ctx, tmp_path) -> None:  # noqa: ANN001
    assert list_backups(tmp_path / "nowhere") == []
    made = backup_now(ctx)
    (backups_dir(ctx.db.data_dir) / "notes.txt").write_text("not a backup")
    listed = list_backups(ctx.db.data_dir)
    assert [b.path for b in listed] == [made.path]


def test_backup_to_refuses_to_overwrite(ctx, tmp_path) -> None:  # noqa: ANN001
    target = tmp_path / "b.sqlite3"
    target.write_bytes(b"precious")
    with pytest.raises(ValidationError, match="already exists"):
        backup_to(ctx, target)
    assert target.read_bytes() == b"precious"


def test_backup_to_a_folder_makes_a_dated_file_in_it(ctx, tmp_path) -> None:  # noqa: ANN001
    made = backup_to(ctx, tmp_path)
    assert made.path.parent == tmp_path and made.path.name.startswith("srcdesk-")
    assert _usernames(made.path) == ["ann"]


def test_only_an_administrator_backs_up_outside_the_data_folder(ctx, tmp_path) -> None:  # noqa: ANN001
    add_user(ctx, "rita", "Rita Recorder", "recorder", PASSWORD)
    ctx = ctx.signed_in(authenticate(ctx.db, "rita", PASSWORD))
    with pytest.raises(PermissionDenied, match="administrator"):
        backup_to(ctx, tmp_path / "usb.sqlite3")
    assert not (tmp_path / "usb.sqlite3").exists()
    mine = backup_now(ctx)  # into the backups folder: any signed-in user
    assert mine.path.exists()
    ctx = ctx.signed_in(None)
    with pytest.raises(PermissionDenied):
        backup_now(ctx)


def test_failure_leaves_nothing_behind(ctx, tmp_path) -> None:  # noqa: ANN001
    blocked = tmp_path / "file-not-folder"
    blocked.write_text("x")
    with pytest.raises(ValidationError, match="no folder"):  # a file where the folder should be
        copy_database(ctx.db.path, blocked / "b.sqlite3")
    assert blocked.read_text() == "x"


def test_human_size() -> None:
    assert human_size(512) == "512 bytes"
    assert human_size(1_500) == "1.5 KB"
    assert human_size(2_300_000_000) == "2.3 GB"
