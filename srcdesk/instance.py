"""One writer at a time: a lock per data folder.

The desktop app holds it for as long as it is open, and every ``srcdesk`` command that writes holds
it while it runs; so the app and a command never change the same data at once, each with a clock
of its own. A command waits up to :data:`COMMAND_WAIT_SECONDS` for it, then says why. Commands
that only read (``check``, ``clock check``, ``keys show`` …: see srcdesk.cli) don't take it: SQLite
lets them read beside a writer.

The lock is the operating system's (``flock`` on Linux, ``LockFileEx`` on Windows, through the
``filelock`` library) on ``<data>/srcdesk.lock``: it goes with the process that held it, however
that process ended, so a crashed app never locks anyone out. The file itself stays and is empty.
"""

from __future__ import annotations

from pathlib import Path

from filelock import FileLock, Timeout

from .errors import DatabaseError, SrcdeskError

LOCK_FILENAME = "srcdesk.lock"
COMMAND_WAIT_SECONDS = 5.0

IN_USE = ("srcdesk is open with this data (the desktop app, or another srcdesk command still running); "
          "close it or let it finish, then try again.")


class AlreadyOpen(SrcdeskError):
    """Another srcdesk process holds the data folder's lock."""


def lock_path(data_dir: Path) -> Path:
    return data_dir / LOCK_FILENAME


class InstanceLock:
    """The data folder's lock, held by this process from :meth:`acquire` to :meth:`release`."""

    def __init__(self, data_dir: Path) -> None:
        self.data_dir = data_dir
        self._lock = FileLock(lock_path(data_dir), mode=0o600, thread_local=False, fallback_to_soft=False)
        self.held = False
        self._made_folder = False

    def acquire(self, wait: float = 0.0, *, create: bool = False) -> bool:
        """Take the lock, waiting up to ``wait`` seconds for another process to let it go.

        A data folder that does not exist yet has nothing to protect: False, unless ``create``
        (``init``, the app's first run) makes it, owner-only. Raises :class:`AlreadyOpen` when
        another process keeps it, :class:`DatabaseError` when the folder can't be written to."""
        if self.held:
            return True
        try:
            if not self.data_dir.is_dir():
                if not create:
                    return False
                self.data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
                self._made_folder = True
            self._lock.acquire(timeout=wait)
        except Timeout:
            raise AlreadyOpen(IN_USE) from None
        except OSError as exc:
            raise DatabaseError(f"Can't write to the data folder {self.data_dir}: {exc.strerror or exc}.") from exc
        self.held = True
        return True

    def release(self) -> None:
        if self.held:
            self.held = False
            self._lock.release(force=True)
            if self._made_folder:  # e.g. an `init` that was refused: leave no empty folder behind
                self._made_folder = False
                try:
                    if {p.name for p in self.data_dir.iterdir()} <= {LOCK_FILENAME}:  # (gone on Windows)
                        lock_path(self.data_dir).unlink(missing_ok=True)
                        self.data_dir.rmdir()
                except OSError:
                    pass

    def __enter__(self) -> InstanceLock:
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()
