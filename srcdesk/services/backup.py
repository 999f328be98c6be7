"""Backups: a consistent copy of the live database, made with SQLite's online backup API.

One function serves the desktop app ("Back up now" on the Settings page) and the command line
(``srcdesk backup --to FILE``). The copy is written page by page, so other work can go on while
it runs and ``progress(done, total, what)`` can say how far it has got; it is written under a
temporary name and renamed only when complete, so a half-written backup never looks like a
finished one.

Who may back up: any signed-in user may write a backup into the installation's own
``backups`` folder (beside the data, where the app's automatic backups go). Writing a copy
anywhere else (a USB stick, a shared drive) takes every record out of the data folder, so it
needs an administrator.
"""

from __future__ import annotations

import datetime as dt
import os
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from ..db import SQLITE_HEADER
from ..errors import DatabaseError, ValidationError
from ..paths import backups_dir
from .base import Context

Progress = Callable[[int, int, str], None]

BACKUP_SUFFIX = ".sqlite3"
PAGES_PER_STEP = 2048  # 8 MiB at SQLite's default 4 KiB page: ~300 progress steps for 2.3 GB


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


def human_size(size: int) -> str:
    """1.2 MB, 734 KB, 2.3 GB: how big a backup is, for people."""
    value = float(size)
    for unit in ("bytes", "KB", "MB", "GB"):
        if value < 1000 or unit == "GB":
            return f"{int(value)} {unit}" if unit == "bytes" else f"{value:.1f} {unit}"
        value /= 1000
    return f"{size} bytes"  # pragma: no cover - the loop always returns


def copy_database(source: Path, target: Path, *, progress: Progress | None = None,
                  pages_per_step: int = PAGES_PER_STEP) -> BackupFile:
    """Copy the SQLite database at ``source`` to the new file ``target``, consistently.

    Refuses to overwrite an existing file. Raises :class:`DatabaseError` with a sentence
    saying what went wrong (full disk, no permission…); nothing is left behind on failure.
    """
    if target.exists():
        raise ValidationError(f"{target} already exists; choose another file name.", "target")
    partial = target.with_name(target.name + ".partial")
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        partial.unlink(missing_ok=True)
    except OSError as exc:
        raise DatabaseError(f"Couldn't write to {target.parent}: {exc.strerror or exc}.") from exc

    what = f"Copying the data to {target.name}…"

    def step(_status: int, remaining: int, total: int) -> None:
        if progress is not None:
            # the last step also writes the copy out to the disk, which can take a few seconds
            last = 0 < remaining <= pages_per_step
            progress(max(total - remaining, 0), total, "Writing the copy to the disk…" if last else what)

    try:
        src = sqlite3.connect(f"file:{source}?mode=ro", uri=True)
        try:
            dst = sqlite3.connect(partial)
            try:
                if progress is not None:
                    progress(0, 0, what)
                src.backup(dst, pages=pages_per_step, progress=step)
                dst.commit()
            finally:
                dst.close()
        finally:
            src.close()
        for leftover in (partial.with_name(partial.name + "-wal"), partial.with_name(partial.name + "-shm")):
            leftover.unlink(missing_ok=True)
        with partial.open("rb") as fh:
            if fh.read(16) != SQLITE_HEADER:
                raise DatabaseError(f"The backup written to {target} is not a complete database.")
        if target.exists():  # someone made this file while we were copying
            raise ValidationError(f"{target} already exists; choose another file name.", "target")
        os.replace(partial, target)
    except OSError as exc:
        partial.unlink(missing_ok=True)
        raise DatabaseError(f"Couldn't write the backup to {target.parent}: {exc.strerror or exc}.") from exc
    except sqlite3.Error as exc:
        partial.unlink(missing_ok=True)
        raise DatabaseError(f"Couldn't back up the data: {exc}.") from exc
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    if progress is not None:
        progress(1, 1, f"Backed up to {target.name}.")
    return _describe(target)


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
    target = _free_name(backups_dir(ctx.db.data_dir), backup_file_name())
    return copy_database(ctx.db.path, target, progress=progress)


def backup_to(ctx: Context, target: Path, *, progress: Progress | None = None) -> BackupFile:
    """A backup written to ``target`` (a file name, or a folder to put a dated file in).

    Into the installation's own backups folder any signed-in user may; anywhere else takes
    an administrator, since the copy holds every record and account of this installation.
    """
    target = Path(target).expanduser()
    if target.is_dir():
        target = _free_name(target, backup_file_name())
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
