"""The one backup function, and the automatic backups srcdesk keeps in ``<data>/backups``.

:func:`copy_database` is every backup srcdesk makes: before a migration, before an import,
before a clock repair, "Back up now" and ``srcdesk backup --to``. It

1. refuses before starting when the drive has less free space than the database (with its
   write-ahead log) plus :data:`SPACE_MARGIN`: a backup never fills the disk;
2. copies the live database with SQLite's online backup API into ``<name>.partial``, created
   owner-only (0600);
3. checks the copy with ``PRAGMA quick_check``: a damaged database is reported as damaged,
   never "backed up";
4. renames the copy to its name. A half-written or unchecked copy never carries a backup's name.

**Automatic backups** (named ``srcdesk-<date>-<time>-<microseconds>-<reason>.sqlite3``) are pruned
after each one is made, by this rule: every backup made before a migration (``before-<schema>``) is
kept; of the others (:data:`PRUNED_REASONS`), the newest of each of the 7 most recent days that
have one, and the newest of each of the 4 most recent weeks (Monday to Sunday) that have one, are
kept; the rest are deleted. Backups a person made ("Back up now", ``backup --to``) are never
pruned. The same rule is in README's data-safety section.

Nothing here imports the services: the database layer uses it before a migration, and
:mod:`srcdesk.services.backup` wraps it with who may back up where.
"""

from __future__ import annotations

import datetime as dt
import os
import re
import shutil
import sqlite3
from collections.abc import Callable, Iterable
from pathlib import Path

from .errors import DatabaseError, ValidationError
from .paths import backups_dir, create_private_file, database_path, private_dir

Progress = Callable[[int, int, str], None]

BACKUP_SUFFIX = ".sqlite3"
PAGES_PER_STEP = 2048  # 8 MiB at SQLite's default 4 KiB page: ~300 progress steps for 2.3 GB
SPACE_MARGIN = 64 * 1024 * 1024  # left free on the drive after a backup, at least
KEEP_DAILY = 7
KEEP_WEEKLY = 4
#: Automatic backups that the rule prunes; any other reason (a migration's ``before-<schema>``) is kept.
PRUNED_REASONS = frozenset({"before-import", "before-clock-repair"})

_AUTOMATIC = re.compile(r"^srcdesk-(\d{8})-(\d{6})-(\d{6})-([a-z][a-z0-9_.-]*)\.sqlite3$")


def human_size(size: int) -> str:
    """1.2 MB, 734 KB, 2.3 GB: how big a backup is, for people."""
    value = float(size)
    for unit in ("bytes", "KB", "MB", "GB"):
        if value < 1000 or unit == "GB":
            return f"{int(value)} {unit}" if unit == "bytes" else f"{value:.1f} {unit}"
        value /= 1000
    return f"{size} bytes"  # pragma: no cover - the loop always returns


def check_free_space(source: Path, folder: Path) -> None:
    """Refuse (DatabaseError) when ``folder``'s drive can't take a copy of ``source`` and keep
    :data:`SPACE_MARGIN` free."""
    needed = 0
    for part in (source, source.with_name(source.name + "-wal")):
        try:
            needed += part.stat().st_size
        except FileNotFoundError:
            pass
    try:
        free = shutil.disk_usage(folder).free
    except OSError as exc:
        raise DatabaseError(f"Can't write to {folder}: {exc.strerror or exc}.") from exc
    if free < needed + SPACE_MARGIN:
        raise DatabaseError(
            f"There is not enough free space in {folder} for a backup ({human_size(free)} free, "
            f"{human_size(needed + SPACE_MARGIN)} needed); nothing was written. Free some space or choose another drive.")


def _damaged(detail: object) -> DatabaseError:
    return DatabaseError(
        f"The data is damaged ({detail}), so it was not backed up. Run 'srcdesk check', and restore "
        "the newest good backup.")


