"""Locking the window after an idle period, and unlocking it with the password.

The screens show health information about people in custody; a PC left signed in must not
stay readable. :class:`IdleWatcher` watches the whole application's keyboard and mouse input;
after ``idle_lock_minutes`` without any, it emits :attr:`IdleWatcher.idle` and the main window
locks: every srcdesk window is hidden (not closed — a half-taken register keeps its unsaved
changes) and :class:`LockScreen` asks the signed-in user for their password again. "Sign out"
from the lock screen is for when someone else needs the PC; it warns that unsaved work in the
hidden windows will be lost.
"""

from __future__ import annotations

from PySide6.QtCore import QEvent, QObject, QSettings, Qt, QTimer, Signal
from PySide6.QtWidgets import QApplication, QDialog, QDialogButtonBox, QLabel, QLineEdit, QVBoxLayout, QWidget

from ..errors import SrcdeskError
from ..services.base import Context
from ..services.users import authenticate
from .errors import report_unexpected
from .tasks import Task, run_task
from .widgets import FieldError, StatusNote, heading

IDLE_LOCK_KEY = "security/idle_lock_minutes"
DEFAULT_IDLE_MINUTES = 10
MIN_IDLE_MINUTES, MAX_IDLE_MINUTES = 1, 120

_ACTIVITY = frozenset({
    QEvent.Type.KeyPress, QEvent.Type.MouseButtonPress, QEvent.Type.MouseMove, QEvent.Type.Wheel,
    QEvent.Type.TouchBegin, QEvent.Type.InputMethod,
})


def idle_lock_minutes(settings: QSettings) -> int:
    """The idle-lock setting (minutes), defaulting to 10 and kept within 1–120."""
    try:
        minutes = int(settings.value(IDLE_LOCK_KEY, DEFAULT_IDLE_MINUTES))
    except (TypeError, ValueError):
        minutes = DEFAULT_IDLE_MINUTES
    return max(MIN_IDLE_MINUTES, min(MAX_IDLE_MINUTES, minutes))


class IdleWatcher(QObject):
    """Emits :attr:`idle` once after ``timeout_ms`` with no keyboard or mouse input anywhere."""

    idle = Signal()

    def __init__(self, timeout_ms: int, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.timeout.connect(self.idle)
        self.set_timeout_ms(timeout_ms)
        app = QApplication.instance()
        if app is not None:
            app.installEventFilter(self)

    @property
    def timeout_ms(self) -> int:
        return self._timer.interval()

    def set_timeout_ms(self, timeout_ms: int) -> None:
        self._timer.setInterval(max(1, int(timeout_ms)))
        if self._timer.isActive():
            self._timer.start()

    def start(self) -> None:
        self._timer.start()

    def stop(self) -> None:
        self._timer.stop()

    @property
    def active(self) -> bool:
        return self._timer.isActive()

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802 - Qt's name
        if event.type() in _ACTIVITY and self._timer.isActive():
            self._timer.start()  # restart the countdown
        return False

    def dispose(self) -> None:
        self._timer.stop()
        app = QApplication.instance()
        if app is not None:
            app.removeEventFilter(self)


class LockScreen(QDialog):
    """"srcdesk is locked": the signed-in user's password, or sign out."""

    unlocked = Signal()
    signOutRequested = Signal()

    def __init__(self, ctx: Context, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        assert ctx.user is not None
        self.ctx = ctx
        self._task: Task | None = None
        self.setObjectName("lockScreen")
        self.setWindowTitle("srcdesk is locked")
        self.setMinimumWidth(420)
        # No name: the lock screen is what a passer-by sees, and a username is half of what signs in
        # (a display name is often the username too).
        explain = QLabel(
            "srcdesk was locked because nobody used it for a while. Enter your password to carry on where "
            "you left off, or sign out so someone else can sign in."
        )
        explain.setObjectName("lockExplanation")
        explain.setWordWrap(True)
        self.password = QLineEdit()
        self.password.setObjectName("lockPassword")
        self.password.setAccessibleName("Password")
        self.password.setEchoMode(QLineEdit.EchoMode.Password)
        label = QLabel("&Password:")
        label.setBuddy(self.password)
        self.error = FieldError(self.password)
        self.error.setObjectName("lockError")
        self.status = StatusNote()

        self.buttons = QDialogButtonBox()
        self.unlock_button = self.buttons.addButton("&Unlock", QDialogButtonBox.ButtonRole.AcceptRole)
        self.unlock_button.setObjectName("unlockButton")
        self.unlock_button.setAccessibleName("Unlock")
        self.unlock_button.setDefault(True)
        self.sign_out_button = self.buttons.addButton("Sign &out…", QDialogButtonBox.ButtonRole.DestructiveRole)
        self.sign_out_button.setObjectName("lockSignOutButton")
        self.sign_out_button.setAccessibleName("Sign out")
        self.sign_out_button.setAutoDefault(False)
        self.unlock_button.clicked.connect(self.submit)
        self.sign_out_button.clicked.connect(self._ask_sign_out)
        self.sign_out_note = FieldError()
        self.sign_out_note.setObjectName("signOutWarning")
        self.confirm_sign_out = False

        layout = QVBoxLayout(self)
        layout.addWidget(heading("srcdesk is locked"))
        layout.addWidget(explain)
        layout.addWidget(label)
        layout.addWidget(self.password)
        layout.addWidget(self.error)
        layout.addWidget(self.status)
        layout.addWidget(self.sign_out_note)
        layout.addStretch(1)
        layout.addWidget(self.buttons)
        QWidget.setTabOrder(self.password, self.unlock_button)
        QWidget.setTabOrder(self.unlock_button, self.sign_out_button)
        self.password.setFocus()

    def submit(self) -> None:
        if self._task is not None:
            return
        self.error.clear_error()
        if not self.password.text():
            self.error.show_error("Enter your password.")
            return
        assert self.ctx.user is not None
        self.unlock_button.setEnabled(False)
        self.status.say("Checking…")
        self._task = run_task(authenticate, self.ctx.db, self.ctx.user.username, self.password.text(),
                              owner=self, on_result=self._succeeded, on_error=self._failed, name="unlock")

    def _succeeded(self, _user: object) -> None:
        self._task = None
        self.password.clear()
        self.status.say("")
        self.unlocked.emit()
        self.accept()

    def _failed(self, error: BaseException) -> None:
        self._task = None
        self.status.say("")
        self.unlock_button.setEnabled(True)
        self.unlock_button.setDefault(True)
        self.password.clear()
        self.password.setFocus()
        if isinstance(error, SrcdeskError):
            self.error.show_error(str(error))
        else:
            self.error.show_error("Unlocking failed unexpectedly.")
            report_unexpected(error)

    def _ask_sign_out(self) -> None:
        """First press warns; the second signs out (no modal box to get stuck behind)."""
        if not self.confirm_sign_out:
            self.confirm_sign_out = True
            self.sign_out_note.show_error(
                "Signing out closes every srcdesk window; anything not yet saved in them will be lost. "
                "Press Sign out again to sign out.")
            self.sign_out_button.setText("Sign &out")
            return
        self.signOutRequested.emit()
        self.accept()

    def reject(self) -> None:
        """Escape and the close button don't unlock."""

    def keyPressEvent(self, event) -> None:  # noqa: ANN001, N802 - Qt's name
        if event.key() == Qt.Key.Key_Escape:
            return
        super().keyPressEvent(event)
