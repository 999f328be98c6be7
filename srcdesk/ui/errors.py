"""Unexpected errors: a dialog with copyable details, and the log file they are written to.

Domain errors (:class:`srcdesk.errors.SrcdeskError`) are expected: the widget that caused one
shows ``str(error)`` next to the field or button concerned. Everything else is a bug; it goes
through :func:`report_unexpected` to ``sys.excepthook``, which :func:`install_excepthook`
replaces with :class:`ExceptionHandler`: the traceback is appended to
``<data dir>/logs/srcdesk.log`` and shown in an :class:`ErrorDialog`.
"""

from __future__ import annotations

import datetime as dt
import logging
import sys
import traceback
from pathlib import Path
from types import TracebackType

from PySide6.QtCore import Qt
from PySide6.QtGui import QFontDatabase, QGuiApplication
from PySide6.QtWidgets import (
    QApplication,
    QDialog,
    QDialogButtonBox,
    QHBoxLayout,
    QLabel,
    QPlainTextEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from ..errors import ScrubbingFormatter, database_problem, safe_traceback, user_message
from ..paths import log_dir, open_private_append

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


class ErrorDialog(QDialog):
    """Says that something unexpected happened; the details can be selected and copied."""

    def __init__(self, summary: str, details: str, log_file: Path | None, parent: QWidget | None = None,
                 *, headline: str = "Something went wrong that srcdesk did not expect.") -> None:
        super().__init__(parent)
        self.setObjectName("errorDialog")
        self.setWindowTitle("srcdesk — unexpected problem")
        self.setWindowModality(Qt.WindowModality.ApplicationModal)
        self.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        self.setMinimumWidth(560)

        from PySide6.QtWidgets import QStyle  # not at the top: its Python type costs the sign-in window

        icon = QLabel()
        icon.setPixmap(self.style().standardIcon(QStyle.StandardPixmap.SP_MessageBoxCritical).pixmap(40, 40))
        icon.setAlignment(Qt.AlignmentFlag.AlignTop)

        self.summary = QLabel()
        self.summary.setObjectName("errorSummary")
        self.summary.setWordWrap(True)
        self.summary.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        where = (
            f"The details below were also written to {log_file}."
            if log_file is not None
            else "The details below could not be written to the log file."
        )
        self.summary.setText(
            f"<p><b>{_html(headline)}</b></p><p>{_html(summary)}</p>"
            f"<p>{_html(where)} If it keeps happening, copy the details and send them to whoever "
            "looks after srcdesk for you.</p>"
        )

        self.details = QPlainTextEdit()
        self.details.setObjectName("errorDetails")
        self.details.setAccessibleName("Error details")
        self.details.setReadOnly(True)
        self.details.setLineWrapMode(QPlainTextEdit.LineWrapMode.NoWrap)
        self.details.setFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont))
        self.details.setPlainText(details)
        self.details.setMinimumHeight(180)

        buttons = QDialogButtonBox()
        self.copy_button = QPushButton("&Copy details")
        self.copy_button.setAccessibleName("Copy details")
        self.copy_button.setAutoDefault(False)
        buttons.addButton(self.copy_button, QDialogButtonBox.ButtonRole.ActionRole)
        close = buttons.addButton(QDialogButtonBox.StandardButton.Close)
        close.setDefault(True)
        close.setAccessibleName("Close")
        self.copy_button.clicked.connect(self.copy_details)
        buttons.rejected.connect(self.reject)

        top = QHBoxLayout()
        top.addWidget(icon)
        top.addWidget(self.summary, 1)
        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addWidget(self.details, 1)
        layout.addWidget(buttons)
        close.setFocus()

    def add_details(self, summary: str, details: str) -> None:
        """Another error arrived while this one is shown: append it rather than stack dialogs."""
        self.details.appendPlainText("\n" + "-" * 60 + "\n" + details)

    def copy_details(self) -> None:
        QGuiApplication.clipboard().setText(self.details.toPlainText())
        self.copy_button.setText("&Copied")


def _html(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


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
