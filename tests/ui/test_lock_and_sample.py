"""Idle lock and unlock without losing unsaved work; switching user; exploring sample data."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QDialog, QLabel, QLineEdit, QVBoxLayout

from srcdesk.paths import database_path, sample_data_dir
from srcdesk.ui.lock import IDLE_LOCK_KEY, LockScreen, idle_lock_minutes

from .conftest import PASSWORD, WAIT_MS
from .test_app import click, login_dialog, main_window, sign_in, signed_in


def unsaved_window(window) -> QLineEdit:  # noqa: ANN001
    """A dialog of the main window holding typed, unsaved text (as a half-taken register does)."""
    dialog = QDialog(window)
    edit = QLineEdit(dialog)
    QVBoxLayout(dialog).addWidget(edit)
    dialog.show()
    edit.setText("half-typed note")
    return edit


def test_idle_lock_then_unlock_keeps_unsaved_work(qtbot, start_app, perth_data):
    controller, window = signed_in(qtbot, start_app, perth_data)
    edit = unsaved_window(window)
    window.idle_watcher.set_timeout_ms(150)
    window.idle_watcher.start()
    qtbot.waitUntil(lambda: window.locked, timeout=WAIT_MS)
    screen = window.lock_screen
    assert isinstance(screen, LockScreen) and screen.isVisible()
    assert not window.isVisible() and not edit.window().isVisible()  # nothing readable while locked

    qtbot.keyClick(screen, Qt.Key.Key_Escape)  # Escape doesn't unlock
    assert window.locked
    qtbot.keyClicks(screen.password, "wrong-password")
    qtbot.keyClick(screen.password, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: bool(screen.error.message), timeout=WAIT_MS)
    assert "password" in screen.error.message.lower() and window.locked

    qtbot.keyClicks(screen.password, PASSWORD)
    qtbot.keyClick(screen.password, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: not window.locked, timeout=WAIT_MS)
    assert window.isVisible() and edit.window().isVisible()
    assert edit.text() == "half-typed note"
    assert window.idle_watcher.active


def test_unlocking_gives_focus_back_to_where_it_was(qtbot, start_app, perth_data):
    from PySide6.QtWidgets import QApplication

    controller, window = signed_in(qtbot, start_app, perth_data)
    edit = unsaved_window(window)
    other = QLineEdit(edit.window())
    edit.window().layout().addWidget(other)
    other.show()
    with qtbot.waitActive(edit.window(), timeout=WAIT_MS):
        edit.window().activateWindow()
    other.setFocus()
    qtbot.waitUntil(lambda: QApplication.focusWidget() is other, timeout=WAIT_MS)
    window.lock_action.trigger()
    screen = window.lock_screen
    text = screen.findChild(QLabel, "lockExplanation").text()
    for shown in (text, screen.password.accessibleName(), screen.windowTitle()):
        assert "admin" not in shown.lower()  # neither the username nor the name (Alex Admin)
    qtbot.keyClicks(screen.password, PASSWORD)
    qtbot.keyClick(screen.password, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: not window.locked, timeout=WAIT_MS)
    qtbot.waitUntil(lambda: QApplication.activeWindow() is edit.window(), timeout=WAIT_MS)
    qtbot.waitUntil(lambda: QApplication.focusWidget() is other, timeout=WAIT_MS)


def test_typing_keeps_it_unlocked(qtbot, start_app, perth_data):
    controller, window = signed_in(qtbot, start_app, perth_data)
    edit = unsaved_window(window)
    window.idle_watcher.set_timeout_ms(400)
    window.idle_watcher.start()
    for _ in range(6):
        qtbot.wait(120)
        qtbot.keyClick(edit, Qt.Key.Key_A)
    assert not window.locked
    qtbot.waitUntil(lambda: window.locked, timeout=WAIT_MS)


def test_lock_now_shortcut_and_sign_out_from_lock(qtbot, start_app, perth_data):
    controller, window = signed_in(qtbot, start_app, perth_data)
    unsaved_window(window)
    window.lock_action.trigger()
    screen = window.lock_screen
    assert screen is not None
    click(qtbot, screen.sign_out_button)  # first press warns
    assert "will be lost" in screen.sign_out_note.message and window.locked
    click(qtbot, screen.sign_out_button)
    dialog = login_dialog(qtbot, controller)
    assert controller.main_window is None
    sign_in(qtbot, dialog, "admin", PASSWORD)
    assert main_window(qtbot, controller) is not window


def test_idle_lock_setting(settings):
    assert idle_lock_minutes(settings) == 10
    settings.setValue(IDLE_LOCK_KEY, 3)
    assert idle_lock_minutes(settings) == 3
    settings.setValue(IDLE_LOCK_KEY, "nonsense")
    assert idle_lock_minutes(settings) == 10
    settings.setValue(IDLE_LOCK_KEY, 100000)
    assert idle_lock_minutes(settings) == 120


def test_idle_lock_follows_the_setting(qtbot, start_app, perth_data, settings):
    from srcdesk.ui.bus import data_bus

    controller, window = signed_in(qtbot, start_app, perth_data)
    assert window.idle_watcher.timeout_ms == 10 * 60_000
    settings.setValue(IDLE_LOCK_KEY, 2)
    data_bus().announce("settings")
    assert window.idle_watcher.timeout_ms == 2 * 60_000


def test_explore_with_sample_data(qtbot, start_app, tmp_path):
    folder = tmp_path / "srcdesk"
    controller = start_app(folder)
    qtbot.waitUntil(lambda: controller.setup_dialog is not None, timeout=WAIT_MS)
    dialog = controller.setup_dialog
    qtbot.waitUntil(lambda: dialog.codes_loaded, timeout=WAIT_MS)
    # Nothing filled in: the sample data has its own made-up administrator.
    assert not dialog.username.text() and not dialog.password.text()
    assert "no need to fill in the form" in dialog.sample_button.toolTip()
    seen_progress: list[int] = []
    dialog.progress.valueChanged.connect(seen_progress.append)
    click(qtbot, dialog.sample_button)
    assert dialog.progress.isVisible()
    window = main_window(qtbot, controller, timeout=120_000)
    assert seen_progress and max(seen_progress) > 0
    assert not database_path(folder).exists()  # the real data folder stays empty
    assert database_path(sample_data_dir(folder)).exists()
    assert controller.context.installation.sample
    assert "SAMPLE DATA" in window.windowTitle()
    assert window.sample_status.isVisible()
    assert controller.context.user.username == "sample" and "sample-data" in window.sample_status.toolTip()
    # The sample data ends today, so Today has this week's sessions.
    import datetime as dt

    from srcdesk.services.sessions import sessions_between
    recent = sessions_between(controller.context, dt.date.today() - dt.timedelta(days=6), dt.date.today())
    assert recent


def test_sample_data_is_offered_again(qtbot, start_app, tmp_path):
    from srcdesk.services.setup import create_sample_installation

    folder = tmp_path / "srcdesk"
    ctx = create_sample_installation(sample_data_dir(folder), establishment="PER", office=False,
                                     admin_username="sam", admin_name="Sam", admin_password=PASSWORD)
    ctx.db.close()
    controller = start_app(folder)
    qtbot.waitUntil(lambda: controller.setup_dialog is not None, timeout=WAIT_MS)
    dialog = controller.setup_dialog
    qtbot.waitUntil(lambda: dialog.sample_exists, timeout=WAIT_MS)
    assert dialog.sample_button.text() == "Open the &sample data"
    click(qtbot, dialog.sample_button)
    sign_in(qtbot, login_dialog(qtbot, controller), "sam", PASSWORD)
    window = main_window(qtbot, controller)
    assert "SAMPLE DATA" in window.windowTitle()


def test_settings_page_changes_the_idle_lock(qtbot, start_app, perth_data, settings):
    controller, window = signed_in(qtbot, start_app, perth_data)
    page = window.show_page("settings")
    page.idle_lock.setValue(3)
    assert settings.value(IDLE_LOCK_KEY) in (3, "3")
    assert window.idle_watcher.timeout_ms == 3 * 60_000
