"""Small widgets shared by dialogs and pages."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from PySide6 import QtCore  # QtCore.Qt where used, never at import: see _plain_text
from PySide6.QtCore import QEvent, QObject, QRect, QSize, QTimer
from PySide6.QtGui import QFont, QPalette
from PySide6.QtWidgets import (
    QAbstractButton,
    QAbstractSpinBox,
    QComboBox,
    QDateTimeEdit,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFrame,
    QLabel,
    QLayout,
    QLineEdit,
    QMessageBox,
    QPlainTextEdit,
    QPushButton,
    QScrollArea,
    QVBoxLayout,
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


# -- windows that fit the screen ---------------------------------------------------------------------

# What a window manager adds around a window (title bar, borders) before the window is shown and
# its real frame is known: enough for the title bars of Windows and the common Linux desktops.
FRAME_ALLOWANCE = QSize(16, 40)


def screen_area(window: QWidget) -> QRect:
    """The part of the window's screen a window may use (without the taskbar); tests replace it."""
    screen = window.screen()
    return screen.availableGeometry() if screen is not None else QRect(0, 0, 1024, 600)


def _frame_extra(window: QWidget) -> QSize:
    """The frame around the window's contents: measured once it is shown, else the allowance."""
    frame, inner = window.frameGeometry(), window.geometry()
    measured = QSize(frame.width() - inner.width(), frame.height() - inner.height())
    if window.isVisible() and measured.height() > 0:
        return measured
    return FRAME_ALLOWANCE


def largest_size(window: QWidget) -> QSize:
    """The largest size of ``window``'s contents that, with its frame, still fits on its screen."""
    area, extra = screen_area(window), _frame_extra(window)
    return QSize(max(area.width() - extra.width(), 1), max(area.height() - extra.height(), 1))


def keep_on_screen(window: QWidget) -> None:
    """Move a window (frame and all) inside its screen's usable area, top-left first."""
    area, extra = screen_area(window), _frame_extra(window)
    frame = window.frameGeometry() if window.isVisible() else QRect(window.pos(), window.size() + extra)
    x = max(area.left(), min(frame.left(), area.right() + 1 - frame.width()))
    y = max(area.top(), min(frame.top(), area.bottom() + 1 - frame.height()))
    if (x, y) != (frame.left(), frame.top()):
        window.move(x, y)


def fit_to_screen(window: QWidget, wanted: QSize | None = None) -> None:
    """Give a window the size it wants (``wanted``, else its size hint), never more than its screen
    leaves for it, and keep it on the screen. A remembered or restored size is clamped the same way."""
    limit = largest_size(window)
    size = (wanted if wanted is not None else window.sizeHint()).expandedTo(window.minimumSizeHint())
    size = size.boundedTo(limit).expandedTo(window.minimumSize().boundedTo(limit))
    if size != window.size():
        window.resize(size)
    keep_on_screen(window)


def grow_to_fit(window: QWidget) -> None:
    """Make a window tall enough for its contents at its current width (after a message wrapped),
    but never taller than its screen: past that, the dialog's body scrolls (:func:`scrolling_layout`).

    Word-wrapped labels report their height only for a given width, which a dialog does not
    use when it is already shown; without this a long message is clipped or squeezes the fields.
    """
    layout = window.layout()
    if layout is None:
        return
    for area in window.findChildren(_BodyArea):
        inner = area.widget().layout() if area.widget() is not None else None
        if inner is not None:  # recompute what the contents need now (a table just filled, a message)
            inner.invalidate()
            inner.activate()
        area.updateGeometry()  # and ask the window again
    layout.invalidate()
    layout.activate()
    limit = largest_size(window)
    # wide enough for what can't wrap (a table filled since it opened), so it doesn't scroll sideways
    width = max(window.width(), min(layout.minimumSize().width(), limit.width()))
    need = layout.heightForWidth(width) if layout.hasHeightForWidth() else layout.sizeHint().height()
    need = max(min(need, limit.height()), window.height())
    if (width, need) != (window.width(), window.height()):
        window.resize(width, need)
    keep_on_screen(window)


