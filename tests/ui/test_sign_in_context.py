"""One frozen Context per sign-in: work queued by one user never runs as the next; role-based
offers come from ``ctx.can``; everyone changes their own password (Settings, File menu, Users)."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
from PySide6.QtCore import Qt

from srcdesk.services import people
from srcdesk.services.setup import open_installation
from srcdesk.services.users import add_user, authenticate
from srcdesk.ui.pages.settings import SettingsPage
from srcdesk.ui.tasks import pending_for, run_task
from srcdesk.ui.user_dialogs import ChangeMyPasswordDialog

from .conftest import PASSWORD, WAIT_MS
from .test_app import click, login_dialog, main_window, sign_in, signed_in


@pytest.fixture
def perth_with_rita(perth_data: Path) -> Path:
    ctx = open_installation(perth_data)
    try:
        admin = ctx.signed_in(authenticate(ctx.db, "admin", PASSWORD))
        add_user(admin, "rita", "Rita Recorder", "recorder", PASSWORD)
    finally:
        ctx.db.close()
    return perth_data


def test_work_queued_before_a_switch_of_user_runs_as_the_first_user(qtbot, start_app, perth_with_rita):  # noqa: ANN001
    controller, window = signed_in(qtbot, start_app, perth_with_rita)
    admin_ctx = window.ctx
    gate = threading.Event()
    made: list[object] = []

    def queued(ctx):  # noqa: ANN001, ANN202 - runs on a worker, after the switch
        assert gate.wait(WAIT_MS / 1000)
        return people.create_person(ctx, given_name="Queued", family_name="Work")

    run_task(queued, admin_ctx, on_result=made.append, name="queued by admin")
    assert pending_for(admin_ctx) >= 1  # with the pages' own loading

    window.sign_out_action.trigger()
    sign_in(qtbot, login_dialog(qtbot, controller), "rita", PASSWORD)
    try:
        dialog = controller.login_dialog
        qtbot.waitUntil(lambda: dialog.status.text() == "Finishing what the previous user started…",
                        timeout=WAIT_MS)
        qtbot.wait(300)
        # rita is signed in only once admin's work has finished: no Context of hers exists yet
        assert controller.main_window is None and controller.context.user is None
        assert dialog.isVisible() and not dialog.password.isEnabled()
        assert pending_for(admin_ctx) >= 1
    finally:
        gate.set()
    window2 = main_window(qtbot, controller)
    assert window2.ctx.user.username == "rita" and window2.ctx is not admin_ctx
    assert admin_ctx.user.username == "admin"  # frozen: never became rita
    qtbot.waitUntil(lambda: bool(made), timeout=WAIT_MS)
    with window2.ctx.read() as s:
        from srcdesk.models import Person

        person = s.get(Person, made[0].id)
        assert person.created_by == admin_ctx.user.id != window2.ctx.user.id


def test_signing_in_again_with_nothing_queued_is_at_once(qtbot, start_app, perth_with_rita):  # noqa: ANN001
    controller, window = signed_in(qtbot, start_app, perth_with_rita)
    first = window.ctx
    window.sign_out_action.trigger()
    assert controller.context.user is None and first.user.username == "admin"
    sign_in(qtbot, login_dialog(qtbot, controller), "rita", PASSWORD)
    window2 = main_window(qtbot, controller)
    assert window2.ctx.user.username == "rita"
    # what rita's role may not do is not offered: the Users page and the Sync page are not there
    assert "users" not in window2.pages and "sync" not in window2.pages


# -- changing your own password ---------------------------------------------------------------------


def _fill(qtbot, dialog: ChangeMyPasswordDialog, current: str, new: str, confirm: str | None = None) -> None:  # noqa: ANN001
    for field, text in ((dialog.current, current), (dialog.password, new), (dialog.confirm, confirm or new)):
        field.clear()
        field.setFocus()
        qtbot.keyClicks(field, text)


def test_a_recorder_changes_their_password_from_settings(qtbot, open_demo, settings) -> None:  # noqa: ANN001
    ctx = open_demo("rita")
    page = SettingsPage(ctx, settings=settings)
    qtbot.addWidget(page)
    page.show()
    assert page.password_button.isEnabled() and page.password_button.isVisible()
    click(qtbot, page.password_button)
    dialog = page.password_dialog
    assert isinstance(dialog, ChangeMyPasswordDialog) and dialog.isVisible()

    _fill(qtbot, dialog, "not my password", "a new password")
    qtbot.keyClick(dialog.confirm, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: dialog.errors["current_password"].message != "", timeout=WAIT_MS)
    assert "not your current password" in dialog.errors["current_password"].message
    assert dialog.isVisible() and dialog.current.text() == ""
    authenticate(ctx.db, "rita", PASSWORD)  # nothing changed

    _fill(qtbot, dialog, PASSWORD, "a new password", "a different one")
    qtbot.keyClick(dialog.confirm, Qt.Key.Key_Return)
    assert "not the same" in dialog.errors["confirm"].message

    _fill(qtbot, dialog, PASSWORD, "a new password")
    with qtbot.waitSignal(dialog.saved, timeout=WAIT_MS):
        qtbot.keyClick(dialog.confirm, Qt.Key.Key_Return)
    assert authenticate(ctx.db, "rita", "a new password").username == "rita"
    qtbot.waitUntil(lambda: "password was changed" in page.status.text(), timeout=WAIT_MS)


def test_the_file_menu_changes_my_password_too(qtbot, start_app, perth_data):  # noqa: ANN001
    _controller, window = signed_in(qtbot, start_app, perth_data)
    assert window.password_action.isEnabled()
    window.password_action.trigger()
    dialog = window.password_dialog
    assert isinstance(dialog, ChangeMyPasswordDialog) and dialog.isVisible()
    _fill(qtbot, dialog, PASSWORD, "admin's new one")
    with qtbot.waitSignal(dialog.saved, timeout=WAIT_MS):
        click(qtbot, dialog.save_button)
    assert authenticate(window.ctx.db, "admin", "admin's new one")


def test_an_administrator_resetting_their_own_row_is_asked_for_the_current_password(qtbot, open_demo) -> None:  # noqa: ANN001
    from srcdesk.ui.pages.users import UsersPage
    from srcdesk.ui.user_dialogs import ResetPasswordDialog

    ctx = open_demo("admin")
    page = UsersPage(ctx)
    qtbot.addWidget(page)
    page.show()
    page.activate()
    qtbot.waitUntil(lambda: page.model.rowCount() >= 3, timeout=WAIT_MS)
    page.select_user("admin")
    assert isinstance(page.reset_password(), ChangeMyPasswordDialog)
    page.dialog.reject()
    page.select_user("rita")
    assert isinstance(page.reset_password(), ResetPasswordDialog)
    page.dialog.reject()


def test_settings_say_what_the_table_says_a_recorder_cannot_do(qtbot, open_demo, settings) -> None:  # noqa: ANN001
    ctx = open_demo("rita")
    page = SettingsPage(ctx, settings=settings)
    qtbot.addWidget(page)
    assert not page.backup_to_button.isEnabled()
    assert page.backup_to_button.toolTip() == ctx.refusal("backup.elsewhere")
    assert "Only an administrator can back up the data to a place outside" in page.backup_to_button.toolTip()
    assert page.role_value.text().startswith("Recorder — can see people's records;")
