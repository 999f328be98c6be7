"""Sign in: username and password, checked in the background (argon2 takes a moment).

The window shows before the data is open (it is the first thing srcdesk shows: Qt only, no
database code is imported on the way to it), and the person can type meanwhile. Pressing Enter
before the data is open waits, saying so, and signs in as soon as it is open.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QTimer, Signal
from PySide6.QtWidgets import (
    QDialog,
    QFormLayout,
    QLabel,
    QLineEdit,
    QVBoxLayout,
    QWidget,
)

from ..errors import SrcdeskError
from .errors import report_unexpected
from .tasks import Task, run_task
from .widgets import FieldError, StatusNote, accept_quit_buttons, heading

if TYPE_CHECKING:
    from PySide6.QtGui import QPaintEvent

    from ..services.base import Context, InstallationInfo, UserInfo

OPENING = "Opening the data…"
WAITING = "Opening the data… You will be signed in as soon as it is open."


def describe_installation(info: InstallationInfo) -> str:
    """"HMP Perth (PER)" or "SRC office"."""
    if info.is_office:
        return "SRC office"
    return f"{info.name} ({info.establishment_code})" if info.establishment_code else info.name


class LoginDialog(QDialog):
    """Shown while the data is being opened (:meth:`set_opening`): the person can type, and Enter
    waits for :meth:`set_context` (or :meth:`set_open_error`) before the password is checked.

    Emits :attr:`signedIn` with the :class:`UserInfo`; Escape or Quit rejects it.
    """

    signedIn = Signal(object)  # UserInfo
    shown = Signal()  # once, just after the window was first painted (the data is opened then)

    def __init__(self, data_dir: Path, ctx: Context | None = None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.data_dir = data_dir
        self.context: Context | None = None
        self.user: UserInfo | None = None
        self._busy = False
        self._waiting = False  # Enter was pressed before the data was open
        self._painted = False
        self._task: Task | None = None
        self.setObjectName("loginDialog")
        self.setWindowTitle("Sign in — srcdesk")
        self.setMinimumWidth(420)

        self.where = QLabel()
        self.where.setObjectName("installationLabel")
        self.where.setWordWrap(True)  # selectable once painted (see _first_painted)

        self.username = QLineEdit()
        self.username.setObjectName("username")
        self.username.setAccessibleName("Username")
        self.password = QLineEdit()
        self.password.setObjectName("password")
        self.password.setAccessibleName("Password")
        self.password.setEchoMode(QLineEdit.EchoMode.Password)
        form = QFormLayout()
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        for text, field in (("&Username:", self.username), ("&Password:", self.password)):
            label = QLabel(text)
            label.setBuddy(field)
            form.addRow(label, field)

        self.error = FieldError()
        self.error.setObjectName("loginError")
        self.status = StatusNote()
        self.status.setObjectName("status")

        self.buttons, self.sign_in_button, self.quit_button = accept_quit_buttons(self, "&Sign in", "signInButton")

        layout = QVBoxLayout(self)
        layout.addWidget(heading("Sign in to srcdesk"))
        layout.addWidget(self.where)
        layout.addSpacing(6)
        layout.addLayout(form)
        layout.addWidget(self.error)
        layout.addWidget(self.status)
        layout.addStretch(1)
        layout.addWidget(self.buttons)
        QWidget.setTabOrder(self.username, self.password)
        QWidget.setTabOrder(self.password, self.sign_in_button)
        QWidget.setTabOrder(self.sign_in_button, self.quit_button)

        if ctx is None:
            self.set_opening()
        else:
            self.set_context(ctx)

    def paintEvent(self, event: QPaintEvent) -> None:  # noqa: N802 - Qt's name
        super().paintEvent(event)
        if not self._painted:
            self._painted = True
            QTimer.singleShot(0, self._first_painted)  # after this paint, not inside it

    def _first_painted(self) -> None:
        self._where_selectable()
        self.shown.emit()

    def _where_selectable(self) -> None:
        """The data folder or installation can be selected and copied: once the window has been
        painted, or the data is open (selecting needs a text control behind the label, which the
        first paint does without)."""
        from PySide6.QtCore import Qt  # not at the top: see srcdesk.ui.widgets._plain_text

        self.where.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)

    # -- the data behind it --------------------------------------------------------------

    def set_opening(self) -> None:
        """The data is being opened: the fields take typing meanwhile (see :meth:`submit`)."""
        self.context = None
        self.where.setText(f"Data folder: {self.data_dir}")
        self.status.say(OPENING)
        self._set_enabled(True)
        self.username.setFocus()

    def set_context(self, ctx: Context) -> None:
        self.context = ctx
        self._where_selectable()
        self.where.setText(describe_installation(ctx.installation))
        self.where.setAccessibleName(f"Installation: {describe_installation(ctx.installation)}")
        self.status.say("")
        if self._waiting:  # Enter was pressed while the data was opening: go on with it
            self._waiting = False
            self._check(self.username.text().strip(), self.password.text())
            return
        self._set_enabled(True)
        if self.focusWidget() not in (self.username, self.password):  # never move a typing person
            (self.password if self.username.text() else self.username).setFocus()

    def set_open_error(self, message: str) -> None:
        """The data could not be opened: say why; only Quit is left."""
        self.context = None
        self._waiting = False
        self.status.say("")
        self.error.show_error(message)
        self._set_enabled(False)
        self.quit_button.setDefault(True)
        self.quit_button.setFocus()

    @property
    def ready(self) -> bool:
        """The data is open and no sign-in is in progress."""
        return self.context is not None and not self._busy

    @property
    def waiting(self) -> bool:
        """Enter was pressed before the data was open; signing in follows when it is."""
        return self._waiting

    def _set_enabled(self, enabled: bool) -> None:
        for widget in (self.username, self.password, self.sign_in_button):
            widget.setEnabled(enabled)
        if enabled:  # disabling the default button takes "default" away from it; give it back
            self.sign_in_button.setDefault(True)

    # -- signing in ----------------------------------------------------------------------

    def submit(self) -> None:
        if self._busy or self._waiting or not self.username.isEnabled():
            return  # checking already, or the data could not be opened
        self.error.clear_error()
        username = self.username.text().strip()
        password = self.password.text()
        if not username or not password:
            self.error.show_error("Enter your username and password.")
            (self.username if not username else self.password).setFocus()
            return
        if self.context is None:  # still opening: wait for it, visibly, with what was typed
            self._waiting = True
            self._set_enabled(False)
            self.status.say(WAITING)
            return
        self._check(username, password)

    def _check(self, username: str, password: str) -> None:
        from ..services.users import authenticate  # loaded with the data, in the background

        assert self.context is not None
        self._busy = True
        self._set_enabled(False)
        self.status.say("Checking…")
        self._task = run_task(authenticate, self.context.db, username, password, owner=self,
                              on_result=self._succeeded, on_error=self._failed, name="sign in")

    def reject(self) -> None:
        if self._task is not None:  # Quit while the password is being checked: forget the outcome
            self._task.discard()
            self._task = None
        self._busy = self._waiting = False
        super().reject()

    def _succeeded(self, user: UserInfo) -> None:
        self._task = None
        self._busy = False
        self.status.say("")
        self.user = user
        self.password.clear()
        self.signedIn.emit(user)
        self.accept()

    def _failed(self, error: BaseException) -> None:
        self._task = None
        self._busy = False
        self.status.say("")
        self._set_enabled(True)
        self.password.clear()
        self.password.setFocus()
        if isinstance(error, SrcdeskError):
            self.error.show_error(str(error))
        else:
            self.error.show_error("Signing in failed unexpectedly.")
            report_unexpected(error)
