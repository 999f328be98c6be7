"""Where things live: the data folder and the shipped resources; files at rest are the owner's only.

Everything srcdesk writes into the data folder (the folder itself, the database and its -wal/-shm,
backups, logs, keys) is created owner-only: folders 0700, files 0600, whatever the umask. SQLite
gives -wal/-shm the database file's mode, so the database file is made (0600) before SQLite
first opens it. On Windows the user profile's own access rules protect the data folder, and no
mode is set (:data:`POSIX_MODES` is False there).
"""

from __future__ import annotations

import os
import stat
import sys
from pathlib import Path
from typing import TextIO

import platformdirs

DB_FILENAME = "srcdesk.sqlite3"
PRIVATE_DIR_MODE = 0o700
PRIVATE_FILE_MODE = 0o600
POSIX_MODES = os.name == "posix"


def resources_dir() -> Path:
    """``resources/`` beside the package, or inside a frozen (PyInstaller) build."""
    frozen = getattr(sys, "_MEIPASS", None)
    if frozen:
        return Path(frozen) / "resources"
    return Path(__file__).resolve().parent.parent / "resources"


def default_data_dir() -> Path:
    env = os.environ.get("SRCDESK_HOME")
    if env:
        return Path(env)
    return Path(platformdirs.user_data_dir("srcdesk", appauthor=False))


def database_path(data_dir: Path) -> Path:
    return data_dir / DB_FILENAME


def backups_dir(data_dir: Path) -> Path:
    return data_dir / "backups"


def log_dir(data_dir: Path) -> Path:
    return data_dir / "logs"


def sample_data_dir(data_dir: Path) -> Path:
    """Where "Explore with sample data" keeps its separate installation: beside the real data,
    never in it (``…/srcdesk`` → ``…/srcdesk-sample``)."""
    return data_dir.with_name(data_dir.name + "-sample")


def private_dir(path: Path) -> Path:
    """Make the folder ``path`` (and any missing parents) and leave it owner-only (0700)."""
    path.mkdir(mode=PRIVATE_DIR_MODE, parents=True, exist_ok=True)
    if POSIX_MODES and (path.stat().st_mode & 0o777) != PRIVATE_DIR_MODE:
        os.chmod(path, PRIVATE_DIR_MODE)  # mkdir's mode is cut by the umask, and an existing folder keeps its own
    return path


def create_private_file(path: Path) -> Path:
    """Create the new, empty file ``path`` owner-only (0600, whatever the umask); FileExistsError
    if it exists."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), PRIVATE_FILE_MODE)
    try:
        if POSIX_MODES:
            os.fchmod(fd, PRIVATE_FILE_MODE)
    finally:
        os.close(fd)
    return path


def open_private_append(path: Path, encoding: str = "utf-8") -> TextIO:
    """``open(path, "a")`` for a log: its folder and the file are created owner-only if new."""
    private_dir(path.parent)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND | getattr(os, "O_BINARY", 0), PRIVATE_FILE_MODE)
    try:
        if POSIX_MODES:
            os.fchmod(fd, PRIVATE_FILE_MODE)
        return open(fd, "a", encoding=encoding)  # noqa: SIM115 - the caller closes it
    except BaseException:
        os.close(fd)
        raise


def open_to(data_dir: Path) -> list[Path]:
    """Every file and folder srcdesk keeps in ``data_dir`` that group or others may read (POSIX).

    What srcdesk keeps there: the folder itself, the database with its -wal/-shm, and the
    backups, logs and keys folders with the files in them."""
    if not POSIX_MODES:
        return []
    db = database_path(data_dir)
    candidates = [data_dir, db, db.with_name(db.name + "-wal"), db.with_name(db.name + "-shm")]
    for folder in (backups_dir(data_dir), log_dir(data_dir), data_dir / "keys"):
        candidates.append(folder)
        try:
            candidates += sorted(folder.iterdir())
        except OSError:
            pass
    found = []
    for path in candidates:
        try:
            mode = path.lstat().st_mode
        except OSError:
            continue
        if mode & 0o077 and not stat.S_ISLNK(mode):  # a link's own mode means nothing
            found.append(path)
    return found


def tighten(data_dir: Path) -> list[Path]:
    """Make what :func:`open_to` finds owner-only; returns what was changed (folders of data made
    by older srcdesk versions, or copied in with loose modes). What can't be changed is left for
    ``srcdesk check`` to report."""
    changed = []
    for path in open_to(data_dir):
        if path.is_symlink():
            continue
        try:
            os.chmod(path, PRIVATE_DIR_MODE if path.is_dir() else PRIVATE_FILE_MODE)
        except OSError:
            continue
        changed.append(path)
    return changed
