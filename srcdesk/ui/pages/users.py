"""User accounts (administrators): add, reset a password, change a role, disable or enable.

The list loads in the background; every change goes through :mod:`srcdesk.services.users`
(which refuses, for instance, to disable the last administrator: its sentence is shown here).
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QItemSelectionModel
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QVBoxLayout,
    QWidget,
)

from ...services import users
from ...services.base import Context, UserInfo
from ..catalogue_dialogs import open_dialog
from ..table_model import Column, PagedTableModel, record_view
from ..tasks import run_task
from ..user_dialogs import (
    AddUserDialog,
    ChangeMyPasswordDialog,
    ChangeRoleDialog,
    ResetPasswordDialog,
    describe_role,
)
from ..widgets import FieldError, StatusNote, confirm, heading, push_button, show_service_error
from . import Page
from .installation import role_title

COLUMNS = [
    Column("Username", lambda u: u.username),
    Column("Name", lambda u: u.display_name),
    Column("Role", lambda u: role_title(u.role), tooltip=lambda u: describe_role(u.role)),
    Column("Account", lambda u: "Active" if u.active else "Disabled"),
]


class UsersPage(Page):
    key = "users"
    title = "Users"
    needs = "user.list"
    topics = frozenset({"users"})

    def __init__(self, ctx: Context, parent: QWidget | None = None) -> None:
        super().__init__(ctx, parent)
        self._select: str | None = None
        self.dialog: Any = None
        self.confirm_box: Any = None
        self._to_disable: UserInfo | None = None

        self.model = PagedTableModel(COLUMNS, parent=self)
        self.view = record_view(self.model, "usersTable", "User accounts", stretch=1)
        self.view.selectionModel().currentRowChanged.connect(self._selected)
        self.model.modelReset.connect(self._reselect)
        self.model.failed.connect(self._show_error)

        self.add_button = push_button("&Add user…", "addUserButton", self.add_user)
        self.reset_button = push_button("&Reset password…", "resetPasswordButton", self.reset_password)
        self.role_button = push_button("Change r&ole…", "changeRoleButton", self.change_role)
        self.active_button = push_button("&Disable", "disableButton", self.toggle_active)
        self.view.activated.connect(self._activated)

        self.error = FieldError(self.view)
        self.error.setObjectName("usersError")
        self.status = StatusNote()
        self.status.setObjectName("status")
        intro = QLabel("Everyone who signs in to srcdesk on this PC. A disabled account can't sign in; its "
                       "name stays on what that person recorded.")
        intro.setWordWrap(True)

        buttons = QHBoxLayout()
        for button in (self.add_button, self.reset_button, self.role_button, self.active_button):
            buttons.addWidget(button)
        buttons.addStretch(1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(18, 18, 18, 18)
        layout.addWidget(heading("Users", scale=1.6))
        layout.addWidget(intro)
        layout.addWidget(self.status)
        layout.addWidget(self.view, 1)
        layout.addWidget(self.error)
        layout.addLayout(buttons)
        QWidget.setTabOrder(self.view, self.add_button)
        QWidget.setTabOrder(self.add_button, self.reset_button)
        QWidget.setTabOrder(self.reset_button, self.role_button)
        QWidget.setTabOrder(self.role_button, self.active_button)
        self._update_buttons()

    # -- the list ---------------------------------------------------------------------------------

    def refresh(self) -> None:
        ctx = self.ctx
        self.model.set_fetch(lambda _after: users.list_users(ctx))

    @property
    def loaded(self) -> bool:
        return self.model.loaded_once and not self.model.loading

    def selected(self) -> UserInfo | None:
        return self.model.row(self.view.currentIndex())

    def select_user(self, username: str) -> None:
        self._select = username
        self._reselect()

    def _reselect(self) -> None:
        number = self.model.find(lambda u: u.username == self._select) if self._select else -1
        if number >= 0:
            index = self.model.index(number, 0)
            self.view.selectionModel().setCurrentIndex(
                index, QItemSelectionModel.SelectionFlag.ClearAndSelect | QItemSelectionModel.SelectionFlag.Rows)
            self.view.scrollTo(index)
        self._update_buttons()

    def _selected(self, *_: Any) -> None:
        user = self.selected()
        self._select = user.username if user is not None else None
        self._update_buttons()

    def _update_buttons(self) -> None:
        user = self.selected()
        for button in (self.reset_button, self.role_button, self.active_button):
            button.setEnabled(user is not None)
        text = "&Enable" if user is not None and not user.active else "&Disable"
        self.active_button.setText(text)
        self.active_button.setAccessibleName(text.replace("&", ""))
        self.active_button.setObjectName("enableButton" if text == "&Enable" else "disableButton")
        mine = user is not None and self.ctx.user is not None and user.id == self.ctx.user.id
        self.active_button.setToolTip("You can't disable the account you are signed in with." if mine else "")

    def _show_error(self, error: BaseException) -> None:
        show_service_error(error, self.error)

    # -- actions ----------------------------------------------------------------------------------

    def _activated(self, _index: Any) -> None:
        self.change_role()

    def _open(self, dialog: Any) -> Any:
        self.error.clear_error()
        dialog.saved.connect(self._saved)
        dialog.savedMessage.connect(self.status.say)
        self.dialog = open_dialog(dialog)
        return self.dialog

    def _saved(self, result: Any) -> None:
        if isinstance(result, UserInfo):
            self.select_user(result.username)

    def add_user(self) -> Any:
        return self._open(AddUserDialog(self.ctx, parent=self))

    def reset_password(self) -> Any:
        user = self.selected()
        if user is None:
            return None
        if self.ctx.user is not None and user.id == self.ctx.user.id:  # your own: with the current one
            return self._open(ChangeMyPasswordDialog(self.ctx, parent=self))
        return self._open(ResetPasswordDialog(self.ctx, user, parent=self))

    def change_role(self) -> Any:
        user = self.selected()
        return self._open(ChangeRoleDialog(self.ctx, user, parent=self)) if user is not None else None

    def toggle_active(self) -> None:
        user = self.selected()
        if user is None:
            return
        self.error.clear_error()
        if user.active:
            self._to_disable = user
            self.confirm_box = confirm(
                self, "Disable account", f"Disable the account of {user.display_name} ({user.username})?",
                "&Disable account", self._disable_confirmed,
                informative="They will not be able to sign in until an administrator enables it again. "
                            "What they recorded stays as it is.")
        else:
            self._set_active(user, True)

    def _disable_confirmed(self) -> None:
        if self._to_disable is not None:
            user, self._to_disable = self._to_disable, None
            self._set_active(user, False)

    def _set_active(self, user: UserInfo, active: bool) -> None:
        self.active_button.setEnabled(False)

        def done(info: UserInfo) -> None:
            state = "enabled: they can sign in again" if info.active else "disabled: they can no longer sign in"
            self.status.say(f"The account of {info.display_name} ({info.username}) is {state}.")

        def failed(error: BaseException) -> None:
            self._update_buttons()
            self._show_error(error)

        run_task(users.set_active, self.ctx, user.username, active, owner=self, on_result=done, on_error=failed,
                 name="disable or enable a user")


__all__ = ["UsersPage"]