class _BodyArea(QScrollArea):
    """The part of a dialog that scrolls: as big as its contents ask for (a plain scroll area
    asks for a fixed 36 by 24 lines), as small as a few lines when the screen is small."""

    def _scrollbar(self) -> int:
        from PySide6.QtWidgets import QStyle  # not at the top: its Python type costs the sign-in window

        return self.style().pixelMetric(QStyle.PixelMetric.PM_ScrollBarExtent)

    def sizeHint(self) -> QSize:  # noqa: N802
        body = self.widget()
        if body is None:
            return super().sizeHint()
        hint = body.sizeHint()
        layout = body.layout()
        width = max(hint.width(), self.viewport().width() if self.isVisible() else 0)
        if layout is not None and layout.hasHeightForWidth():
            # a scroll area lays out such contents at their height for the width, never less
            hint.setHeight(max(hint.height(), layout.totalHeightForWidth(width)))
        frame = 2 * self.frameWidth()
        return QSize(hint.width() + frame + self._scrollbar(), hint.height() + frame)

    def minimumSizeHint(self) -> QSize:  # noqa: N802
        body = self.widget()
        frame = 2 * self.frameWidth()
        width = (body.minimumSizeHint().width() if body is not None else 0) + frame + self._scrollbar()
        # Never wider than the screen leaves (a dialog scrolls sideways rather than lose its buttons).
        limit = largest_size(self.window()).width() - 2 * 12
        return QSize(min(width, max(limit, 1)), 6 * self.fontMetrics().height() + frame)


def keep_default_button(dialog: QWidget) -> None:
    """Make the dialog's default button its own for good, so that Enter presses it whatever had
    the focus before.

    A button made default before its button box was put in the dialog is not known to the dialog
    as its default; the first time such a button gets the focus and loses it again (clicked, then
    the focus goes back to a field with a problem), Qt takes "default" away from it, and Enter no
    longer submits. Setting it again once it is in the dialog makes the dialog remember it."""
    for button in dialog.findChildren(QPushButton):
        if button.isDefault() and button.window() is dialog:
            button.setDefault(False)
            button.setDefault(True)


class _FitOnShow(QObject):
    """Sizes its dialog for its contents and its screen each time the dialog is shown."""

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802
        if event.type() == QEvent.Type.Show and isinstance(watched, QWidget) and watched.isWindow():
            fit_to_screen(watched, watched.size().expandedTo(watched.sizeHint()))
            keep_default_button(watched)
        return False


def fit_on_show(window: QWidget) -> None:
    """Each time ``window`` is shown: the size it has or asks for, within its screen, on it."""
    window.installEventFilter(_FitOnShow(window))


def scrolling_layout(dialog: QWidget, footer: QWidget | QLayout | None = None) -> QVBoxLayout:
    """The layout a dialog's contents go in, inside a scroll area, with ``footer`` (its buttons)
    under it and always in view.

    The area only scrolls when the screen is too small for everything (a 1024x600 PC, a long
    error message): the dialog opens at the size its contents ask for, never bigger than its
    screen, and keeps its buttons on the screen when a message makes it grow (:func:`grow_to_fit`).
    """
    outer = QVBoxLayout(dialog)
    area = _BodyArea()
    area.setObjectName("dialogBody")
    area.setWidgetResizable(True)
    area.setFrameShape(QFrame.Shape.NoFrame)
    area.setFocusPolicy(QtCore.Qt.FocusPolicy.NoFocus)
    body = QWidget()
    body.setObjectName("dialogBodyContents")
    area.setWidget(body)
    inner = QVBoxLayout(body)
    inner.setContentsMargins(0, 0, 0, 0)
    outer.addWidget(area, 1)
    if isinstance(footer, QWidget):
        outer.addWidget(footer)
    elif footer is not None:
        outer.addLayout(footer)
    fit_on_show(dialog)
    keep_default_button(dialog)
    return inner


