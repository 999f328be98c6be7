"""The app opens at once: the sign-in window first (Qt only), the data opened behind it while the
person types; Enter pressed early waits, visibly, and goes on; the data's problems are told there."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import Qt

from srcdesk.paths import database_path
from srcdesk.ui import app as app_module
from srcdesk.ui.login_dialog import OPENING, WAITING

from .conftest import PASSWORD, WAIT_MS

ROOT = Path(__file__).resolve().parents[2]

# Modules that may not be loaded when the sign-in window first shows: the database and what needs it.
HEAVY = ("sqlalchemy", "alembic", "argon2", "srcdesk.db", "srcdesk.models", "srcdesk.services.base",
         "srcdesk.services.setup", "srcdesk.services.users", "srcdesk.ui.main_window",
         # … and what the sign-in window does without (srcdesk.start opens the app without them):
         "srcdesk.cli", "srcdesk.reports", "srcdesk.ui.error_dialog")

# A child process running ``srcdesk --data-dir DIR`` for real (srcdesk.start.main, the installed command).
# When the sign-in window is first painted on a window that is exposed, it notes which of HEAVY are
# loaded, then signs in with the keyboard and reports the main window (or gives up after 30 s).
CHILD = textwrap.dedent("""
    import json, sys
    from PySide6 import QtCore
    from PySide6.QtCore import QEvent, QObject, QTimer
    from PySide6.QtTest import QTest
    from PySide6.QtWidgets import QApplication

    HEAVY = {heavy!r}
    seen = {{}}
    app = QApplication(sys.argv[:1])

    class Watch(QObject):
        def eventFilter(self, obj, event):
            if (not seen and event.type() == QEvent.Type.Paint and obj.objectName() == "loginDialog"
                    and obj.windowHandle() is not None and obj.windowHandle().isExposed()):
                seen["loaded"] = [m for m in HEAVY if m in sys.modules]
                seen["qt_namespace"] = "Qt" in QtCore.__dict__  # its Python enums made yet?
                seen["dialog"] = obj
            return False

    watch = Watch()
    app.installEventFilter(watch)

    def step():
        dialog = seen.get("dialog")
        if dialog is None:
            return
        if "typed" not in seen:  # at once, before the data is open
            from PySide6.QtCore import Qt
            seen["typed"] = True
            QTest.keyClicks(dialog.username, "admin")
            QTest.keyClicks(dialog.password, {password!r})
            QTest.keyClick(dialog.password, Qt.Key.Key_Return)
            return
        for w in app.topLevelWidgets():
            if type(w).__name__ == "MainWindow" and w.isVisible():
                print(json.dumps({{"loaded": seen["loaded"], "qt_namespace": seen["qt_namespace"],
                                  "user": w.ctx.user.username}}), flush=True)
                app.exit(0)

    poll = QTimer()
    poll.timeout.connect(step)
    poll.start(10)
    QTimer.singleShot(30_000, lambda: app.exit(3))
    from srcdesk.start import main
    sys.exit(main(["--data-dir", sys.argv[1]]))
