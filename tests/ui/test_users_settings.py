"""The Users page (administrators) and the Settings page (everyone; changes by administrators)."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QWidget

from srcdesk.errors import AuthenticationFailed
from srcdesk.paths import backups_dir
from srcdesk.services.users import authenticate
from srcdesk.ui.bus import data_bus
from srcdesk.ui.pages import settings as settings_module
from srcdesk.ui.pages.settings import IDLE_LOCK_KEY, SettingsPage, idle_lock_minutes
from srcdesk.ui.pages.users import UsersPage

from .conftest import PASSWORD, WAIT_MS, shot


def type_into(qtbot, field, text: str) -> None:  # noqa: ANN001
    field.setFocus()
    field.selectAll()
    qtbot.keyClicks(field, text)


def users_page(qtbot, ctx) -> UsersPage:  # noqa: ANN001
    page = UsersPage(ctx)
    qtbot.addWidget(page)
    page.resize(820, 520)
    page.show()
    page.activate()
    qtbot.waitUntil(lambda: page.loaded, timeout=WAIT_MS)
    return page


def select(qtbot, page: UsersPage, username: str) -> None:  # noqa: ANN001
    number = page.model.find(lambda u: u.username == username)
    assert number >= 0
    rect = page.view.visualRect(page.model.index(number, 1))
    qtbot.mouseClick(page.view.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    assert page.selected().username == username


def row_of(page: UsersPage, username: str) -> list[str]:
    number = page.model.find(lambda u: u.username == username)
    return [page.model.index(number, c).data() for c in range(page.model.columnCount())]


# -- users ---------------------------------------------------------------------------------------------

def test_users_are_listed(qtbot, qtmodeltester, open_demo) -> None:  # noqa: ANN001
    page = users_page(qtbot, open_demo("admin"))
    assert [u.username for u in page.model.rows] == ["admin", "colin", "rita"]
    assert row_of(page, "colin") == ["colin", "Colin Coordinator", "Coordinator", "Active"]
    # The buttons follow the current row (a table given focus may make its first row current).
    assert page.reset_button.isEnabled() == (page.selected() is not None)
    qtmodeltester.check(page.model)
    select(qtbot, page, "rita")
    assert page.reset_button.isEnabled() and page.active_button.text() == "&Disable"
    shot(page, "users-page")


def test_only_administrators_see_users_and_coordinators_programmes(open_demo) -> None:  # noqa: ANN001
    from srcdesk.ui.pages.programmes import ProgrammesPage

    rita, colin, admin = open_demo("rita"), open_demo("colin"), open_demo("admin")
    assert not UsersPage.allowed(rita) and not UsersPage.allowed(colin) and UsersPage.allowed(admin)
    assert not ProgrammesPage.allowed(rita)
    assert SettingsPage.allowed(rita)


def test_add_a_user(qtbot, open_demo) -> None:  # noqa: ANN001
    ctx = open_demo("admin")
    page = users_page(qtbot, ctx)
    qtbot.mouseClick(page.add_button, Qt.MouseButton.LeftButton)
    dialog = page.dialog
    assert dialog.focusWidget() is dialog.username
    type_into(qtbot, dialog.username, "sam")
    type_into(qtbot, dialog.display_name, "Sam Smith")
    dialog.role.setFocus()
    qtbot.keyClick(dialog.role, Qt.Key.Key_Down)  # recorder -> coordinator
    assert dialog.role.currentData() == "coordinator"
    assert dialog.role_note.text().startswith("A coordinator can do everything a recorder can, and also ")
    assert "sign off peer-volunteer milestones" in dialog.role_note.text()
    type_into(qtbot, dialog.password, "new-password-1")
    type_into(qtbot, dialog.confirm, "new-password-2")
    qtbot.keyClick(dialog.confirm, Qt.Key.Key_Return)
    assert dialog.errors["confirm"].message == "The two passwords are not the same."
    type_into(qtbot, dialog.confirm, "new-password-1")
    type_into(qtbot, dialog.username, "rita")  # taken
    qtbot.keyClick(dialog.confirm, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: dialog.errors["username"].isVisible(), timeout=WAIT_MS)
    assert dialog.errors["username"].message == "The username 'rita' is already taken."
    assert not dialog.errors["confirm"].isVisible()
    shot(dialog, "add-user-dialog-error")
    type_into(qtbot, dialog.username, "sam")
    with qtbot.waitSignal(dialog.saved, timeout=WAIT_MS):
        qtbot.mouseClick(dialog.save_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: page.model.find(lambda u: u.username == "sam") >= 0 and page.loaded, timeout=WAIT_MS)
    qtbot.waitUntil(lambda: page.selected() is not None and page.selected().username == "sam", timeout=WAIT_MS)
    assert row_of(page, "sam") == ["sam", "Sam Smith", "Coordinator", "Active"]
    assert page.status.text() == "Added Sam Smith (sam) as a coordinator."
    assert authenticate(ctx.db, "sam", "new-password-1").role == "coordinator"


def test_reset_a_password(qtbot, open_demo) -> None:  # noqa: ANN001
    ctx = open_demo("admin")
    page = users_page(qtbot, ctx)
    select(qtbot, page, "rita")
    qtbot.mouseClick(page.reset_button, Qt.MouseButton.LeftButton)
    dialog = page.dialog
    type_into(qtbot, dialog.password, "short")
    type_into(qtbot, dialog.confirm, "short")
    qtbot.keyClick(dialog.confirm, Qt.Key.Key_Return)
    assert dialog.errors["password"].message == "A password must have at least 8 characters."
    shot(dialog, "reset-password-dialog")
    type_into(qtbot, dialog.password, "fresh-start-42")
    type_into(qtbot, dialog.confirm, "fresh-start-42")
    with qtbot.waitSignal(dialog.saved, timeout=WAIT_MS):
        qtbot.keyClick(dialog.confirm, Qt.Key.Key_Return)
    assert page.status.text() == "The password of Rita Recorder (rita) was reset."
    assert authenticate(ctx.db, "rita", "fresh-start-42").username == "rita"
    with pytest.raises(AuthenticationFailed):
        authenticate(ctx.db, "rita", PASSWORD)


def test_change_a_role_and_the_last_administrator_stays(qtbot, open_demo) -> None:  # noqa: ANN001
    ctx = open_demo("admin")
    page = users_page(qtbot, ctx)
    select(qtbot, page, "rita")
    qtbot.mouseClick(page.role_button, Qt.MouseButton.LeftButton)
    dialog = page.dialog
    dialog.role.setFocus()
    qtbot.keyClick(dialog.role, Qt.Key.Key_Down)
    shot(dialog, "change-role-dialog")
    with qtbot.waitSignal(dialog.saved, timeout=WAIT_MS):
        qtbot.mouseClick(dialog.save_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: page.loaded and row_of(page, "rita")[2] == "Coordinator", timeout=WAIT_MS)
    assert page.status.text() == "Rita Recorder (rita) is now a coordinator."

    select(qtbot, page, "admin")
    qtbot.mouseClick(page.role_button, Qt.MouseButton.LeftButton)
    dialog = page.dialog
    dialog.role.setCurrentIndex(dialog.role.findData("recorder"))
    qtbot.mouseClick(dialog.save_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: dialog.errors["role"].isVisible(), timeout=WAIT_MS)
    assert dialog.errors["role"].message == "This is the last active administrator; add another one first."
    assert dialog.isVisible()
    assert authenticate(ctx.db, "admin", PASSWORD).role == "administrator"


def test_disable_and_enable_with_confirmation(qtbot, open_demo) -> None:  # noqa: ANN001
    ctx = open_demo("admin")
    page = users_page(qtbot, ctx)
    select(qtbot, page, "rita")
    qtbot.mouseClick(page.active_button, Qt.MouseButton.LeftButton)
    box = page.confirm_box
    assert box.isVisible() and "Disable the account of Rita Recorder" in box.text()
    shot(box, "disable-confirm")
    qtbot.mouseClick(box.findChild(QWidget, "confirmNo"), Qt.MouseButton.LeftButton)
    assert row_of(page, "rita")[3] == "Active"
    qtbot.mouseClick(page.active_button, Qt.MouseButton.LeftButton)
    qtbot.mouseClick(page.confirm_box.findChild(QWidget, "confirmYes"), Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: page.loaded and row_of(page, "rita")[3] == "Disabled", timeout=WAIT_MS)
    assert page.status.text().startswith("The account of Rita Recorder (rita) is disabled")
    with pytest.raises(AuthenticationFailed):
        authenticate(ctx.db, "rita", PASSWORD)
    qtbot.waitUntil(lambda: page.selected() is not None and page.active_button.text() == "&Enable",
                    timeout=WAIT_MS)
    qtbot.mouseClick(page.active_button, Qt.MouseButton.LeftButton)  # enabling needs no question
    qtbot.waitUntil(lambda: page.loaded and row_of(page, "rita")[3] == "Active", timeout=WAIT_MS)
    assert authenticate(ctx.db, "rita", PASSWORD).active


def test_disabling_yourself_is_refused_with_the_reason(qtbot, open_demo) -> None:  # noqa: ANN001
    page = users_page(qtbot, open_demo("admin"))
    select(qtbot, page, "admin")
    assert "can't disable the account you are signed in with" in page.active_button.toolTip()
    qtbot.mouseClick(page.active_button, Qt.MouseButton.LeftButton)
    qtbot.mouseClick(page.confirm_box.findChild(QWidget, "confirmYes"), Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: page.error.isVisible(), timeout=WAIT_MS)
    assert page.error.message == "You can't disable your own account while signed in with it."
    assert row_of(page, "admin")[3] == "Active"
    shot(page, "users-refused")


# -- settings ------------------------------------------------------------------------------------------

def settings_page(qtbot, ctx, settings) -> SettingsPage:  # noqa: ANN001
    page = SettingsPage(ctx, settings=settings)
    qtbot.addWidget(page)
    page.resize(820, 760)
    page.show()
    page.activate()
    qtbot.waitUntil(lambda: page.loaded, timeout=WAIT_MS)
    return page


def test_settings_show_this_installation(qtbot, qtmodeltester, open_demo, settings, demo_data) -> None:  # noqa: ANN001
    page = settings_page(qtbot, open_demo("rita"), settings)
    assert page.installation_value.text() == "HMP Perth (PER)"
    assert page.kind_value.text() == "Establishment installation"
    assert page.data_folder_value.text() == str(demo_data)
    assert page.user_value.text() == "Rita Recorder (rita)"
    assert page.role_value.text().startswith("Recorder")
    assert page.backups_label.text() == "No backups in the data folder yet."
    qtmodeltester.check(page.backups_model)
    # A recorder sees the idle lock and may back up into the data folder, but changes nothing else.
    assert not page.idle_lock.isEnabled() and page.idle_lock.value() == 10
    assert not page.backup_to_button.isEnabled() and page.backup_button.isEnabled()
    shot(page, "settings-recorder")


def test_idle_lock_is_saved_and_announced(qtbot, open_demo, settings) -> None:  # noqa: ANN001
    assert idle_lock_minutes(settings) == 10
    page = settings_page(qtbot, open_demo("admin"), settings)
    assert page.idle_lock.isEnabled() and page.idle_lock.value() == 10
    page.idle_lock.setFocus()
    qtbot.keyClick(page.idle_lock, Qt.Key.Key_A, Qt.KeyboardModifier.ControlModifier)
    qtbot.keyClicks(page.idle_lock, "25")
    assert settings.value(IDLE_LOCK_KEY) is None  # nothing saved while typing
    with qtbot.waitSignal(data_bus().changed, timeout=WAIT_MS,
                          check_params_cb=lambda topics: "settings" in topics):
        qtbot.keyClick(page.idle_lock, Qt.Key.Key_Return)
    assert idle_lock_minutes(settings) == 25
    assert page.status.text() == "srcdesk now locks after 25 minutes without use."
    qtbot.keyClick(page.idle_lock, Qt.Key.Key_Up)
    assert idle_lock_minutes(settings) == 26
    settings.setValue(IDLE_LOCK_KEY, "nonsense")
    assert idle_lock_minutes(settings) == 10
    settings.setValue(IDLE_LOCK_KEY, 500)
    assert idle_lock_minutes(settings) == 120


def test_open_folder_opens_the_data_folder(qtbot, open_demo, settings, demo_data, monkeypatch) -> None:  # noqa: ANN001
    opened: list[Path] = []
    monkeypatch.setattr(settings_module, "open_folder", lambda path: opened.append(path) or True)
    page = settings_page(qtbot, open_demo("rita"), settings)
    qtbot.mouseClick(page.open_folder_button, Qt.MouseButton.LeftButton)
    assert opened == [demo_data]
    assert not page.folder_error.isVisible()
    monkeypatch.setattr(settings_module, "open_folder", lambda path: False)
    qtbot.mouseClick(page.open_folder_button, Qt.MouseButton.LeftButton)
    assert page.folder_error.message == f"The folder {demo_data} could not be opened on this PC."


def _people_in(path: Path) -> int:
    con = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        assert con.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        return con.execute("SELECT count(*) FROM person").fetchone()[0]
    finally:
        con.close()


def test_back_up_now_writes_a_valid_copy(qtbot, qtmodeltester, open_demo, settings, demo_data) -> None:  # noqa: ANN001
    page = settings_page(qtbot, open_demo("rita"), settings)
    qtbot.mouseClick(page.backup_button, Qt.MouseButton.LeftButton)
    assert page.backing_up and not page.backup_button.isEnabled()
    qtbot.waitUntil(lambda: not page.backing_up and page.loaded and page.backups_model.rowCount() == 1,
                    timeout=WAIT_MS)
    made = page.last_backup
    assert made.path.parent == backups_dir(demo_data)
    assert page.backup_result.text().startswith(f"Backed up to {made.path} (")
    assert _people_in(made.path) == 83  # the small demo's people
    assert page.backups_model.row(0).path == made.path
    assert page.backups_label.text() == "Recent backups in the data folder:"
    qtmodeltester.check(page.backups_model)
    assert page.backup_button.isEnabled()
    shot(page, "settings-backed-up")


def test_back_up_to_a_chosen_folder(qtbot, open_demo, settings, tmp_path, monkeypatch) -> None:  # noqa: ANN001
    target = tmp_path / "usb-stick"
    target.mkdir()
    monkeypatch.setattr(settings_module, "choose_backup_folder",
                        lambda parent, start, on_chosen: on_chosen(target))
    page = settings_page(qtbot, open_demo("admin"), settings)
    assert page.backup_to_button.isEnabled()
    qtbot.mouseClick(page.backup_to_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: not page.backing_up, timeout=WAIT_MS)
    assert page.last_backup is not None and page.last_backup.path.parent == target
    assert _people_in(page.last_backup.path) == 83
    assert not page.backup_error.isVisible()


def test_a_failed_backup_says_why(qtbot, open_demo, settings, monkeypatch) -> None:  # noqa: ANN001
    from srcdesk.errors import DatabaseError

    def broken(ctx, progress=None):  # noqa: ANN001, ANN202
        raise DatabaseError("Couldn't write the backup to /media/usb: No space left on device.")

    monkeypatch.setattr(settings_module, "backup_now", broken)
    page = settings_page(qtbot, open_demo("rita"), settings)
    qtbot.mouseClick(page.backup_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: page.backup_error.isVisible(), timeout=WAIT_MS)
    assert page.backup_error.message == "Couldn't write the backup to /media/usb: No space left on device."
    assert page.backup_button.isEnabled() and not page.backup_result.isVisible()