def _reveal(widget: QWidget) -> None:
    """Scroll the dialog body holding ``widget`` (if any) so that it is in view."""
    parent = widget.parentWidget()
    while parent is not None and not isinstance(parent, QScrollArea):
        parent = parent.parentWidget()
    if parent is not None and widget.isVisible():
        parent.ensureWidgetVisible(widget, 0, 8)


def _edited_signal(field: QWidget) -> Any:
    """The signal a field sends when the person changes it (None for fields without one)."""
    if isinstance(field, QComboBox):
        return field.currentIndexChanged
    if isinstance(field, QDateTimeEdit):
        return field.dateTimeChanged
    if isinstance(field, QAbstractSpinBox) and hasattr(field, "valueChanged"):
        return field.valueChanged
    if isinstance(field, QLineEdit):
        return field.textEdited
    if isinstance(field, QPlainTextEdit):
        return field.textChanged
    if isinstance(field, QAbstractButton):
        return field.toggled
    return getattr(field, "changed", None)  # a compound field (a person picker) says so itself


def fit_placeholder(*edits: QLineEdit) -> None:
    """Line edits at least as wide as their placeholder: a hint is read in full, never "libera…"."""
    for edit in edits:
        edit.setMinimumWidth(edit.fontMetrics().horizontalAdvance(edit.placeholderText()) + 24)


def _error_colour(widget: QWidget) -> str:
    dark = widget.palette().color(QPalette.ColorRole.Window).lightness() < 128
    return "#ff8a80" if dark else "#a4000f"  # both readable (WCAG AA) on their backgrounds


def _plain_text(label: QLabel) -> None:
    """``label`` shows its text as it is, never as HTML. Set through the property's name: the
    first use of the Qt namespace (``Qt.TextFormat`` …) makes Python enums for all of it, ~20 ms,
    and the sign-in window's message lines are made before its first paint, which need not wait."""
    label.setProperty("textFormat", "PlainText")


