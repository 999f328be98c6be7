"""Unexpected errors: a dialog with copyable details, and the log file they are written to.

Domain errors (:class:`srcdesk.errors.SrcdeskError`) are expected: the widget that caused one
shows ``str(error)`` next to the field or button concerned. Everything else is a bug; it goes
through :func:`report_unexpected` to ``sys.excepthook``, which :func:`install_excepthook`
replaces with :class:`ExceptionHandler`: the traceback is appended to
``<data dir>/logs/srcdesk.log`` and shown in an :class:`~srcdesk.ui.error_dialog.ErrorDialog`
(imported when there is an error to show: the sign-in window does not wait for it).
"""

from __future__ import annotations

import datetime as dt
import logging
import sys
import traceback
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING

from PySide6.QtWidgets import QApplication

from ..errors import ScrubbingFormatter, database_problem, safe_traceback, user_message
from ..paths import log_dir, open_private_append

if TYPE_CHECKING:
    from .error_dialog import ErrorDialog

log = logging.getLogger("srcdesk")

LOG_FILENAME = "srcdesk.log"


def log_path(data_dir: Path) -> Path:
    return log_dir(data_dir) / LOG_FILENAME


class _LazyFileHandler(logging.FileHandler):
    """A log file that (with its folder) is only created when the first record is written."""

    def __init__(self, path: Path) -> None:
        super().__init__(path, encoding="utf-8", delay=True)

    def _open(self):  # noqa: ANN202 - logging's own signature
        return open_private_append(Path(self.baseFilename), self.encoding or "utf-8")  # owner-only


def configure_logging(data_dir: Path) -> logging.Handler:
    """Send srcdesk's warnings and errors to the log file in the data folder."""
    handler = _LazyFileHandler(log_path(data_dir))
    handler.setLevel(logging.WARNING)
    handler.setFormatter(ScrubbingFormatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    logger = logging.getLogger("srcdesk")
    logger.addHandler(handler)
    if logger.level == logging.NOTSET or logger.level > logging.WARNING:
        logger.setLevel(logging.WARNING)
    return handler


def report_unexpected(error: BaseException) -> None:
    """Hand an exception that nobody expected to the installed excepthook (the error dialog)."""
    sys.excepthook(type(error), error, error.__traceback__)


def format_details(etype: type[BaseException], value: BaseException, tb: TracebackType | None) -> str:
    from .. import __version__

    stamp = dt.datetime.now().isoformat(timespec="seconds")
    head = f"srcdesk {__version__}, Python {sys.version.split()[0]}, {sys.platform}, {stamp}\n"
    if value is None:
        return head + "".join(traceback.format_exception(etype, value, tb))
    if value.__traceback__ is None:
        value = value.with_traceback(tb)
    return head + safe_traceback(value)  # no SQL, no parameters: names and hashes stay out of it


class ExceptionHandler:
    """``sys.excepthook`` for the desktop app: log the traceback, then show it."""

    def __init__(self, data_dir: Path) -> None:
        self.data_dir = data_dir
        self.dialog: ErrorDialog | None = None
        self._busy = False

    def write_log(self, details: str) -> Path | None:
        # Written on the calling thread on purpose: this is the last-resort path and must work
        # even when the thread pool or the event loop is what broke. It is one small append.
        path = log_path(self.data_dir)
        try:
            with open_private_append(path) as fh:
                fh.write(details)
                if not details.endswith("\n"):
                    fh.write("\n")
        except OSError:
            return None
        return path

    def __call__(self, etype: type[BaseException], value: BaseException, tb: TracebackType | None) -> None:
        if issubclass(etype, KeyboardInterrupt):
            app = QApplication.instance()
            if app is not None:
                app.quit()
            return
        if self._busy:  # an error while showing an error: don't recurse
            sys.__excepthook__(etype, value, tb)
            return
        self._busy = True
        try:
            details = format_details(etype, value, tb)
            written = self.write_log(details)
            summary = user_message(value)
            if QApplication.instance() is None:
                sys.__excepthook__(etype, value, tb)
                return
            if self.dialog is not None and self.dialog.isVisible():
                self.dialog.add_details(summary, details)
                return
            # A busy, full or read-only database is no bug: say what it is, not "unexpected".
            headline = ("srcdesk couldn't finish what it was doing." if database_problem(value) is not None
                        else "Something went wrong that srcdesk did not expect.")
            from .error_dialog import ErrorDialog  # only when there is an error to show

            self.dialog = ErrorDialog(summary, details, written, headline=headline)
            self.dialog.destroyed.connect(self._forget_dialog)
            self.dialog.show()
            self.dialog.raise_()
            self.dialog.activateWindow()
        except Exception:  # noqa: BLE001 - never let the hook itself raise
            sys.__excepthook__(etype, value, tb)
        finally:
            self._busy = False

    def _forget_dialog(self) -> None:
        self.dialog = None


def install_excepthook(data_dir: Path) -> ExceptionHandler:
    handler = ExceptionHandler(data_dir)
    sys.excepthook = handler
    return handler