""")


def test_the_sign_in_window_shows_before_the_database_code_is_imported(perth_data: Path) -> None:
    script = CHILD.format(heavy=HEAVY, password=PASSWORD)
    env = {**os.environ, "PYTHONPATH": str(ROOT), "QT_QPA_PLATFORM": "offscreen"}
    done = subprocess.run([sys.executable, "-c", script, str(perth_data)], capture_output=True, text=True,
                          env=env, timeout=60)
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout.strip().splitlines()[-1])
    assert report["loaded"] == []  # none of them when the sign-in window was on the screen
    # Nor Python's enums for the whole Qt namespace (~20 ms; see srcdesk.ui.widgets._plain_text).
    assert report["qt_namespace"] is False
    assert report["user"] == "admin"  # and Enter, pressed at once, signed in when the data was open


# -- in this process: the data's opening held back until the test lets it go -----------------------


@pytest.fixture
def held_open(monkeypatch: pytest.MonkeyPatch) -> Iterator[threading.Event]:
    """Opening the data waits (in the background) until the test sets the event."""
    go = threading.Event()
    real = app_module._open_data

    def open_when_told(data_dir: Path):  # noqa: ANN202
        assert go.wait(WAIT_MS / 1000), "the test never let the data open"
        return real(data_dir)

    monkeypatch.setattr(app_module, "_open_data", open_when_told)
    yield go
    go.set()  # never leave a worker waiting


def shown_login(qtbot, controller):  # noqa: ANN001, ANN201
    """The sign-in window, once it is the active window (it is shown at once, before the event
    loop has made it active: the keyboard reaches it then, as a person's would)."""
    qtbot.waitUntil(lambda: controller.login_dialog is not None and controller.login_dialog.isVisible()
                    and controller.login_dialog.isActiveWindow(), timeout=WAIT_MS)
    return controller.login_dialog


def test_enter_before_the_data_is_open_waits_visibly_then_signs_in(qtbot, start_app, perth_data, held_open):
    controller = start_app(perth_data)
    dialog = shown_login(qtbot, controller)
    qtbot.waitUntil(lambda: controller._open_task is not None, timeout=WAIT_MS)  # opening, held
    assert dialog.status.text() == OPENING and dialog.context is None
    assert dialog.username.isEnabled() and dialog.username.hasFocus()  # type at once
    qtbot.keyClicks(dialog.username, "admin")
    qtbot.keyClick(dialog.username, Qt.Key.Key_Tab)
    qtbot.keyClicks(dialog.password, PASSWORD)
    qtbot.keyClick(dialog.password, Qt.Key.Key_Return)
    assert dialog.waiting and dialog.status.text() == WAITING and dialog.status.isVisible()
    assert not dialog.sign_in_button.isEnabled() and not dialog.password.isEnabled()
    qtbot.wait(50)  # the window stays up, saying so, for as long as the data takes
    assert dialog.isVisible() and dialog.waiting and controller.main_window is None
    assert (dialog.username.text(), dialog.password.text()) == ("admin", PASSWORD)  # nothing lost
    held_open.set()
    qtbot.waitUntil(lambda: controller.main_window is not None and controller.main_window.isVisible(),
                    timeout=WAIT_MS)
    assert controller.context.user.username == "admin"


def test_the_data_opens_even_if_the_sign_in_window_is_never_painted(qtbot, start_app, perth_data, monkeypatch):
    """(Minimised at start, or a platform that paints late): the data is opened after a moment anyway."""
    from PySide6.QtWidgets import QDialog

    from srcdesk.ui.login_dialog import LoginDialog

    monkeypatch.setattr(LoginDialog, "paintEvent", QDialog.paintEvent)  # never says it was shown
    monkeypatch.setattr(app_module, "OPEN_ANYWAY_MS", 50)
    controller = start_app(perth_data)
    dialog = shown_login(qtbot, controller)
    qtbot.waitUntil(lambda: dialog.ready, timeout=WAIT_MS)
    assert dialog.where.text() == "HMP Perth (PER)"


def test_what_can_be_selected_is_made_selectable_after_the_first_paint(qtbot, tmp_path):
    """Selectable text needs a text control behind its label: the sign-in window's first paint
    goes without; the data folder is selectable once painted, an error line once it shows one."""
    from srcdesk.ui.login_dialog import LoginDialog

    selectable = Qt.TextInteractionFlag.TextSelectableByMouse
    dialog = LoginDialog(tmp_path)
    qtbot.addWidget(dialog)
    assert not dialog.where.textInteractionFlags() & selectable
    assert not dialog.error.textInteractionFlags() & selectable
    with qtbot.waitSignal(dialog.shown, timeout=WAIT_MS):
        dialog.show()
    assert dialog.where.textInteractionFlags() & selectable
    assert not dialog.error.textInteractionFlags() & selectable
    dialog.error.show_error("Enter your username and password.")
    assert dialog.error.textInteractionFlags() & selectable and dialog.error.isVisible()
    dialog.error.clear_error()
    assert dialog.error.textInteractionFlags() & selectable and not dialog.error.isVisible()


def test_message_lines_show_their_text_as_it_is(qtbot):
    """FieldError and StatusNote are plain text (set by the property's name): markup in a
    message (a name, a file name) is shown, never obeyed."""
    from srcdesk.ui.widgets import FieldError, StatusNote

    for label, show in ((FieldError(), FieldError.show_error), (StatusNote(), StatusNote.say)):
        qtbot.addWidget(label)
        assert label.textFormat() == Qt.TextFormat.PlainText
        show(label, "<b>O'Neil</b> & co")
        assert label.text() == "<b>O'Neil</b> & co" and label.textFormat() == Qt.TextFormat.PlainText


def test_typing_while_the_data_opens_is_kept_where_it_is(qtbot, start_app, perth_data, held_open):
    controller = start_app(perth_data)
    dialog = shown_login(qtbot, controller)
    qtbot.keyClicks(dialog.username, "adm")
    held_open.set()
    qtbot.waitUntil(lambda: dialog.context is not None, timeout=WAIT_MS)
    assert dialog.username.hasFocus() and dialog.status.text() == ""  # the cursor did not jump away
    qtbot.keyClicks(dialog.username, "in")
    qtbot.keyClick(dialog.username, Qt.Key.Key_Tab)
    qtbot.keyClicks(dialog.password, PASSWORD)
    qtbot.keyClick(dialog.password, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: controller.main_window is not None and controller.main_window.isVisible(),
                    timeout=WAIT_MS)
    assert controller.context.user.username == "admin"


def test_empty_fields_are_told_at_once_even_while_the_data_opens(qtbot, start_app, perth_data, held_open):
    controller = start_app(perth_data)
    dialog = shown_login(qtbot, controller)
    qtbot.keyClicks(dialog.username, "admin")
    qtbot.keyClick(dialog.username, Qt.Key.Key_Return)
    assert dialog.error.message == "Enter your username and password."
    assert not dialog.waiting and dialog.password.isEnabled() and dialog.password.hasFocus()


def newer_schema(folder: Path) -> None:
    import sqlite3

    con = sqlite3.connect(database_path(folder))
    with con:
        con.execute("UPDATE alembic_version SET version_num = '9999'")
    con.close()


def damaged(folder: Path) -> None:
    database_path(folder).write_bytes(b"this is not a database" * 10)


@pytest.mark.parametrize(("spoil", "says"), [
    (newer_schema, "This data was written by a newer srcdesk (schema 9999); update srcdesk to open it."),
    (damaged, "is not a srcdesk database or is damaged"),
])
def test_enter_pressed_early_then_the_data_cannot_be_opened(qtbot, start_app, perth_data, held_open, spoil, says):
    spoil(perth_data)
    controller = start_app(perth_data)
    dialog = shown_login(qtbot, controller)
    qtbot.keyClicks(dialog.username, "admin")
    qtbot.keyClick(dialog.username, Qt.Key.Key_Tab)
    qtbot.keyClicks(dialog.password, PASSWORD)
    qtbot.keyClick(dialog.password, Qt.Key.Key_Return)
    assert dialog.waiting
    held_open.set()
    qtbot.waitUntil(lambda: dialog.error.message != "", timeout=WAIT_MS)
    assert says in dialog.error.message
    assert not dialog.waiting and dialog.status.text() == "" and controller.main_window is None
    assert not dialog.sign_in_button.isEnabled() and not dialog.username.isEnabled()
    assert dialog.quit_button.isDefault()
    with qtbot.waitSignal(controller.finished, timeout=WAIT_MS):  # Enter now means Quit
        qtbot.keyClick(dialog, Qt.Key.Key_Return)
    assert controller.main_window is None


def test_locked_data_is_told_in_the_sign_in_window(qtbot, start_app, perth_data, monkeypatch):
    """Another program holds the database file locked: the sign-in window says so."""
    from srcdesk.errors import BUSY

    monkeypatch.setenv("SRCDESK_BUSY_TIMEOUT_MS", "100")
    holder = subprocess.Popen(
        [sys.executable, "-c", "import sqlite3, sys, time\ncon = sqlite3.connect(sys.argv[1], isolation_level=None)\n"
         "con.execute('PRAGMA locking_mode=EXCLUSIVE')\ncon.execute('BEGIN EXCLUSIVE')\nprint('held', flush=True)\n"
         "time.sleep(60)\n", str(database_path(perth_data))], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        controller = start_app(perth_data)
        dialog = shown_login(qtbot, controller)
        qtbot.waitUntil(lambda: dialog.error.message != "", timeout=WAIT_MS)
        assert dialog.error.message == BUSY
        assert not dialog.sign_in_button.isEnabled() and dialog.quit_button.isEnabled()
    finally:
        holder.kill()
        holder.wait()
        holder.stdout.close()


# -- the main window: its first page at once, the others when idle or asked for ---------------------


def test_the_main_window_builds_its_first_page_at_once_and_the_others_when_idle(qtbot, open_demo, settings):
    from srcdesk.ui.main_window import MainWindow

    window = MainWindow(open_demo("admin"), settings)
    qtbot.addWidget(window)
    keys = list(window.pages)
    assert len(keys) > 5 and window.nav.count() == len(keys)  # every entry is there at once
    assert [page.key for page in window.pages.built()] == [keys[0]] == [window.current_page.key]
    window.show()
    qtbot.waitUntil(lambda: len(window.pages.built()) == len(keys), timeout=WAIT_MS)
    assert [page.key for page in window.pages.built()] == keys  # in the list's order


def test_a_page_asked_for_is_built_there_and_then(qtbot, open_demo, settings):
    from srcdesk.ui.main_window import MainWindow

    window = MainWindow(open_demo("admin"), settings)
    qtbot.addWidget(window)
    window._idle_build.stop()  # nothing built behind the test's back
    assert not window.pages.is_built("people") and "people" in window.pages
    window.show()
    next(a for a in window.go_actions if a.objectName() == "goPeopleAction").trigger()  # Go → People
    assert window.pages.is_built("people") and window.current_page is window.pages["people"]
    assert window.current_page.key == "people" and not window.pages.is_built("sessions")
    assert window.pages.get("sessions").key == "sessions"  # asked for by name: built too


def test_building_a_page_never_opens_a_window_of_its_own(qtbot, open_demo, settings):
    """A page built while the window is in use (when idle) must not flash a widget as a window
    for a moment (a widget shown before it has a parent is one): it would take the focus."""
    from PySide6.QtCore import QEvent, QObject
    from PySide6.QtWidgets import QApplication

    from srcdesk.ui.main_window import MainWindow

    window = MainWindow(open_demo("admin"), settings)
    qtbot.addWidget(window)
    window._idle_build.stop()
    window.show()
    qtbot.waitExposed(window)
    opened = []

    class Watch(QObject):
        def eventFilter(self, obj, event) -> bool:  # noqa: ANN001, N802
            if event.type() == QEvent.Type.Show and getattr(obj, "isWindow", lambda: False)():
                opened.append(f"{type(obj).__name__}({obj.objectName()!r})")
            return False

    watch = Watch()
    QApplication.instance().installEventFilter(watch)
    try:
        for key in window.pages:
            window.pages[key]  # noqa: B018 - built here
        dashboard = window.pages["dashboard"]
        window.show_page("dashboard")
        dashboard.tabs.setCurrentWidget(dashboard.workplan_tab)  # the Workplan tab is built when chosen
        assert dashboard.workplan is not None
    finally:
        QApplication.instance().removeEventFilter(watch)
    assert len(window.pages.built()) == len(window.pages)
    assert opened == []
