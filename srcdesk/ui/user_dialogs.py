"""Dialogs for accounts: add a user, reset a password, change a role (administrators), and
change your own password (everyone, with the current one).

Each saves through :mod:`srcdesk.services.users` in the background, shows a service error under
the field it names, and emits ``saved``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QComboBox, QLabel, QLineEdit, QWidget

from ..errors import ValidationError
from ..models import USER_ROLES
from ..services import users
from ..services.base import Context, UserInfo
from .catalogue_dialogs import FormDialog
from .pages.installation import ROLE_DESCRIPTIONS, role_title
from .widgets import grow_to_fit


def _password_field(placeholder: str = "") -> QLineEdit:
    edit = QLineEdit()
    edit.setEchoMode(QLineEdit.EchoMode.Password)
    if placeholder:
        edit.setPlaceholderText(placeholder)
    return edit


def role_combo(current: str = "recorder") -> QComboBox:
    combo = QComboBox()
    for role in USER_ROLES:
        combo.addItem(role_title(role), role)
        combo.setItemData(combo.count() - 1, ROLE_DESCRIPTIONS.get(role, ""), Qt.ItemDataRole.ToolTipRole)
    combo.setCurrentIndex(max(0, combo.findData(current)))
    return combo


def a_role(role: str) -> str:
    """"a recorder", "an administrator"."""
    name = role_title(role).lower()
    return f"{'an' if name[:1] in 'aeiou' else 'a'} {name}"


def describe_role(role: str) -> str:
    return f"{a_role(role).capitalize()} {ROLE_DESCRIPTIONS.get(role, '')}."


def _check_passwords(password: QLineEdit, confirm: QLineEdit) -> str:
    if password.text() != confirm.text():
        raise ValidationError("The two passwords are not the same.", "confirm")
    users.check_password_strength(password.text())
    return password.text()


class AddUserDialog(FormDialog):
    """A new account: username, full name, role, password typed twice."""


    def __init__(self, ctx: Context, parent: QWidget | None = None) -> None:
        super().__init__(ctx, "Add a user", "Add a user", "&Add user", parent)
        self.setObjectName("addUserDialog")
        self.username = self.add_row("&Username:", QLineEdit(), "username", "username")
        self.username.setPlaceholderText("e.g. jsmith")
        self.display_name = self.add_row("Full &name:", QLineEdit(), "display_name", "displayName")
        self.role = self.add_row("&Role:", role_combo(), "role", "role")
        self.role_note = QLabel()
        self.role_note.setWordWrap(True)
        self.role_note.setObjectName("roleNote")
        self.grid.addWidget(self.role_note, self.grid.rowCount(), 1)
        self.role.currentIndexChanged.connect(self._role_chosen)
        self._role_chosen()
        self.password = self.add_row("&Password:", _password_field("at least 8 characters"), "password",
                                     "password")
        self.confirm = self.add_row("&Confirm password:", _password_field(), "confirm", "confirmPassword")
        self.finish_layout()

    def _role_chosen(self, *_: Any) -> None:
        role = self.role.currentData()
        self.role_note.setText(describe_role(role))
        if self.isVisible():
            grow_to_fit(self)  # another role's description may need more lines

    def work(self) -> tuple[Callable[..., Any], tuple, dict]:
        password = _check_passwords(self.password, self.confirm)
        return users.add_user, (self.ctx, self.username.text(), self.display_name.text(),
                                self.role.currentData(), password), {}

    def done_message(self, result: UserInfo) -> str:
        return f"Added {result.display_name} ({result.username}) as {a_role(result.role)}."


class ResetPasswordDialog(FormDialog):
    """A new password for someone who forgot theirs; they sign in with it next time."""


    def __init__(self, ctx: Context, user: UserInfo, parent: QWidget | None = None) -> None:
        title = f"Reset the password of {user.display_name}"
        super().__init__(ctx, "Reset password", title, "&Reset password", parent)
        self.setObjectName("resetPasswordDialog")
        self.user = user
        note = QLabel(f"Give {user.display_name} ({user.username}) a new password. Tell it to them in "
                      "person; they can change it after signing in.")
        note.setWordWrap(True)
        self.layout_.insertWidget(1, note)
        self.password = self.add_row("New &password:", _password_field("at least 8 characters"), "password",
                                     "password")
        self.confirm = self.add_row("&Confirm password:", _password_field(), "confirm", "confirmPassword")
        self.finish_layout()

    def work(self) -> tuple[Callable[..., Any], tuple, dict]:
        password = _check_passwords(self.password, self.confirm)
        return users.set_password, (self.ctx, self.user.username, password), {}

    def done_message(self, result: Any) -> str:
        return f"The password of {self.user.display_name} ({self.user.username}) was reset."


class ChangeMyPasswordDialog(FormDialog):
    """The signed-in user changes their own password: the current one, then the new one twice."""

    topic = "users"

    def __init__(self, ctx: Context, parent: QWidget | None = None) -> None:
        super().__init__(ctx, "Change my password", "Change my password", "&Change password", parent)
        self.setObjectName("changeMyPasswordDialog")
        assert ctx.user is not None
        note = QLabel(f"You are signed in as {ctx.user.display_name} ({ctx.user.username}). Your new password "
                      "is needed the next time you sign in or unlock srcdesk.")
        note.setObjectName("changeMyPasswordNote")
        note.setWordWrap(True)
        self.layout_.insertWidget(1, note)
        self.current = self.add_row("C&urrent password:", _password_field(), "current_password",
                                    "currentPassword")
        self.password = self.add_row("New &password:", _password_field("at least 8 characters"), "password",
                                     "password")
        self.confirm = self.add_row("&Confirm new password:", _password_field(), "confirm", "confirmPassword")
        self.finish_layout()

    def work(self) -> tuple[Callable[..., Any], tuple, dict]:
        if not self.current.text():
            raise ValidationError("Enter your current password.", "current_password")
        password = _check_passwords(self.password, self.confirm)
        return users.change_own_password, (self.ctx, self.current.text(), password), {}

    def _failed(self, error: BaseException) -> None:
        self.current.clear()  # a wrong current password is typed again, never left in the field
        super()._failed(error)

    def done_message(self, result: Any) -> str:
        return "Your password was changed; use the new one from now on."


class ChangeRoleDialog(FormDialog):
    """Choose another role for an account."""


    def __init__(self, ctx: Context, user: UserInfo, parent: QWidget | None = None) -> None:
        title = f"Change the role of {user.display_name}"
        super().__init__(ctx, "Change role", title, "&Change role", parent)
        self.setObjectName("changeRoleDialog")
        self.user = user
        self.role = self.add_row("&Role:", role_combo(user.role), "role", "role")
        self.role_note = QLabel()
        self.role_note.setWordWrap(True)
        self.role_note.setObjectName("roleNote")
        self.grid.addWidget(self.role_note, self.grid.rowCount(), 1)
        # the service names the last-administrator refusal "username": show it under the role
        self.errors["username"] = self.errors["role"]
        self.role.currentIndexChanged.connect(self._role_chosen)
        self._role_chosen()
        self.finish_layout()

    def _role_chosen(self, *_: Any) -> None:
        role = self.role.currentData()
        self.role_note.setText(describe_role(role))
        if self.isVisible():
            grow_to_fit(self)  # another role's description may need more lines

    def work(self) -> tuple[Callable[..., Any], tuple, dict]:
        role = self.role.currentData()
        if role == self.user.role:
            raise ValidationError(f"{self.user.display_name} is already {a_role(role)}.", "role")
        return users.set_role, (self.ctx, self.user.username, role), {}

    def done_message(self, result: UserInfo) -> str:
        return f"{result.display_name} ({result.username}) is now {a_role(result.role)}."


__all__ = ["AddUserDialog", "ChangeMyPasswordDialog", "ChangeRoleDialog", "ResetPasswordDialog", "a_role", "describe_role", "role_combo"]
