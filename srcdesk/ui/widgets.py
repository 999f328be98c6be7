"""Small widgets shared by dialogs and pages."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QFont, QPalette
from PySide6.QtWidgets import QDialog, QDialogButtonBox, QLabel, QPushButton, QWidget


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
