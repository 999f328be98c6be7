"""The desktop app on the ground: one app per data folder, and errors in words, never SQL, values,
names or hashes (on screen, in the error dialog, in the log)."""

from __future__ import annotations

import logging
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication, QWidget
from sqlalchemy import create_engine
from sqlalchemy import text as sql

from srcdesk.errors import BUSY
from srcdesk.paths import database_path
from srcdesk.services.setup import open_installation
from srcdesk.services.users import authenticate
from srcdesk.ui.error_dialog import ErrorDialog
from srcdesk.ui.errors import ExceptionHandler, configure_logging, log_path
from srcdesk.ui.person_dialog import PersonDialog
from srcdesk.ui.single_instance import SingleInstance, already_open_box, bring_to_front

from .conftest import PASSWORD, WAIT_MS

ROOT = Path(__file__).resolve().parents[2]
NAME = ("Zebedee", "Quarriston")
PRIVATE = ("[SQL", "SQL:", "[parameters", "parameters:", "$argon2", *NAME)


def _nothing_private(text: str) -> None:
    for private in PRIVATE:
        assert private not in text, f"{private!r} in:\n{text}"


# -- 2. one app per data folder ---------------------------------------------------------------------

def test_a_second_app_on_the_same_data_wakes_the_first(qtbot, tmp_path) -> None:  # noqa: ANN001
    data = tmp_path / "data"
    first = SingleInstance(data)
    assert first.claim() and first.lock.held
    window = QWidget()
    qtbot.addWidget(window)
    window.show()
    window.showMinimized()
    raised: list[QWidget | None] = []
    first.raiseRequested.connect(lambda: raised.append(bring_to_front([window])))

    second = SingleInstance(data)
    assert not second.claim() and not second.lock.held
    assert second.wake_running()
    qtbot.waitUntil(lambda: raised == [window], timeout=WAIT_MS)
    assert not window.isMinimized()

    box = already_open_box(data, woke=True)
    qtbot.addWidget(box)
    box.open()
    assert box.text() == "srcdesk is already open on this PC with this data."
    assert "brought to the front" in box.informativeText() and str(data) in box.informativeText()

    # Another data folder is another app; and once the first has gone, the next one may open.
    assert SingleInstance(tmp_path / "other").claim()
    first.release()
    third = SingleInstance(data)
    assert third.claim()
    third.release()


