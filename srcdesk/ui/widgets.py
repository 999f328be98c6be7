"""Small widgets shared by dialogs and pages."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtGui import QFont, QPalette
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QLabel,
    QMessageBox,
    QPushButton,
    QWidget,
)

from ..errors import SrcdeskError, ValidationError, database_problem
from .errors import report_unexpected


def heading(text: str, *, scale: float = 1.35, parent: QWidget | None = None) -> QLabel:
    label = QLabel(text, parent)
    font = QFont(label.font())
    if font.pointSizeF() > 0:
        font.setPointSizeF(font.pointSizeF() * scale)
    font.setBold(True)
    label.setFont(font)
    label.setAccessibleName(text)
    label.setWordWrap(True)
    return label


def grow_to_fit(window: QWidget) -> None:
    """Make a window tall enough for its contents at its current width (after a message wrapped).

    Word-wrapped labels report their height only for a given width, which a dialog does not
    use when it is already shown; without this a long message is clipped or squeezes the fields.
    """
    layout = window.layout()
    if layout is None:
        return
    layout.activate()
    width = window.width()
    need = layout.heightForWidth(width) if layout.hasHeightForWidth() else layout.sizeHint().height()
    if need > window.height():
        window.resize(width, need)


def _error_colour(widget: QWidget) -> str:
    dark = widget.palette().color(QPalette.ColorRole.Window).lightness() < 128
    return "#ff8a80" if dark else "#a4000f"  # both readable (WCAG AA) on their backgrounds


class FieldError(QLabel):
    """A message under a field: hidden while empty, read out with the field it belongs to."""

    def __init__(self, field: QWidget | None = None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.field = field
        self.setWordWrap(True)
        self.setTextFormat(Qt.TextFormat.PlainText)
        self.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.setStyleSheet(f"color: {_error_colour(self)};")
        self.setAccessibleName("Error")
        self.hide()

    def show_error(self, message: str) -> None:
        self.setText(message)
        self.setAccessibleDescription(message)
        if self.field is not None:
            self.field.setAccessibleDescription(message)
        self.setVisible(bool(message))
        if message and self.window().isVisible():
            grow_to_fit(self.window())

    def clear_error(self) -> None:
        self.show_error("")

    @property
    def message(self) -> str:
        return self.text()


class StatusNote(QLabel):
    """A quiet line saying what is happening ("Opening the data…"), hidden when empty."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWordWrap(True)
        self.setTextFormat(Qt.TextFormat.PlainText)
        self.setForegroundRole(QPalette.ColorRole.PlaceholderText)
        self.hide()

    def say(self, message: str) -> None:
        self.setText(message)
        self.setAccessibleName(message)
        self.setVisible(bool(message))


def accept_quit_buttons(dialog: QDialog, accept_text: str, accept_name: str,
                        ) -> tuple[QDialogButtonBox, QPushButton, QPushButton]:
    """The dialog's button row: a default accept button (``accept_text`` with its mnemonic)
    wired to ``dialog.submit``, and Quit wired to ``dialog.reject``."""
    buttons = QDialogButtonBox()
    accept = buttons.addButton(accept_text, QDialogButtonBox.ButtonRole.AcceptRole)
    accept.setObjectName(accept_name)
    accept.setAccessibleName(accept_text.replace("&", ""))
    accept.setDefault(True)
    quit_button = buttons.addButton("&Quit", QDialogButtonBox.ButtonRole.RejectRole)
    quit_button.setObjectName("quitButton")
    quit_button.setAccessibleName("Quit")
    quit_button.setAutoDefault(False)
    buttons.accepted.connect(dialog.submit)
    buttons.rejected.connect(dialog.reject)
    return buttons, accept, quit_button


