"""The desktop app's flow, driven with keys and clicks: first-run set-up, sign-in, main window."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from PySide6.QtCore import QPoint, Qt, QTimer
from PySide6.QtTest import QTest
from PySide6.QtWidgets import (
    QAbstractButton,
    QAbstractSpinBox,
    QApplication,
    QCheckBox,
    QComboBox,
    QLineEdit,
    QRadioButton,
    QWidget,
)

from srcdesk.paths import database_path
from srcdesk.services.setup import open_installation
from srcdesk.services.users import authenticate
from srcdesk.ui.app import AppController
from srcdesk.ui.login_dialog import LoginDialog
from srcdesk.ui.main_window import GEOMETRY_KEY, MainWindow
from srcdesk.ui.setup_dialog import FirstRunDialog

from .conftest import PASSWORD, WAIT_MS

WRONG = "That username and password don't match an active account."


# -- helpers: what a person does ---------------------------------------------------------------


def login_dialog(qtbot, controller: AppController) -> LoginDialog:  # noqa: ANN001
    qtbot.waitUntil(lambda: controller.login_dialog is not None and controller.login_dialog.ready,
                    timeout=WAIT_MS)
    dialog = controller.login_dialog
    assert dialog.isVisible()
    return dialog


def setup_dialog(qtbot, controller: AppController) -> FirstRunDialog:  # noqa: ANN001
    qtbot.waitUntil(lambda: controller.setup_dialog is not None and controller.setup_dialog.codes_loaded,
                    timeout=WAIT_MS)
    dialog = controller.setup_dialog
    assert dialog.isVisible()
    return dialog


def type_into(qtbot, field: QLineEdit, text: str) -> None:  # noqa: ANN001
    field.setFocus()
    qtbot.keyClicks(field, text)


def sign_in(qtbot, dialog: LoginDialog, username: str, password: str) -> None:  # noqa: ANN001
    type_into(qtbot, dialog.username, username)
    type_into(qtbot, dialog.password, password)
    qtbot.keyClick(dialog.password, Qt.Key.Key_Return)  # Enter signs in


def main_window(qtbot, controller: AppController, timeout: int = WAIT_MS) -> MainWindow:  # noqa: ANN001
    qtbot.waitUntil(lambda: controller.main_window is not None and controller.main_window.isVisible(),
                    timeout=timeout)
    return controller.main_window


def click(qtbot, button: QAbstractButton) -> None:  # noqa: ANN001
    """Click a push button in its middle, a radio button or check box on its indicator."""
    x = 8 if isinstance(button, QRadioButton | QCheckBox) else button.width() // 2
    qtbot.mouseClick(button, Qt.MouseButton.LeftButton, pos=QPoint(x, button.height() // 2))


def unnamed_controls(root: QWidget) -> list[str]:
    """Focusable, visible controls without an accessible name (screen readers need one)."""
    missing = []
    for w in root.findChildren(QWidget):
        if w.focusPolicy() & Qt.FocusPolicy.TabFocus and w.isVisibleTo(root) and not w.accessibleName():
            if isinstance(w, QLineEdit) and isinstance(w.parent(), QComboBox | QAbstractSpinBox):
                continue  # the editor inside a named combo box or date field
            missing.append(f"{type(w).__name__}({w.objectName()!r})")
    return missing


# -- first run -----------------------------------------------------------------------------------


def test_first_run_sets_up_an_establishment_and_signs_the_administrator_in(qtbot, start_app, tmp_path):
    folder = tmp_path / "new"
    controller = start_app(folder)
    dialog = setup_dialog(qtbot, controller)
    assert dialog.at_establishment.isChecked()

    dialog.establishment.setFocus()
    qtbot.keyClicks(dialog.establishment, "Perth")  # type-to-select, as with the keyboard
    assert dialog.establishment.currentData() == "PER"
    type_into(qtbot, dialog.username, "jsmith")
    type_into(qtbot, dialog.display_name, "Jo Smith")
    type_into(qtbot, dialog.password, PASSWORD)
    type_into(qtbot, dialog.confirm, PASSWORD)
    qtbot.keyClick(dialog.confirm, Qt.Key.Key_Return)

    window = main_window(qtbot, controller)
    assert window.windowTitle() == "srcdesk — HMP Perth"
    assert window.current_page.key == "today"
    page = window.pages["settings"]
    assert page.installation_value.text() == "HMP Perth (PER)"
    assert page.user_value.text() == "Jo Smith (jsmith)"
    assert page.role_value.text().startswith("Administrator")
    assert window.user_status.text() == "Signed in as Jo Smith (administrator)"
    assert database_path(folder).exists()

    controller.shutdown()  # close the database before opening it again here
    ctx = open_installation(folder)
    try:
        assert ctx.installation.establishment_code == "PER"
        assert authenticate(ctx.db, "jsmith", PASSWORD).role == "administrator"
    finally:
        ctx.db.close()


def test_first_run_for_the_office_with_clicks(qtbot, start_app, tmp_path):
    controller = start_app(tmp_path / "office")
    dialog = setup_dialog(qtbot, controller)
    click(qtbot, dialog.at_office)
    assert dialog.at_office.isChecked()
    assert not dialog.establishment.isEnabled()
    type_into(qtbot, dialog.username, "phr")
    type_into(qtbot, dialog.display_name, "Pat Officer")
    type_into(qtbot, dialog.password, PASSWORD)
    type_into(qtbot, dialog.confirm, PASSWORD)
    click(qtbot, dialog.setup_button)

    # The recovery key is shown once; the app goes on only when the officer says it is stored.
    qtbot.waitUntil(lambda: getattr(dialog, "recovery_dialog", None) is not None, timeout=WAIT_MS)
    recovery = dialog.recovery_dialog
    assert recovery.text.toPlainText().strip().splitlines()[-1].startswith("AGE-SECRET-KEY-1")
    assert not recovery.continue_button.isEnabled()
    saved = tmp_path / "recovery.key"
    recovery.save_to(saved)
    qtbot.waitUntil(lambda: saved.exists(), timeout=WAIT_MS)
    assert saved.read_text() == recovery.key and (saved.stat().st_mode & 0o777) == 0o600
    recovery.reject()  # Escape does nothing
    assert recovery.isVisible()
    click(qtbot, recovery.stored)
    click(qtbot, recovery.continue_button)

    window = main_window(qtbot, controller)
    assert window.windowTitle() == "srcdesk — SRC office"
    assert window.pages["settings"].installation_value.text() == "SRC office"
    assert window.installation_status.text() == "SRC office"


def test_first_run_checks_the_form_before_writing_anything(qtbot, start_app, tmp_path):
    folder = tmp_path / "new"
    controller = start_app(folder)
    dialog = setup_dialog(qtbot, controller)
    type_into(qtbot, dialog.password, PASSWORD)
    type_into(qtbot, dialog.confirm, PASSWORD + "x")
    click(qtbot, dialog.setup_button)

    assert dialog.establishment_error.message == "Choose the establishment this PC is at."
    assert dialog.username_error.message == "Enter a username for the administrator."
    assert dialog.display_name_error.message == "Enter the administrator's full name."
    assert dialog.confirm_error.message == "The two passwords don't match."
    assert dialog.confirm_error.isVisible()
    assert dialog.isVisible() and controller.main_window is None
    assert not folder.exists()


def test_first_run_shows_service_errors_next_to_the_field(qtbot, start_app, tmp_path):
    folder = tmp_path / "new"
    controller = start_app(folder)
    dialog = setup_dialog(qtbot, controller)
    click(qtbot, dialog.at_office)
    type_into(qtbot, dialog.username, "Not A Username!")
    type_into(qtbot, dialog.display_name, "Pat Officer")
    type_into(qtbot, dialog.password, "short")
    type_into(qtbot, dialog.confirm, "short")
    click(qtbot, dialog.setup_button)
    # The service refuses the short password first (before anything is written).
    qtbot.waitUntil(lambda: dialog.password_error.message != "", timeout=WAIT_MS)
    assert dialog.password_error.message == "A password must have at least 8 characters."
    assert dialog.password_error.isVisible()
    assert dialog.setup_button.isEnabled()

    dialog.password.clear()
    dialog.confirm.clear()
    type_into(qtbot, dialog.password, PASSWORD)
    type_into(qtbot, dialog.confirm, PASSWORD)
    click(qtbot, dialog.setup_button)
    qtbot.waitUntil(lambda: dialog.username_error.message != "", timeout=WAIT_MS)
    assert "lower-case letters" in dialog.username_error.message
    assert dialog.password_error.message == ""
    assert dialog.isVisible() and controller.main_window is None
    assert not database_path(folder).exists()  # a refused set-up leaves no database behind


def test_first_run_quit_ends_the_app(qtbot, start_app, tmp_path):
    controller = start_app(tmp_path / "new")
    dialog = setup_dialog(qtbot, controller)
    with qtbot.waitSignal(controller.finished, timeout=WAIT_MS):
        qtbot.keyClick(dialog, Qt.Key.Key_Escape)
    assert not (tmp_path / "new").exists()


# -- signing in --------------------------------------------------------------------------------------


def test_sign_in_shows_the_installation_and_the_user(qtbot, start_app, perth_data):
    controller = start_app(perth_data)
    dialog = login_dialog(qtbot, controller)
    assert dialog.where.text() == "HMP Perth (PER)"
    assert dialog.username.hasFocus() or QApplication.focusWidget() in (None, dialog.username)
    sign_in(qtbot, dialog, "admin", PASSWORD)

    window = main_window(qtbot, controller)
    assert window.windowTitle() == "srcdesk — HMP Perth"
    assert window.current_page.key == "today"
    page = window.pages["settings"]
    assert page.installation_value.text() == "HMP Perth (PER)"
    assert page.kind_value.text() == "Establishment installation"
    assert page.data_folder_value.text() == str(perth_data)
    assert page.user_value.text() == "Alex Admin (admin)"
    assert page.role_value.text().startswith("Administrator")
    assert window.installation_status.text() == "HMP Perth (PER)"
    assert window.user_status.text() == "Signed in as Alex Admin (administrator)"
    assert controller.context.user.username == "admin"
    assert controller.login_dialog is None


def test_sign_in_at_the_office(qtbot, start_app, office_data):
    controller = start_app(office_data)
    dialog = login_dialog(qtbot, controller)
    assert dialog.where.text() == "SRC office"
    sign_in(qtbot, dialog, "phr", PASSWORD)
    window = main_window(qtbot, controller)
    assert window.windowTitle() == "srcdesk — SRC office"
    assert window.pages["settings"].installation_value.text() == "SRC office"
    assert window.pages["settings"].kind_value.text() == "SRC office installation"


@pytest.mark.parametrize(("username", "password"), [("admin", "wrong-password"), ("nobody", PASSWORD)])
def test_wrong_password_or_name_says_so_without_saying_which(qtbot, start_app, perth_data, username, password):
    controller = start_app(perth_data)
    dialog = login_dialog(qtbot, controller)
    sign_in(qtbot, dialog, username, password)
    qtbot.waitUntil(lambda: dialog.error.message != "", timeout=WAIT_MS)
    assert dialog.error.message == WRONG
    assert dialog.error.isVisible()
    assert dialog.isVisible()
    assert controller.main_window is None
    assert dialog.password.text() == ""  # ready for another try
    assert dialog.username.text() == username
    assert dialog.sign_in_button.isEnabled()

    # …and the right password still works from the same dialog.
    dialog.username.clear()
    sign_in(qtbot, dialog, "admin", PASSWORD)
    main_window(qtbot, controller)


def test_empty_fields_are_not_sent(qtbot, start_app, perth_data):
    controller = start_app(perth_data)
    dialog = login_dialog(qtbot, controller)
    click(qtbot, dialog.sign_in_button)
    assert dialog.error.message == "Enter your username and password."
    assert dialog.isVisible() and dialog.ready


def test_escape_on_sign_in_quits(qtbot, start_app, perth_data):
    controller = start_app(perth_data)
    dialog = login_dialog(qtbot, controller)
    with qtbot.waitSignal(controller.finished, timeout=WAIT_MS) as blocker:
        qtbot.keyClick(dialog.username, Qt.Key.Key_Escape)
    assert blocker.args == [0]
    assert controller.main_window is None


def test_data_that_cannot_be_opened_is_explained(qtbot, start_app, tmp_path):
    folder = tmp_path / "damaged"
    folder.mkdir()
    database_path(folder).write_bytes(b"this is not a database" * 10)
    controller = start_app(folder)
    qtbot.waitUntil(lambda: controller.login_dialog is not None and controller.login_dialog.error.message != "",
                    timeout=WAIT_MS)
    dialog = controller.login_dialog
    assert "is not a srcdesk database or is damaged" in dialog.error.message
    assert not dialog.sign_in_button.isEnabled()
    assert dialog.quit_button.isEnabled()
    with qtbot.waitSignal(controller.finished, timeout=WAIT_MS):
        click(qtbot, dialog.quit_button)


# -- the main window -----------------------------------------------------------------------------------


def signed_in(qtbot, start_app, perth_data: Path) -> tuple[AppController, MainWindow]:  # noqa: ANN001
    controller = start_app(perth_data)
    sign_in(qtbot, login_dialog(qtbot, controller), "admin", PASSWORD)
    return controller, main_window(qtbot, controller)


def test_sign_out_returns_to_sign_in(qtbot, start_app, perth_data):
    controller, window = signed_in(qtbot, start_app, perth_data)
    window.sign_out_action.trigger()
    dialog = login_dialog(qtbot, controller)
    assert controller.main_window is None
    assert controller.context.user is None
    assert dialog.where.text() == "HMP Perth (PER)"
    sign_in(qtbot, dialog, "admin", PASSWORD)
    assert main_window(qtbot, controller) is not window


def test_ctrl_q_quits(qtbot, start_app, perth_data):
    controller, window = signed_in(qtbot, start_app, perth_data)
    window.activateWindow()
    qtbot.waitUntil(window.isActiveWindow, timeout=WAIT_MS)
    assert window.quit_action.shortcut().toString() == "Ctrl+Q"
    with qtbot.waitSignal(controller.finished, timeout=WAIT_MS):
        qtbot.keyClick(window, Qt.Key.Key_Q, Qt.KeyboardModifier.ControlModifier)


def test_closing_the_window_quits(qtbot, start_app, perth_data):
    controller, window = signed_in(qtbot, start_app, perth_data)
    with qtbot.waitSignal(controller.finished, timeout=WAIT_MS):
        window.close()


def test_menus(qtbot, start_app, perth_data):
    controller, window = signed_in(qtbot, start_app, perth_data)
    menus = {a.text(): [x.text() for x in a.menu().actions() if not x.isSeparator()]
             for a in window.menuBar().actions()}
    titles = [window.nav.item(i).text() for i in range(window.nav.count())]
    assert menus == {"&File": ["Change my &password…", "&Lock now", "Sign &out / switch user", "&Quit"],
                     "&Go": [f"&{n} {title}" for n, title in enumerate(titles[:9], 1)],
                     "&Help": ["User &guide", "&About srcdesk"]}


def test_ctrl_digit_switches_pages(qtbot, start_app, perth_data):
    controller, window = signed_in(qtbot, start_app, perth_data)
    window.activateWindow()
    qtbot.waitUntil(window.isActiveWindow, timeout=WAIT_MS)
    keys = list(window.pages)
    assert len(keys) >= 3
    for n in (3, 1, min(len(keys), 9)):  # Ctrl+1 to Ctrl+9: the first nine pages (an administrator has ten)
        qtbot.keyClick(window, getattr(Qt.Key, f"Key_{n}"), Qt.KeyboardModifier.ControlModifier)
        assert window.nav.currentRow() == n - 1 and window.current_page is window.pages[keys[n - 1]]


def test_f1_opens_the_user_guide_offline(qtbot, start_app, perth_data):
    from srcdesk.ui.guide import guide_path

    controller, window = signed_in(qtbot, start_app, perth_data)
    window.activateWindow()
    qtbot.waitUntil(window.isActiveWindow, timeout=WAIT_MS)
    assert guide_path().is_file()
    qtbot.keyClick(window, Qt.Key.Key_F1)
    guide = window.guide
    assert guide is not None
    qtbot.waitUntil(lambda: guide.isVisible() and guide.loaded, timeout=WAIT_MS)
    text = guide.browser.toPlainText()
    assert text.startswith("srcdesk: a short guide") and "Ctrl+1" in text and "8 groups of 4" in text
    assert window.show_guide() is guide  # one guide window, raised again


def test_about_box_says_the_version(qtbot, start_app, perth_data):
    from srcdesk import __version__

    controller, window = signed_in(qtbot, start_app, perth_data)
    window.about_action.trigger()
    box = window.about_box
    qtbot.waitUntil(box.isVisible, timeout=WAIT_MS)
    assert f"srcdesk {__version__}" in box.text()
    click(qtbot, box.button(box.StandardButton.Close))
    qtbot.waitUntil(lambda: not box.isVisible(), timeout=WAIT_MS)


def test_window_geometry_is_remembered(qtbot, start_app, perth_data, settings):
    controller, window = signed_in(qtbot, start_app, perth_data)
    window.resize(700, 500)
    qtbot.waitUntil(lambda: window.size().width() == 700, timeout=WAIT_MS)
    window.sign_out_action.trigger()
    assert settings.value(GEOMETRY_KEY) is not None
    sign_in(qtbot, login_dialog(qtbot, controller), "admin", PASSWORD)
    again = main_window(qtbot, controller)
    assert (again.width(), again.height()) == (700, 500)


# -- keyboard and screen readers -----------------------------------------------------------------------


def test_controls_have_accessible_names(qtbot, start_app, perth_data, tmp_path):
    setup = setup_dialog(qtbot, start_app(tmp_path / "new"))
    assert unnamed_controls(setup) == []
    controller, window = signed_in(qtbot, start_app, perth_data)
    for key in window.pages:  # every page, as it shows
        window.show_page(key)
        assert window.current_page.key == key
        assert unnamed_controls(window) == [], key
    login = LoginDialog(perth_data, controller.context)
    qtbot.addWidget(login)
    login.show()
    assert unnamed_controls(login) == []


def test_mnemonics_and_tab_order_on_sign_in(qtbot, start_app, perth_data):
    controller = start_app(perth_data)
    dialog = login_dialog(qtbot, controller)
    dialog.activateWindow()
    qtbot.waitUntil(dialog.isActiveWindow, timeout=WAIT_MS)
    dialog.username.setFocus()
    qtbot.keyClick(dialog.username, Qt.Key.Key_Tab)
    qtbot.waitUntil(dialog.password.hasFocus, timeout=WAIT_MS)
    qtbot.keyClick(dialog.password, Qt.Key.Key_U, Qt.KeyboardModifier.AltModifier)  # &Username
    qtbot.waitUntil(dialog.username.hasFocus, timeout=WAIT_MS)


def test_tab_order_on_first_run(qtbot, start_app, tmp_path):
    dialog = setup_dialog(qtbot, start_app(tmp_path / "new"))
    dialog.activateWindow()
    qtbot.waitUntil(dialog.isActiveWindow, timeout=WAIT_MS)
    dialog.username.setFocus()
    order = []
    for _ in range(4):
        order.append(QApplication.focusWidget().objectName())
        qtbot.keyClick(QApplication.focusWidget(), Qt.Key.Key_Tab)
    assert order == ["username", "displayName", "password", "confirmPassword"]
    assert QApplication.focusWidget() is dialog.setup_button
    qtbot.keyClick(dialog.confirm, Qt.Key.Key_O, Qt.KeyboardModifier.AltModifier)  # SRC &office
    qtbot.waitUntil(dialog.at_office.isChecked, timeout=WAIT_MS)  # a mnemonic "animates" the click
    assert not dialog.establishment.isEnabled()


# -- the real entry point -------------------------------------------------------------------------------


def test_srcdesk_with_no_command_opens_the_app_and_escape_quits(qtbot, tmp_path, monkeypatch):
    """``srcdesk --data-dir X`` (srcdesk.start, the installed command) runs the event loop; a person pressing Escape ends it with 0."""
    import logging

    from srcdesk.start import main

    monkeypatch.setattr(sys, "excepthook", sys.excepthook)  # run_app installs its own; put it back
    handlers = list(logging.getLogger("srcdesk").handlers)
    app = QApplication.instance()
    seen = []

    def press_escape_on_the_setup_dialog() -> None:
        for w in app.topLevelWidgets():
            if isinstance(w, FirstRunDialog) and w.isVisible() and w.codes_loaded:
                poll.stop()
                seen.append(w)
                QTest.keyClick(w, Qt.Key.Key_Escape)
                return

    poll = QTimer()
    poll.setInterval(20)
    poll.timeout.connect(press_escape_on_the_setup_dialog)
    guard = QTimer()  # never hang, whatever happens
    guard.setSingleShot(True)
    guard.timeout.connect(lambda: app.exit(99))
    poll.start()
    guard.start(WAIT_MS)
    try:
        assert main(["--data-dir", str(tmp_path / "fresh")]) == 0
    finally:
        poll.stop()
        guard.stop()
        for h in logging.getLogger("srcdesk").handlers:
            if h not in handlers:
                logging.getLogger("srcdesk").removeHandler(h)
                h.close()
    assert seen


def test_page_splitters_are_remembered(qtbot, start_app, perth_data, settings):
    controller, window = signed_in(qtbot, start_app, perth_data)
    page = window.show_page("volunteers")
    page.splitter.setSizes([200, 800])  # far from the default 2 : 3
    sizes = page.splitter.sizes()
    window.sign_out_action.trigger()
    assert settings.value("pages/volunteers/volunteersSplitter") is not None
    sign_in(qtbot, login_dialog(qtbot, controller), "admin", PASSWORD)
    again = main_window(qtbot, controller)
    again.show_page("volunteers")
    restored = again.pages["volunteers"].splitter.sizes()
    # the same share of the width (the page is laid out at its new size after the state is restored)
    assert abs(restored[0] / sum(restored) - sizes[0] / sum(sizes)) < 0.02
    assert abs(sizes[0] / sum(sizes) - 0.4) > 0.1  # and not the default share


def test_a_window_too_big_for_the_screen_opens_maximized(qtbot, start_app, perth_data, settings):
    """The default size on a smaller screen (a 1024x600 PC; here the offscreen 800-pixel screen)
    never puts the window's bottom, and its buttons, off the screen: it opens maximized, frame and
    all. (A remembered size is fitted to the screen by Qt itself.)"""
    from PySide6.QtWidgets import QApplication

    from srcdesk.ui.main_window import DEFAULT_SIZE

    screen = QApplication.primaryScreen().availableGeometry()
    assert DEFAULT_SIZE[0] > screen.width() or DEFAULT_SIZE[1] > screen.height()
    _controller, window = signed_in(qtbot, start_app, perth_data)
    assert window.isMaximized()
    assert window.width() <= screen.width() and window.height() <= screen.height()
