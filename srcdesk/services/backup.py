"""Backups: a consistent, checked copy of the live database (:func:`srcdesk.backups.copy_database`).

One function serves the desktop app ("Back up now" on the Settings page), the command line
(``srcdesk backup --to``), and the automatic backups made before migrations and imports. The
copy is written page by page, so other work can go on while it runs and ``progress(done, total,
what)`` can say how far it has got; it is written under a temporary name, checked, and renamed
only when complete, so a half-written backup never looks like a finished one. A damaged database
is reported, not backed up; a drive without room for the copy is refused before it starts.

Who may back up: any signed-in user may write a backup into the installation's own
``backups`` folder (beside the data, where the app's automatic backups go). Writing a copy
anywhere else (a USB stick, a shared drive) takes every record out of the data folder, so it
needs an administrator. ``backup --to`` never makes a folder: a mistyped USB path must not put
the data on the local disk.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

from ..backups import BACKUP_SUFFIX, PAGES_PER_STEP, Progress, human_size
from ..backups import copy_database as _copy
from ..errors import DatabaseError, ValidationError
from ..paths import backups_dir, private_dir
from .base import Context


@dataclass(frozen=True)
class BackupFile:
    """One backup on disk."""

    path: Path
    size: int  # bytes
    modified: dt.datetime  # local time

    @property
    def name(self) -> str:
        return self.path.name


def _describe(path: Path) -> BackupFile:
    st = path.stat()
    return BackupFile(path, st.st_size, dt.datetime.fromtimestamp(st.st_mtime))


def copy_database(source: Path, target: Path, *, progress: Progress | None = None,
                  pages_per_step: int = PAGES_PER_STEP) -> BackupFile:
    """:func:`srcdesk.backups.copy_database`, described for the Settings page's list."""
    return _describe(_copy(source, target, progress=progress, pages_per_step=pages_per_step))


def backup_file_name(now: dt.datetime | None = None) -> str:
    """``srcdesk-20261127-174200.sqlite3``: sorts by time, says when it was made."""
    now = now or dt.datetime.now()
    return f"srcdesk-{now:%Y%m%d-%H%M%S}{BACKUP_SUFFIX}"


def _free_name(folder: Path, name: str) -> Path:
    target = folder / name
    stem = name.removesuffix(BACKUP_SUFFIX)
    n = 2
    while target.exists() or target.with_name(target.name + ".partial").exists():
        target = folder / f"{stem}-{n}{BACKUP_SUFFIX}"
        n += 1
    return target


def backup_now(ctx: Context, *, progress: Progress | None = None) -> BackupFile:
    """A new backup in this installation's ``backups`` folder (any signed-in user)."""
    ctx.require("backup.local")
    try:
        folder = private_dir(backups_dir(ctx.db.data_dir))
    except OSError as exc:
        raise DatabaseError(f"Couldn't make the backups folder: {exc.strerror or exc}.") from exc
    target = _free_name(folder, backup_file_name())
    return copy_database(ctx.db.path, target, progress=progress)


def backup_to(ctx: Context, target: Path, *, progress: Progress | None = None) -> BackupFile:
    """A backup written to ``target``: a folder that exists gets a dated file in it; a new file
    name ending ``.sqlite3`` in a folder that exists is written as named. A folder that does not
    exist is refused, never made (a mistyped USB path must not put the data on the local disk).

    Into the installation's own backups folder any signed-in user may; anywhere else takes
    an administrator, since the copy holds every record and account of this installation.
    """
    target = Path(target).expanduser()
    if target.is_dir():
        target = _free_name(target, backup_file_name())
    elif not target.exists() and (target.suffix != BACKUP_SUFFIX or not target.parent.is_dir()):
        folder = target if target.suffix != BACKUP_SUFFIX else target.parent
        raise ValidationError(
            f"There is no folder {folder}: check the drive is plugged in and the path is right. "
            "srcdesk never makes a folder for a backup.", "target")
    own = backups_dir(ctx.db.data_dir).resolve()
    if target.parent.resolve() == own:
        ctx.require("backup.local")
    else:
        ctx.require("backup.elsewhere")
    return copy_database(ctx.db.path, target, progress=progress)


def list_backups(data_dir: Path, *, limit: int = 20) -> list[BackupFile]:
    """The most recent backups in the installation's backups folder, newest first."""
    folder = backups_dir(data_dir)
    try:
        found = [_describe(p) for p in folder.iterdir()
                 if p.is_file() and p.name.endswith(BACKUP_SUFFIX)]
    except FileNotFoundError:
        return []
    except OSError as exc:
        raise DatabaseError(f"Can't read the backups folder {folder}: {exc.strerror or exc}.") from exc
    found.sort(key=lambda b: (b.modified, b.name), reverse=True)
    return found[:limit]


__all__ = ["BackupFile", "backup_file_name", "backup_now", "backup_to", "copy_database",
           "human_size", "list_backups"]