def confirm(parent: QWidget, title: str, text: str, yes_text: str, on_yes: Callable[[], Any],
            *, no_text: str = "&Cancel", informative: str = "") -> QMessageBox:
    """Ask a yes/no question without blocking: ``on_yes()`` runs if the person agrees.

    The box is opened (never exec()-ed), so nothing waits on it; the "no" answer is the default
    and Escape gives it. Tests find the box as the ``confirmBox`` child of ``parent`` and click
    ``confirmYes`` / ``confirmNo``, or monkeypatch the function that calls this.
    """
    box = QMessageBox(parent)
    box.setObjectName("confirmBox")
    box.setIcon(QMessageBox.Icon.Question)
    box.setWindowTitle(title)
    box.setText(text)
    if informative:
        box.setInformativeText(informative)
    yes = box.addButton(yes_text, QMessageBox.ButtonRole.AcceptRole)
    yes.setObjectName("confirmYes")
    yes.setAccessibleName(yes_text.replace("&", ""))
    no = box.addButton(no_text, QMessageBox.ButtonRole.RejectRole)
    no.setObjectName("confirmNo")
    no.setAccessibleName(no_text.replace("&", ""))
    box.setDefaultButton(no)
    box.setEscapeButton(no)
    box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
    box.buttonClicked.connect(lambda button: on_yes() if button is yes else None)
    box.open()
    return box


class GuardedDialog(QDialog):
    """A dialog that asks before throwing away what was typed (Escape, Cancel, the close button).

    Subclasses say whether anything is unsaved (:meth:`has_unsaved_changes`) and may word the
    question (:meth:`ask_discard`). A background save still running (``self._task``) is
    forgotten when the dialog closes.
    """

    _closing = False
    _task: Any = None
    confirm_box: QMessageBox | None = None  # the last "discard?" question asked

    def has_unsaved_changes(self) -> bool:
        return False

    def ask_discard(self, on_discard: Callable[[], Any]) -> QMessageBox:
        return confirm(self, "Discard changes?", "Discard the changes you made?", "&Discard", on_discard)

    def reject(self) -> None:
        """Escape or Cancel: ask before throwing away what was typed."""
        if self.has_unsaved_changes() and not self._closing:
            self.confirm_box = self.ask_discard(self._discard)
            return
        self._discard()

    def _discard(self) -> None:
        if self._task is not None:
            self._task.discard()
            self._task = None
        self._closing = True
        super().reject()


def push_button(text: str, name: str, slot: Callable[..., Any] | None = None, *, accessible: str | None = None,
           auto_default: bool = False) -> QPushButton:
    """A push button with its object name, an accessible name (its text without the mnemonic
    and the trailing "…", unless given) and ``slot`` on click; not an auto-default button."""
    widget = QPushButton(text)
    widget.setObjectName(name)
    widget.setAccessibleName(accessible or text.replace("&", "").rstrip("…"))
    widget.setAutoDefault(auto_default)
    if slot is not None:
        widget.clicked.connect(slot)
    return widget


def describe_error(error: BaseException) -> str:
    """The message for a failed service call; an unexpected error also opens the error dialog."""
    if isinstance(error, SrcdeskError):
        return str(error)
    problem = database_problem(error)  # busy, full, read-only: no bug, one sentence
    if problem is not None:
        return str(problem)
    report_unexpected(error)
    return "Something unexpected went wrong; the details are in the error window."


def show_service_error(error: BaseException, general: FieldError,
                       fields: dict[str, FieldError] | None = None) -> None:
    """A service's refusal next to what caused it: under the field a ``ValidationError`` names
    (which gets the focus), else in ``general``."""
    target = None
    if isinstance(error, ValidationError) and fields:
        target = fields.get(error.field or "")
    if target is None:
        general.show_error(describe_error(error))
        return
    target.show_error(str(error))
    if target.field is not None:
        target.field.setFocus()


def choose_folder(parent: QWidget, title: str, start: str, accept: str, name: str,
                  on_chosen: Callable[[Path], Any]) -> QFileDialog:
    """Ask for a folder (or USB drive) without blocking; ``on_chosen(folder)`` if one is chosen."""
    dialog = QFileDialog(parent, title, start)
    dialog.setObjectName(name)
    dialog.setFileMode(QFileDialog.FileMode.Directory)
    dialog.setOption(QFileDialog.Option.ShowDirsOnly, True)
    dialog.setAcceptMode(QFileDialog.AcceptMode.AcceptOpen)
    dialog.setLabelText(QFileDialog.DialogLabel.Accept, accept)
    dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
    dialog.fileSelected.connect(lambda chosen: on_chosen(Path(chosen)))
    dialog.open()
    return dialog