def copy_database(source: Path, target: Path, *, progress: Progress | None = None,
                  pages_per_step: int = PAGES_PER_STEP) -> Path:
    """Back up the SQLite database at ``source`` into the new file ``target``, in a folder that
    exists (never made here). See the module's docstring for the steps. Refuses to overwrite;
    raises :class:`DatabaseError` with a sentence; nothing is left behind on failure."""
    if target.exists():
        raise ValidationError(f"{target} already exists; choose another file name.", "target")
    if not target.parent.is_dir():
        raise ValidationError(f"There is no folder {target.parent}; srcdesk doesn't make one for a backup.",
                              "target")
    check_free_space(source, target.parent)
    partial = target.with_name(target.name + ".partial")
    leftovers = [partial, partial.with_name(partial.name + "-journal"), partial.with_name(partial.name + "-wal"),
                 partial.with_name(partial.name + "-shm")]
    what = f"Copying the data to {target.name}…"

    def step(_status: int, remaining: int, total: int) -> None:
        if progress is not None:
            # the last step also writes the copy out to the disk, which can take a few seconds
            last = 0 < remaining <= pages_per_step
            progress(max(total - remaining, 0), total, "Writing the copy to the disk…" if last else what)

    try:
        for leftover in leftovers:
            leftover.unlink(missing_ok=True)
        create_private_file(partial)
        src = sqlite3.connect(f"file:{source}?mode=ro", uri=True)
        try:
            dst = sqlite3.connect(partial)
            try:
                if progress is not None:
                    progress(0, 0, what)
                src.backup(dst, pages=pages_per_step, progress=step)
                dst.commit()
                if progress is not None:
                    progress(0, 0, "Checking the copy…")
                found = [r[0] for r in dst.execute("PRAGMA quick_check").fetchall()]
            finally:
                dst.close()
        finally:
            src.close()
        if found != ["ok"]:
            raise _damaged(found[0] if found else "the check found nothing to check")
        if target.exists():  # someone made this file while we were copying
            raise ValidationError(f"{target} already exists; choose another file name.", "target")
        os.replace(partial, target)
    except OSError as exc:
        raise DatabaseError(f"Couldn't write the backup to {target.parent}: {exc.strerror or exc}.") from exc
    except sqlite3.DatabaseError as exc:
        if "malformed" in str(exc) or "not a database" in str(exc):
            raise _damaged(exc) from exc
        raise DatabaseError(f"Couldn't back up the data: {exc}.") from exc
    except sqlite3.Error as exc:
        raise DatabaseError(f"Couldn't back up the data: {exc}.") from exc
    finally:
        for leftover in leftovers:
            try:
                leftover.unlink(missing_ok=True)
            except OSError:
                pass
    if progress is not None:
        progress(1, 1, f"Backed up to {target.name}.")
    return target


# -- automatic backups --------------------------------------------------------------------------------


def timestamped_backup(data_dir: Path, reason: str, *, now: dt.datetime | None = None,
                       prune: bool = True) -> Path:
    """An automatic backup into ``<data>/backups`` (made owner-only if new), named for when and
    why it was made; then the automatic backups are pruned (:func:`prune_automatic`). With
    ``prune=False`` the caller prunes once the backup is known to be kept (an import whose
    backup is deleted again when nothing was applied must not have pruned an older one)."""
    now = now or dt.datetime.now()
    folder = private_dir(backups_dir(data_dir))
    made = copy_database(database_path(data_dir), folder / f"srcdesk-{now:%Y%m%d-%H%M%S-%f}-{reason}{BACKUP_SUFFIX}")
    if prune:
        prune_automatic(folder)
    return made


def automatic_backups(folder: Path) -> list[tuple[dt.datetime, str, Path]]:
    """(when, reason, path) of every automatic backup in ``folder``, newest first."""
    found = []
    try:
        names = [p for p in folder.iterdir() if p.is_file()]
    except FileNotFoundError:
        return []
    for path in names:
        m = _AUTOMATIC.match(path.name)
        if m is None:
            continue
        try:
            when = dt.datetime.strptime(f"{m[1]}{m[2]}{m[3]}", "%Y%m%d%H%M%S%f")
        except ValueError:
            continue
        found.append((when, m[4], path))
    found.sort(reverse=True)
    return found


def to_keep(backups: Iterable[tuple[dt.datetime, str, Path]], *, daily: int = KEEP_DAILY,
            weekly: int = KEEP_WEEKLY) -> set[Path]:
    """The automatic backups the rule keeps (see the module's docstring)."""
    keep: set[Path] = set()
    days: list[dt.date] = []
    weeks: list[tuple[int, int]] = []
    for when, reason, path in sorted(backups, reverse=True):  # newest first
        if reason not in PRUNED_REASONS:
            keep.add(path)
            continue
        day, week = when.date(), tuple(when.isocalendar())[:2]
        if day not in days and len(days) < daily:
            days.append(day)
            keep.add(path)
        if week not in weeks and len(weeks) < weekly:
            weeks.append(week)
            keep.add(path)
    return keep


def prune_automatic(folder: Path) -> list[Path]:
    """Delete the automatic backups in ``folder`` the rule does not keep; returns them."""
    found = automatic_backups(folder)
    keep = to_keep(found)
    gone = []
    for _when, _reason, path in found:
        if path not in keep:
            try:
                path.unlink()
            except OSError:
                continue  # tried again after the next backup
            gone.append(path)
    return gone


__all__ = ["BACKUP_SUFFIX", "PAGES_PER_STEP", "PRUNED_REASONS", "SPACE_MARGIN", "automatic_backups",
           "check_free_space", "copy_database", "human_size", "prune_automatic", "timestamped_backup", "to_keep"]
