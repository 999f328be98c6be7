"""Unexpected errors: written to the log, shown in a dialog whose details can be copied."""

from __future__ import annotations

import sys

from PySide6.QtCore import Qt
from PySide6.QtGui import QGuiApplication

from srcdesk.errors import DatabaseError
from srcdesk.ui.error_dialog import ErrorDialog
from srcdesk.ui.errors import ExceptionHandler, log_path

from .conftest import WAIT_MS


def _raise_and_capture(exc: BaseException):  # noqa: ANN202
    try:
        raise exc
    except BaseException:  # noqa: BLE001
        return sys.exc_info()


def test_excepthook_logs_and_shows_the_details(qtbot, tmp_path):
    handler = ExceptionHandler(tmp_path / "data")
    etype, value, tb = _raise_and_capture(ZeroDivisionError("division by zero"))
    handler(etype, value, tb)

    log = log_path(tmp_path / "data")
    assert log == tmp_path / "data" / "logs" / "srcdesk.log"
    text = log.read_text(encoding="utf-8")
    assert "Traceback (most recent call last)" in text
    assert "ZeroDivisionError: division by zero" in text

    dialog = handler.dialog
    assert isinstance(dialog, ErrorDialog)
    qtbot.addWidget(dialog)
    qtbot.waitUntil(dialog.isVisible, timeout=WAIT_MS)
    assert "ZeroDivisionError: division by zero" in dialog.summary.text()
    assert str(log) in dialog.summary.text()
    assert "ZeroDivisionError: division by zero" in dialog.details.toPlainText()
    assert dialog.details.isReadOnly()

    qtbot.mouseClick(dialog.copy_button, Qt.MouseButton.LeftButton)
    assert "ZeroDivisionError" in QGuiApplication.clipboard().text()

    # A second error while the first is shown goes into the same dialog.
    handler(*_raise_and_capture(KeyError("second")))
    assert handler.dialog is dialog
    assert "KeyError: 'second'" in dialog.details.toPlainText()
    assert log.read_text(encoding="utf-8").count("Traceback") == 2


def test_a_domain_error_that_escaped_shows_its_sentence(qtbot, tmp_path):
    handler = ExceptionHandler(tmp_path / "data")
    handler(*_raise_and_capture(DatabaseError("The data folder is on a drive that was removed.")))
    dialog = handler.dialog
    qtbot.addWidget(dialog)
    assert "The data folder is on a drive that was removed." in dialog.summary.text()


def test_an_unwritable_log_still_shows_the_dialog(qtbot, tmp_path):
    blocker = tmp_path / "data"
    blocker.write_text("a file where the data folder should be")
    handler = ExceptionHandler(blocker)
    handler(*_raise_and_capture(RuntimeError("boom")))
    dialog = handler.dialog
    qtbot.addWidget(dialog)
    assert "could not be written" in dialog.summary.text()
