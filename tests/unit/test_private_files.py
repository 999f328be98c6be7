"""Files at rest are the owner's only: made 0700/0600 whatever the umask; check warns; older data tightened."""

from __future__ import annotations

import logging
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from srcdesk.backups import timestamped_backup
from srcdesk.db import Database
from srcdesk.paths import backups_dir, database_path, log_dir
from srcdesk.services.backup import backup_now
from srcdesk.services.check import run_check
from srcdesk.services.people import create_person
from srcdesk.services.setup import init_installation, open_installation
from srcdesk.sync.identity import keys_dir

pytestmark = pytest.mark.skipif(os.name != "posix", reason="POSIX modes (Windows relies on the user profile)")

REPO = Path(__file__).resolve().parents[2]


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture(params=[0o002, 0o022], ids=["umask002", "umask022"])
def umask(request):  # noqa: ANN001, ANN201
    old = os.umask(request.param)
    yield request.param
    os.umask(old)


def test_everything_made_is_owner_only(tmp_path: Path, umask: int) -> None:
    data = tmp_path / "data"
    ctx = init_installation(data, establishment="PER", office=False, admin_username="ann",
                            admin_name="Ann Admin", admin_password="password123")
    try:
        create_person(ctx, given_name="Jo", family_name="Bloggs")  # the -wal and -shm exist while open
        db = database_path(data)
        wal, shm = db.with_name(db.name + "-wal"), db.with_name(db.name + "-shm")
        assert wal.exists() and shm.exists()
        manual = backup_now(ctx).path
        automatic = timestamped_backup(data, "before-import")
        from srcdesk.ui.errors import configure_logging

        handler = configure_logging(data)
        try:
            logging.getLogger("srcdesk").warning("a line for the log")
        finally:
            logging.getLogger("srcdesk").removeHandler(handler)
            handler.close()
        folders = [data, backups_dir(data), log_dir(data), keys_dir(data)]
        files = [db, wal, shm, manual, automatic, log_dir(data) / "srcdesk.log", *keys_dir(data).iterdir()]
        assert {str(p.relative_to(data)): oct(_mode(p)) for p in folders} == {
            str(p.relative_to(data)): "0o700" for p in folders}
        assert {str(p.relative_to(data)): oct(_mode(p)) for p in files} == {
            str(p.relative_to(data)): "0o600" for p in files}
        assert run_check(ctx.db).ok
    finally:
        ctx.db.close()


def test_cli_log_is_owner_only(tmp_path: Path, umask: int) -> None:
    from srcdesk.cli import _log_unexpected, _parser

    args = _parser().parse_args(["--data-dir", str(tmp_path / "data"), "check"])
    try:
        raise RuntimeError("boom")
    except RuntimeError as error:
        path = _log_unexpected(args, error)
    assert path is not None and _mode(path) == 0o600 and _mode(path.parent) == 0o700


@pytest.fixture
def loose(ctx) -> Path:  # noqa: ANN001
    """Data as an older srcdesk left it: readable by the group and others."""
    backup_now(ctx)
    ctx.db.close()
    data = ctx.db.data_dir
    for path in [data, *data.rglob("*")]:
        os.chmod(path, 0o755 if path.is_dir() else 0o644)
    return data


def test_check_warns_about_loose_files(loose: Path) -> None:
    db = Database.open(loose, migrate=False)
    try:
        report = run_check(db)
    finally:
        db.close()
    [problem] = [p for p in report.problems if "other users" in p]
    assert "srcdesk.sqlite3" in problem and "the data folder itself" in problem and "\n" not in problem
    assert not report.ok


def test_cli_check_says_so_with_exit_status_1(loose: Path) -> None:
    done = subprocess.run([sys.executable, "-m", "srcdesk.cli", "--data-dir", str(loose), "check"],
                          capture_output=True, text=True, timeout=120, check=False,
                          env={**os.environ, "PYTHONPATH": str(REPO)})
    assert done.returncode == 1
    assert [line for line in done.stdout.splitlines() if "can be read by other users" in line]


def test_opening_older_data_tightens_it_and_says_so(loose: Path, caplog) -> None:  # noqa: ANN001
    with caplog.at_level(logging.WARNING, logger="srcdesk"):
        ctx = open_installation(loose)
    try:
        assert [r for r in caplog.records if "readable by this user only" in r.getMessage()]
        assert _mode(loose) == 0o700 and _mode(database_path(loose)) == 0o600
        assert all(_mode(p) == 0o600 for p in backups_dir(loose).iterdir())
        assert run_check(ctx.db).ok
    finally:
        ctx.db.close()