class FieldError(QLabel):
    """A message under a field: hidden while empty, read out with the field it belongs to, and
    gone as soon as the person changes that field (they are fixing it)."""

    def __init__(self, field: QWidget | None = None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.field = field
        signal = _edited_signal(field) if field is not None else None
        if signal is not None:
            signal.connect(self._field_edited)
        self.setWordWrap(True)
        _plain_text(self)  # selectable once it has something to say
        self.setStyleSheet(f"color: {_error_colour(self)};")
        self.setAccessibleName("Error")
        self.hide()

    def show_error(self, message: str) -> None:
        if message and not self.textInteractionFlags() & QtCore.Qt.TextInteractionFlag.TextSelectableByMouse:
            # Not made selectable before: that needs a text control behind every error line of
            # every form, shown or not (and it held the sign-in window back).
            self.setTextInteractionFlags(QtCore.Qt.TextInteractionFlag.TextSelectableByMouse)
        self.setText(message)
        self.setAccessibleDescription(message)
        if self.field is not None:
            self.field.setAccessibleDescription(message)
        self.setVisible(bool(message))
        if message and self.window().isVisible():
            grow_to_fit(self.window())
            QTimer.singleShot(0, self, lambda: _reveal(self))

    def clear_error(self) -> None:
        self.show_error("")

    def _field_edited(self, *_: Any) -> None:
        if self.text():
            self.clear_error()

    @property
    def message(self) -> str:
        return self.text()


class StatusNote(QLabel):
    """A quiet line saying what is happening ("Opening the data…"), hidden when empty."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWordWrap(True)
        _plain_text(self)
        self.setForegroundRole(QPalette.ColorRole.PlaceholderText)
        self.hide()

    def say(self, message: str) -> None:
        self.setText(message)
        self.setAccessibleName(message)
        self.setVisible(bool(message))
        if message and self.window().isVisible():
            grow_to_fit(self.window())  # a wrapped line takes room; never drawn over what is below


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
    box.setAttribute(QtCore.Qt.WidgetAttribute.WA_DeleteOnClose)
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


def filter_combo(label: str, name: str, accessible: str, items: Iterable[tuple[str, Any]] = (), *,
                 everything: str | None = None) -> tuple[QComboBox, QLabel]:
    """A list's filter: the combo (object name, accessible name, "All …" first if ``everything``
    is given, then ``items`` as (text, value)) and its label with the mnemonic, as its buddy."""
    combo = QComboBox()
    combo.setObjectName(name)
    combo.setAccessibleName(accessible)
    if everything is not None:
        combo.addItem(everything, None)
    for text, value in items:
        combo.addItem(text, value)
    caption = QLabel(label)
    caption.setBuddy(combo)
    return combo, caption


def open_one(holder: Any, dialog: Any, *, on_saved: Callable[[Any], None] | None = None,
             say: Callable[[str], None] | None = None) -> Any:
    """Open ``dialog`` as ``holder``'s one dialog (``holder.dialog``, where tests reach it too),
    closing the one opened before: what pages and tabs that open their dialogs one at a time
    share. ``on_saved`` hears what it saved; ``say`` its saved message (``savedMessage``)."""
    previous = getattr(holder, "dialog", None)
    if previous is not None:
        try:
            previous.close()
        except RuntimeError:  # already deleted
            pass
    holder.dialog = dialog
    if say is not None:
        dialog.savedMessage.connect(say)
    if on_saved is not None:
        dialog.saved.connect(on_saved)
    dialog.open()
    return dialog


def hidden_unless(widget: QWidget, shown: bool) -> QWidget:
    """Hide ``widget`` unless ``shown``, for a widget not yet in its window. It is never shown
    here: ``setVisible(True)`` on a widget without a parent yet opens it as a window of its own for
    a moment (a flicker on the screen, and it takes the focus from the window in use)."""
    if not shown:
        widget.hide()
    return widget


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


def show_problems(problems: list[ValidationError], general: FieldError,
                  fields: dict[str, FieldError]) -> bool:
    """Every problem found at once, each under the field it names (else in ``general``); the
    first one's field gets the focus. False if there were none."""
    shown: dict[FieldError, list[str]] = {}
    for problem in problems:
        shown.setdefault(fields.get(problem.field or "", general), []).append(str(problem))
    for target, messages in shown.items():
        target.show_error(" ".join(messages))
    first = fields.get(problems[0].field or "") if problems else None
    if first is not None and first.field is not None:
        first.field.setFocus()
    return bool(problems)


def choose_folder(parent: QWidget, title: str, start: str, accept: str, name: str,
                  on_chosen: Callable[[Path], Any]) -> QFileDialog:
    """Ask for a folder (or USB drive) without blocking; ``on_chosen(folder)`` if one is chosen."""
    dialog = QFileDialog(parent, title, start)
    dialog.setObjectName(name)
    dialog.setFileMode(QFileDialog.FileMode.Directory)
    dialog.setOption(QFileDialog.Option.ShowDirsOnly, True)
    dialog.setAcceptMode(QFileDialog.AcceptMode.AcceptOpen)
    dialog.setLabelText(QFileDialog.DialogLabel.Accept, accept)
    dialog.setAttribute(QtCore.Qt.WidgetAttribute.WA_DeleteOnClose)
    dialog.fileSelected.connect(lambda chosen: on_chosen(Path(chosen)))
    dialog.open()
    return dialog


def choose_save_file(parent: QWidget, title: str, start: str, filters: str, suffix: str, name: str,
                     on_chosen: Callable[[Path], Any]) -> QFileDialog:
    """Ask where to save a file without blocking; ``on_chosen(path)`` once chosen (``suffix``
    added when the name has none)."""
    dialog = QFileDialog(parent, title, start, filters)
    dialog.setObjectName(name)
    dialog.setFileMode(QFileDialog.FileMode.AnyFile)
    dialog.setAcceptMode(QFileDialog.AcceptMode.AcceptSave)
    dialog.setDefaultSuffix(suffix)
    dialog.setAttribute(QtCore.Qt.WidgetAttribute.WA_DeleteOnClose)
    dialog.fileSelected.connect(lambda chosen: on_chosen(Path(chosen)))
    dialog.open()
    return dialog