def test_a_second_app_started_for_real_asks_the_first_and_opens_nothing(qtbot, perth_data) -> None:  # noqa: ANN001
    """``srcdesk`` (the desktop app) started in its own process while this one holds the data."""
    first = SingleInstance(perth_data)
    assert first.claim()
    asked: list[bool] = []
    first.raiseRequested.connect(lambda: asked.append(True))
    env = {**os.environ, "PYTHONPATH": str(ROOT), "QT_QPA_PLATFORM": "offscreen"}
    second = subprocess.Popen([sys.executable, "-m", "srcdesk.cli", "--data-dir", str(perth_data)], env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        qtbot.waitUntil(lambda: asked == [True], timeout=60_000)  # a fresh process imports Qt first
        assert second.poll() is None  # it shows "already open" and waits for OK
    finally:
        second.kill()
        second.wait()
        first.release()
    assert not (perth_data / "logs").exists()


def test_the_running_app_brings_its_sign_in_to_the_front(qtbot, perth_data, start_app) -> None:  # noqa: ANN001
    controller = start_app(perth_data)
    qtbot.waitUntil(lambda: controller.login_dialog is not None and controller.login_dialog.isVisible(),
                    timeout=WAIT_MS)
    assert controller.bring_to_front() is controller.login_dialog


# -- 1. errors in words ----------------------------------------------------------------------------

def test_saving_a_person_while_another_srcdesk_writes_says_one_line(qtbot, perth_data, monkeypatch) -> None:  # noqa: ANN001
    monkeypatch.setenv("SRCDESK_BUSY_TIMEOUT_MS", "200")
    ctx = open_installation(perth_data)
    hold = sqlite3.connect(database_path(perth_data), isolation_level=None)
    try:
        ctx = ctx.signed_in(authenticate(ctx.db, "admin", PASSWORD))
        owner = QWidget()
        qtbot.addWidget(owner)
        dialog = PersonDialog(ctx, parent=owner)
        dialog.show()
        qtbot.keyClicks(dialog.given_name, NAME[0])
        qtbot.keyClicks(dialog.family_name, NAME[1])
        hold.execute("BEGIN EXCLUSIVE")
        qtbot.mouseClick(dialog.save_button, Qt.MouseButton.LeftButton)
        qtbot.waitUntil(lambda: dialog.general_error.isVisible(), timeout=WAIT_MS)
        assert dialog.general_error.text() == BUSY
        assert dialog.isVisible() and dialog.save_button.isEnabled()  # nothing lost: try again
        assert not [w for w in QApplication.topLevelWidgets() if isinstance(w, ErrorDialog) and w.isVisible()]
        assert not log_path(perth_data).exists()
        hold.execute("ROLLBACK")
        with qtbot.waitSignal(dialog.saved, timeout=WAIT_MS):
            qtbot.mouseClick(dialog.save_button, Qt.MouseButton.LeftButton)
    finally:
        hold.close()
        ctx.db.close()


def _database_error_with_values(tmp_path: Path) -> BaseException:
    """An error as SQLAlchemy raises it from an engine that shows its parameters."""
    engine = create_engine("sqlite://")  # in memory: a new database each time
    try:
        with engine.begin() as conn:
            conn.execute(sql("CREATE TABLE person (name TEXT UNIQUE)"))
            conn.execute(sql("INSERT INTO person VALUES (:n)"), {"n": " ".join(NAME)})
            conn.execute(sql("INSERT INTO person VALUES (:n)"), {"n": " ".join(NAME)})
    except Exception as exc:  # noqa: BLE001
        assert "[SQL" in str(exc) and NAME[0] in str(exc)  # what would have been shown
        return exc
    finally:
        engine.dispose()
    raise AssertionError("no error")


def test_the_error_dialog_and_its_log_hold_no_sql_or_values(qtbot, tmp_path) -> None:  # noqa: ANN001
    error = _database_error_with_values(tmp_path)
    handler = ExceptionHandler(tmp_path / "data")
    handler(type(error), error, error.__traceback__)
    dialog = handler.dialog
    assert isinstance(dialog, ErrorDialog)
    qtbot.addWidget(dialog)
    assert "IntegrityError" in dialog.summary.text() and "UNIQUE constraint failed" in dialog.summary.text()
    _nothing_private(dialog.summary.text())
    _nothing_private(dialog.details.toPlainText())
    _nothing_private(log_path(tmp_path / "data").read_text(encoding="utf-8"))


def test_a_busy_database_in_the_error_dialog_is_one_sentence(qtbot, tmp_path) -> None:  # noqa: ANN001
    error = sqlite3.OperationalError("database is locked")
    handler = ExceptionHandler(tmp_path / "data")
    handler(type(error), error, None)
    dialog = handler.dialog
    qtbot.addWidget(dialog)
    assert BUSY in dialog.summary.text() and "did not expect" not in dialog.summary.text()
    assert log_path(tmp_path / "data").read_text(encoding="utf-8").count(BUSY) == 1


def test_the_log_file_holds_no_sql_or_values(tmp_path) -> None:  # noqa: ANN001
    """What background tasks log (``log.error(..., exc_info=error)``) and an error logged as a value."""
    error = _database_error_with_values(tmp_path)
    handler = configure_logging(tmp_path / "data")
    try:
        log = logging.getLogger("srcdesk")
        log.error("task %s failed", "save a person", exc_info=error)
        log.warning("could not save: %s", _database_error_with_values(tmp_path))
    finally:
        logging.getLogger("srcdesk").removeHandler(handler)
        handler.close()
    text = log_path(tmp_path / "data").read_text(encoding="utf-8")
    assert "task save a person failed" in text and "IntegrityError" in text
    _nothing_private(text)
