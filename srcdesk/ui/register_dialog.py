"""The register of a session: the screen that matters most, so it is built for the keyboard.

Taking a register of 25 people must be quicker than a paper sheet:

- type a few letters of a name or reference in *Find*, Enter adds the highlighted match and
  leaves the field ready for the next name (Up/Down choose among the matches);
- Enter in an empty *Find* field goes to the roster; there P, L, E, X, A (the statuses' own
  keys, from the reference data) set the status and move down a line, R or Space cycles the
  role, Delete takes someone off, Enter saves;
- Ctrl+N records a new person without leaving the register, "Add everyone from the last
  session" copies the previous register of the series;
- the counts update as keys are pressed, Save is one ``save_register`` call, and closing with
  unsaved changes asks first (:func:`ask_unsaved`).

Everything that touches the database runs in the background (:func:`srcdesk.ui.tasks.run_task`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QEvent, QItemSelectionModel, QObject, QSize, Qt, Signal
from PySide6.QtGui import QKeyEvent, QKeySequence, QPalette, QShortcut
from PySide6.QtWidgets import (
    QAbstractItemView,
    QApplication,
    QComboBox,
    QDialog,
    QFrame,
    QGridLayout,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QMessageBox,
    QPushButton,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from ..errors import SrcdeskError, ValidationError
from ..models import PERSON_KINDS
from ..services.attendance import (
    PreviousRegister,
    RegisterSheet,
    SaveResult,
    SessionSummary,
    load_register,
    previous_register,
    save_register,
)
from ..services.people import PersonRow, create_person, search_people
from .errors import report_unexpected
from .export import ExportButton
from .register_model import COL_NAME, COL_NOTE, COL_REF, COL_ROLE, COL_STATUS, ChoiceDelegate, RegisterModel
from .table_model import Column, PagedTableModel
from .tasks import Task, run_task
from .widgets import FieldError, StatusNote, fit_on_show, fit_to_screen, heading

MATCHES_PAGE = 20
ENTER_KEYS = (Qt.Key.Key_Return, Qt.Key.Key_Enter)

# Someone found by name and added is marked present: the recorder adds people as they see
# them in the room, so "present" is what is true at that moment (L/E/X/A change it in one key).
ADDED_STATUS = "present"
# People copied from the previous register are *not* marked: they are who is expected, not
# who came. Each needs a key press (P, A…) before Save, as a roll call would.
COPIED_STATUS = None


def ask_unsaved(parent: QWidget, answer: Callable[[str], Any]) -> None:
    """Ask whether to save the changes before closing; ``answer`` receives "save", "discard" or
    "cancel". Non-blocking (the box is opened, not exec'd); tests replace this function."""
    box = QMessageBox(QMessageBox.Icon.Question, "Unsaved register",
                      "The register has changes that are not saved yet.", parent=parent)
    box.setObjectName("unsavedBox")
    box.setInformativeText("Save them before closing?")
    box.setStandardButtons(QMessageBox.StandardButton.Save | QMessageBox.StandardButton.Discard
                           | QMessageBox.StandardButton.Cancel)
    box.setDefaultButton(QMessageBox.StandardButton.Save)
    box.setEscapeButton(QMessageBox.StandardButton.Cancel)
    box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
    outcomes = {QMessageBox.StandardButton.Save: "save", QMessageBox.StandardButton.Discard: "discard"}
    box.finished.connect(lambda _=0: answer(outcomes.get(box.standardButton(box.clickedButton()), "cancel")))
    box.open()


def describe_session(summary: SessionSummary) -> tuple[str, str]:
    """("Recovery café", "Tue 20 Oct 2026, 10:00–11:30 · Dining hall · HMP Perth (PER)")."""
    day = summary.date
    when = f"{day:%a} {day.day} {day:%b %Y}, {summary.start_time}–{summary.end_time}"
    parts = [when]
    if summary.location:
        parts.append(summary.location)
    parts.append(f"{summary.establishment_name} ({summary.establishment_code})")
    what = summary.what if not summary.programme else f"{summary.what} — {summary.programme}"
    return what, " · ".join(parts)


MATCH_COLUMNS = [
    Column("Name", lambda p: p.display_name),
    Column("Reference", lambda p: p.external_ref),
    Column("Kind", lambda p: PERSON_KINDS.get(p.kind, p.kind)),
    Column("Establishment", lambda p: p.establishment_code),
]


class RegisterDialog(QDialog):
    """The register of one session, non-modal: open it with ``show()``.

    Emits :attr:`saved` with the service's ``SaveResult`` after each successful save, and
    :attr:`loaded` once the session and its register have arrived.
    """

    saved = Signal(object)  # SaveResult
    loaded = Signal()

    def __init__(self, ctx: Any, session_id: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self.session_id = session_id
        self.sheet: RegisterSheet | None = None
        self.summary: SessionSummary | None = None
        self._saving = False
        self._close_after_save = False
        self._closing = False
        self._pending_enter = False
        self._creating = False
        self._focus_before_save: QWidget | None = None
        self._after_save: list[Callable[[], Any]] = []  # results that arrived while saving
        # The register is fetched first, so the query runs while the widgets are being built
        # (its outcome is delivered through the event loop, after this constructor).
        self._load_task: Task | None = run_task(load_register, ctx, session_id, owner=self, name="open a register",
                                                on_result=self._loaded, on_error=self._load_failed)
        self.setObjectName("registerDialog")
        self.setWindowTitle("Register — srcdesk")
        self.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        self.setSizeGripEnabled(True)
        metrics = self.fontMetrics()

        # -- header ------------------------------------------------------------------------
        self.title = heading("Register")
        self.title.setObjectName("registerTitle")
        self.what = QLabel("Opening the register…")
        self.what.setObjectName("sessionDetails")
        self.what.setWordWrap(True)
        self.what.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.cancelled_note = FieldError()
        self.cancelled_note.setObjectName("cancelledNote")
        self.cancelled_note.setAccessibleName("Cancelled session")

        # -- find and add ------------------------------------------------------------------
        self.find = QLineEdit()
        self.find.setObjectName("findPerson")
        self.find.setAccessibleName("Find a person to add")
        self.find.setPlaceholderText("Type a name or reference, Enter to add")
        self.find.setClearButtonEnabled(True)
        find_label = QLabel("&Find:")
        find_label.setBuddy(self.find)
        self.new_person_button = QPushButton("&New person…")
        self.new_person_button.setObjectName("newPersonButton")
        self.new_person_button.setAccessibleName("New person")
        self.new_person_button.setToolTip("Record someone not yet in srcdesk (Ctrl+N)")
        self.last_session_button = QPushButton("Add everyone from the &last session")
        self.last_session_button.setObjectName("lastSessionButton")
        self.last_session_button.setAccessibleName("Add everyone from the last session")
        find_row = QHBoxLayout()
        find_row.addWidget(find_label)
        find_row.addWidget(self.find, 1)
        find_row.addWidget(self.new_person_button)
        find_row.addWidget(self.last_session_button)

        self.matches_model = PagedTableModel(MATCH_COLUMNS, parent=self)
        self.matches_model.loaded.connect(self._matches_arrived)
        self.matches_model.failed.connect(self._matches_failed)
        self.matches = QTableView()
        self.matches.setObjectName("matches")
        self.matches.setAccessibleName("People matching what you typed")
        self.matches.setModel(self.matches_model)
        self.matches.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.matches.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.matches.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.matches.setFocusPolicy(Qt.FocusPolicy.NoFocus)  # keys stay in the Find field
        self.matches.verticalHeader().hide()
        self.matches.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        self.matches.horizontalHeader().setStretchLastSection(True)
        self.matches.doubleClicked.connect(lambda index: self._add_match(index.row()))
        self.matches.hide()
        self.find_note = StatusNote()
        self.find_note.setObjectName("findNote")

        # -- new person, inline --------------------------------------------------------------
        self.new_form = QFrame()
        self.new_form.setObjectName("newPersonForm")
        self.new_form.setFrameShape(QFrame.Shape.StyledPanel)
        self.new_form.setAccessibleName("New person")
        self.given = QLineEdit()
        self.given.setObjectName("newGivenName")
        self.given.setAccessibleName("Given name")
        self.family = QLineEdit()
        self.family.setObjectName("newFamilyName")
        self.family.setAccessibleName("Family name")
        self.reference = QLineEdit()
        self.reference.setObjectName("newReference")
        self.reference.setAccessibleName("Reference")
        self.reference.setPlaceholderText("e.g. prison number (optional, never printed)")
        self.kind = QComboBox()
        self.kind.setObjectName("newKind")
        self.kind.setAccessibleName("Kind of person")
        for code, name in PERSON_KINDS.items():
            self.kind.addItem(name, code)
        self.field_errors: dict[str, FieldError] = {}
        form = QGridLayout()  # compact: two fields a line
        form.setColumnStretch(1, 1)
        form.setColumnStretch(3, 1)
        for at, (text, field, key) in enumerate((("&Given name:", self.given, "given_name"),
                                                 ("Famil&y name:", self.family, "family_name"),
                                                 ("&Reference:", self.reference, "external_ref"),
                                                 ("&Kind:", self.kind, "kind"))):
            label = QLabel(text)
            label.setBuddy(field)
            error = FieldError(field)
            error.setObjectName(f"{key}Error")
            self.field_errors[key] = error
            line, column = divmod(at, 2)
            form.addWidget(label, 2 * line, 2 * column)
            form.addWidget(field, 2 * line, 2 * column + 1)
            form.addWidget(error, 2 * line + 1, 2 * column + 1)
        self.new_error = FieldError()
        self.new_error.setObjectName("newPersonError")
        self.create_button = QPushButton("&Add to the register")
        self.create_button.setObjectName("createPersonButton")
        self.create_button.setAccessibleName("Record the new person and add them to the register")
        self.cancel_new_button = QPushButton("Cancel")
        self.cancel_new_button.setObjectName("cancelNewPersonButton")
        self.cancel_new_button.setAccessibleName("Cancel the new person")
        new_buttons = QHBoxLayout()
        new_buttons.addStretch(1)
        new_buttons.addWidget(self.create_button)
        new_buttons.addWidget(self.cancel_new_button)
        new_layout = QVBoxLayout(self.new_form)
        new_title = QLabel("<b>New person</b> — recorded in srcdesk and added to this register")
        new_layout.addWidget(new_title)
        new_layout.addLayout(form)
        new_layout.addWidget(self.new_error)
        new_layout.addLayout(new_buttons)
        self.new_form.hide()

        # -- the roster ----------------------------------------------------------------------
        self.model = RegisterModel(self)
        self.model.changed.connect(self._roster_changed)
        self.table = QTableView()
        self.table.setObjectName("roster")
        self.table.setAccessibleName("Register")
        self.table.setModel(self.model)
        self.table.setItemDelegate(ChoiceDelegate(self.model, self.table))
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.DoubleClicked
                                   | QAbstractItemView.EditTrigger.EditKeyPressed)
        self.table.setTabKeyNavigation(False)
        self.table.setAlternatingRowColors(True)
        self.table.setWordWrap(False)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        header.setStretchLastSection(True)  # the note takes what is left
        self.model.changed.connect(self._fit_columns)
        self.table.installEventFilter(self)
        self.table.setMinimumHeight(8 * metrics.height())  # a few lines stay visible under the matches
        self.keys_help = QLabel()
        self.keys_help.setObjectName("keysHelp")
        self.keys_help.setWordWrap(True)
        self.keys_help.setAccessibleName("Keys in the register")
        self.keys_help.setForegroundRole(QPalette.ColorRole.PlaceholderText)

        # -- foot ----------------------------------------------------------------------------
        self.counts = QLabel()
        self.counts.setObjectName("counts")
        self.counts.setToolTip("Present counts everyone whose status counts as attended (present, late, left early).")
        font = self.counts.font()
        font.setBold(True)
        self.counts.setFont(font)
        self.status = StatusNote()
        self.status.setObjectName("status")
        self.error = FieldError()
        self.error.setObjectName("registerError")
        self.save_button = QPushButton("&Save")
        self.save_button.setObjectName("saveButton")
        self.save_button.setAccessibleName("Save the register")
        self.save_button.setToolTip("Save the register (Enter in the register, or Ctrl+S)")
        self.close_button = QPushButton("&Close")
        self.close_button.setObjectName("closeButton")
        self.close_button.setAccessibleName("Close the register")
        for button in (self.new_person_button, self.last_session_button, self.create_button,
                       self.cancel_new_button, self.save_button, self.close_button):
            button.setAutoDefault(False)  # Enter belongs to the field or the roster, never a stray button
        # The register as saved (what the export reads), for a coordinator's records.
        self.export_button = ExportButton(ctx, "register", lambda: {"session_id": self.session_id},
                                          say=self.status.say, parent=self)
        foot = QHBoxLayout()
        foot.addWidget(self.counts, 1)
        foot.addWidget(self.export_button)
        foot.addWidget(self.save_button)
        foot.addWidget(self.close_button)

        layout = QVBoxLayout(self)
        layout.addWidget(self.title)
        layout.addWidget(self.what)
        layout.addWidget(self.cancelled_note)
        layout.addLayout(find_row)
        layout.addWidget(self.matches)
        layout.addWidget(self.find_note)
        layout.addWidget(self.new_form)
        layout.addWidget(self.table, 1)
        layout.addWidget(self.keys_help)
        layout.addWidget(self.status)
        layout.addWidget(self.error)
        layout.addLayout(foot)

        for a, b in ((self.find, self.new_person_button), (self.new_person_button, self.last_session_button),
                     (self.last_session_button, self.given), (self.given, self.family),
                     (self.family, self.reference), (self.reference, self.kind), (self.kind, self.create_button),
                     (self.create_button, self.cancel_new_button), (self.cancel_new_button, self.table),
                     (self.table, self.export_button), (self.export_button, self.save_button),
                     (self.save_button, self.close_button)):
            QWidget.setTabOrder(a, b)

        # -- wiring --------------------------------------------------------------------------
        self.find.textChanged.connect(self._find_changed)
        self.find.installEventFilter(self)
        for field in (self.given, self.family, self.reference, self.kind):
            field.installEventFilter(self)
        self.new_person_button.clicked.connect(self.show_new_person)
        self.last_session_button.clicked.connect(self.add_from_last_session)
        self.create_button.clicked.connect(self.create_new_person)
        self.cancel_new_button.clicked.connect(self.hide_new_person)
        self.save_button.clicked.connect(self.save)
        self.close_button.clicked.connect(self.reject)
        for keys, slot in ((QKeySequence.StandardKey.Save, self.save), ("Ctrl+F", self.focus_find),
                           ("Ctrl+N", self.show_new_person)):
            shortcut = QShortcut(QKeySequence(keys), self)
            shortcut.activated.connect(slot)

        self._set_editable(False)
        self._roster_changed()
        # Room for a 25-person register at any scaling, within the screen.
        hint = self.sizeHint()
        fit_to_screen(self, QSize(max(110 * metrics.averageCharWidth(), hint.width()),
                                  max(42 * metrics.height(), hint.height())))
        fit_on_show(self)  # and on the screen, with Save and Close, whenever it is shown

    # -- loading ------------------------------------------------------------------------------

    @property
    def ready(self) -> bool:
        """The register has arrived and nothing is being saved."""
        return self.sheet is not None and not self._saving

    @property
    def read_only(self) -> bool:
        return self.model.read_only

    def _loaded(self, sheet: RegisterSheet) -> None:
        self._load_task = None
        self.sheet, self.summary = sheet, sheet.session
        what, details = describe_session(sheet.session)
        if sheet.session.facilitators:
            details += "\nFacilitated by " + ", ".join(sheet.session.facilitators)
        self.title.setText(f"Register — {what}")
        self.title.setAccessibleName(f"Register — {what}")
        self.what.setText(details)
        self.what.setAccessibleName(details)
        day = sheet.session.date
        self.setWindowTitle(f"Register — {sheet.session.what}, {day.day} {day:%b %Y} — srcdesk")
        self.model.set_choices(sheet.statuses, sheet.roles)
        self.model.load(sheet.lines)
        keys = [f"{s.key} {s.name.lower()}" for s in sheet.statuses if s.key and not s.retired]
        self.keys_help.setText("In the register: " + " · ".join(keys)
                               + " · R or Space: next role · N: note · Delete: take off · "
                               "Enter: save · Ctrl+F or /: find")
        if sheet.session.cancelled:
            reason = f" ({sheet.session.cancelled_reason})" if sheet.session.cancelled_reason else ""
            self.cancelled_note.show_error(
                f"This session was cancelled{reason}. Its register can't be taken; it is shown read-only.")
            self.model.read_only = True
            self._set_editable(False)
            self.table.setFocus()
        else:
            self._set_editable(True)
            if self.model.rowCount():
                self._go_to(0)
                self.table.setFocus()
            else:
                self.find.setFocus()
        self._roster_changed()
        self.loaded.emit()

    def _load_failed(self, error: BaseException) -> None:
        self._load_task = None
        if isinstance(error, SrcdeskError):
            self.what.setText("")
            self.error.show_error(str(error))
        else:
            self.error.show_error("The register could not be opened.")
            report_unexpected(error)

    def _set_editable(self, editable: bool, *, hide: bool = True) -> None:
        for widget in (self.find, self.new_person_button, self.last_session_button, self.save_button,
                       self.create_button):
            widget.setEnabled(editable)
        if not editable and hide:
            self.new_form.hide()
            self.matches.hide()

    # -- the roster and its keys ----------------------------------------------------------

    def _current_row(self) -> int:
        index = self.table.currentIndex()
        return index.row() if index.isValid() else -1

    def _go_to(self, row: int, column: int | None = None) -> None:
        if not 0 <= row < self.model.rowCount():
            return
        if column is None:
            current = self.table.currentIndex()
            column = current.column() if current.isValid() else COL_STATUS
        index = self.model.index(row, column)
        self.table.selectionModel().setCurrentIndex(
            index, QItemSelectionModel.SelectionFlag.ClearAndSelect | QItemSelectionModel.SelectionFlag.Rows)
        self.table.scrollTo(index)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802
        if event.type() == QEvent.Type.KeyPress:
            if watched is self.table:
                return self._roster_key(event)
            if watched is self.find:
                return self._find_key(event)
            if watched in (self.given, self.family, self.reference, self.kind):
                return self._new_person_key(event)
        return super().eventFilter(watched, event)

    def _roster_key(self, event: QKeyEvent) -> bool:
        key, mods = event.key(), event.modifiers()
        if self.table.state() == QAbstractItemView.State.EditingState:
            return False  # a key the note or combo editor left to its parent: Enter ends the edit only
        if mods & (Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.AltModifier
                   | Qt.KeyboardModifier.MetaModifier):
            return False
        if key in ENTER_KEYS:
            self.save()
            return True
        if event.text() == "/":
            self.focus_find()
            return True
        row = self._current_row()
        letter = event.text().upper()
        code = self.model.status_keys().get(letter) if letter else None
        is_role_key = key == Qt.Key.Key_Space or (letter == "R" and code is None)
        is_delete = key in (Qt.Key.Key_Delete, Qt.Key.Key_Backspace)
        is_note_key = letter == "N" and code is None
        if not (code or is_role_key or is_delete or is_note_key):
            return False  # arrows, Home/End, F2, Tab… as usual
        if self.read_only or self._saving:
            self.status.say("The register is read-only." if self.read_only else "Saving…")
            return True
        if row < 0:
            if self.model.rowCount():
                self._go_to(0)
            return True
        self.status.say("")  # the last message ("Added …") is about something else by now
        if code:
            self.model.set_status(row, code)
            self.error.clear_error()
            if row + 1 < self.model.rowCount():
                self._go_to(row + 1)
            else:
                self.status.say("That was the last line. Enter saves.")
        elif is_role_key:
            self.model.cycle_role(row)
        elif is_note_key:
            self._go_to(row, COL_NOTE)
            self.table.edit(self.model.index(row, COL_NOTE))
        else:
            name = self.model.row(row).name
            done = self.model.remove(row)
            self.status.say({"removed": f"{name} taken off the register.",
                             "marked": f"{name} will be taken off the register when you save.",
                             "kept": f"{name} stays on the register."}.get(done, ""))
            if self.model.rowCount():
                self._go_to(min(row, self.model.rowCount() - 1))
        return True

    def _fit_columns(self) -> None:
        # Widths from the contents (names, codes in the reader's font, at any scaling); done
        # on each change because a header in ResizeToContents mode does not follow new rows.
        padding = 2 * self.table.fontMetrics().averageCharWidth()
        for column in (COL_NAME, COL_REF, COL_STATUS, COL_ROLE):
            self.table.resizeColumnToContents(column)
            self.table.setColumnWidth(column, self.table.columnWidth(column) + padding)

    def _roster_changed(self) -> None:
        if self.sheet is None:
            self.counts.setText("")
            return
        attended, on_register, unmarked, removing = self.model.counts()
        text = f"{attended} present of {on_register} on the register"
        extra = []
        if unmarked:
            extra.append(f"{unmarked} not marked")
        if removing:
            extra.append(f"{removing} to be taken off")
        if extra:
            text += " (" + ", ".join(extra) + ")"
        if self.model.dirty:
            text += " — not saved"
        self.counts.setText(text)
        self.counts.setAccessibleName(text)

    def focus_find(self) -> None:
        if self.find.isEnabled():
            self.find.setFocus()
            self.find.selectAll()

    # -- find and add -----------------------------------------------------------------------

    def _find_changed(self, text: str) -> None:
        query = text.strip()
        self.find_note.say("")
        if not query:
            self._pending_enter = False
            self.matches.hide()
            self.matches_model.set_fetch(lambda after: [])  # and any search still running is dropped
            return
        ctx = self.ctx
        self.matches_model.set_fetch(lambda after, q=query: search_people(ctx, q, limit=MATCHES_PAGE, after=after))

    def _matches_arrived(self) -> None:
        count = self.matches_model.rowCount()
        if not self.find.text().strip():
            return
        if count:
            self.matches.show()
            if not self.matches.currentIndex().isValid():
                self.matches.selectRow(0)
            self._fit_matches()
        else:
            self.matches.hide()
            self.find_note.say(f"No one matches “{self.find.text().strip()}”. "
                               "Ctrl+N records them as a new person.")
        if self._pending_enter:
            self._pending_enter = False
            self._add_current_match()

    def _fit_matches(self) -> None:
        rows = min(self.matches_model.rowCount(), 6)
        height = self.matches.rowHeight(0) if self.matches_model.rowCount() else 0
        frame = 2 * self.matches.frameWidth()
        self.matches.setFixedHeight(frame + self.matches.horizontalHeader().height() + rows * height
                                    + (height // 2 if self.matches_model.rowCount() > rows else 0))

    def _matches_failed(self, error: BaseException) -> None:
        self._pending_enter = False
        if isinstance(error, SrcdeskError):
            self.find_note.say(str(error))
        else:
            report_unexpected(error)

    def _find_key(self, event: QKeyEvent) -> bool:
        key = event.key()
        if key in ENTER_KEYS:
            if not self.find.text().strip():
                self._to_roster()
            elif self.matches_model.loading or not self.matches_model.loaded_once:
                self._pending_enter = True  # typed faster than the search: add when it arrives
            else:
                self._add_current_match()
            return True
        if key in (Qt.Key.Key_Up, Qt.Key.Key_Down) and self.matches.isVisible():
            row = self.matches.currentIndex().row()
            row = row + (1 if key == Qt.Key.Key_Down else -1)
            if 0 <= row < self.matches_model.rowCount():
                self.matches.selectRow(row)
                self.matches.scrollTo(self.matches_model.index(row, 0))
            return True
        if key == Qt.Key.Key_Down and self.model.rowCount():
            self._to_roster()
            return True
        if key == Qt.Key.Key_Escape and self.find.text():
            self.find.clear()
            return True
        return False

    def _to_roster(self) -> None:
        self.table.setFocus()
        unmarked = self.model.unmarked()
        # The first line nobody has marked yet, else the top: a walk down the list.
        self._go_to(unmarked[0] if unmarked else 0, COL_STATUS)

    def _add_current_match(self) -> None:
        if not self.matches_model.rowCount():
            if self.find.text().strip():
                self.find_note.say(f"No one matches “{self.find.text().strip()}”. "
                                   "Ctrl+N records them as a new person.")
            return
        index = self.matches.currentIndex()
        self._add_match(index.row() if index.isValid() else 0)

    def _add_match(self, row: int) -> None:
        person = self.matches_model.row(row)
        if not isinstance(person, PersonRow) or self.read_only:
            return
        self._add_person(person.id, person.display_name, person.external_ref)
        self.find.clear()
        self.find.setFocus()

    def _add_person(self, person_id: str, name: str, reference: str | None) -> bool:
        at = self.model.find(person_id)
        before = self.model.row(at) if at >= 0 else None
        was_removing, was_unmarked = bool(before and before.removing), bool(before and before.status is None)
        row, added = self.model.add_person(person_id, name, reference, ADDED_STATUS)
        self._go_to(row, COL_STATUS)
        if not added and was_unmarked:  # expected from last time, and now found in the room
            self.model.set_status(row, ADDED_STATUS)
            self.status.say(f"{name} is already on the register: marked {self.model.status_name(ADDED_STATUS).lower()}.")
        elif not added:
            self.status.say(f"{name} is already on the register.")
        elif was_removing:
            self.status.say(f"{name} stays on the register.")
        else:
            self.status.say(f"Added {name}.")
        return added

    # -- a new person, inline --------------------------------------------------------------

    def show_new_person(self) -> None:
        if self.read_only or self.sheet is None:
            return
        words = self.find.text().split()
        if words and not self.new_form.isVisible():
            # What was typed in Find: a reference (has digits) or "given family".
            refs = [w for w in words if any(ch.isdigit() for ch in w)]
            names = [w.title() if w.islower() else w for w in words if w not in refs]
            self.reference.setText(" ".join(refs))
            self.given.setText(names[0] if names else "")
            self.family.setText(" ".join(names[1:]))
        if not self.new_form.isVisible():
            self.kind.setCurrentIndex(max(self.kind.findData("prisoner"), 0))
        self.new_form.show()
        self.matches.hide()
        (self.family if self.given.text() and not self.family.text() else self.given).setFocus()

    def hide_new_person(self) -> None:
        self.new_form.hide()
        for field in (self.given, self.family, self.reference):
            field.clear()
        for error in (*self.field_errors.values(), self.new_error):
            error.clear_error()
        self.focus_find()

    def _new_person_key(self, event: QKeyEvent) -> bool:
        if event.key() in ENTER_KEYS:
            self.create_new_person()
            return True
        if event.key() == Qt.Key.Key_Escape:
            self.hide_new_person()
            return True
        return False

    def create_new_person(self) -> None:
        if self._creating or self.summary is None:
            return
        for error in (*self.field_errors.values(), self.new_error):
            error.clear_error()
        self._creating = True
        self.create_button.setEnabled(False)
        self.status.say("Recording the new person…")
        run_task(create_person, self.ctx, given_name=self.given.text(), family_name=self.family.text(),
                 kind=self.kind.currentData(), external_ref=self.reference.text() or None,
                 establishment_id=self.summary.establishment_id,
                 owner=self, name="record a new person", on_done=self._person_created)

    def _person_created(self, person: Any, error: BaseException | None) -> None:
        if self._saving:  # the roster is being saved as it stands: add them once that is through
            self._after_save.append(lambda: self._person_created(person, error))
            return
        self._creating = False
        self.create_button.setEnabled(True)
        if error is not None:
            self.status.say("")
            if isinstance(error, ValidationError) and error.field in self.field_errors:
                self.field_errors[error.field].show_error(str(error))
                self.field_errors[error.field].field.setFocus()
            elif isinstance(error, SrcdeskError):
                self.new_error.show_error(str(error))
            else:
                report_unexpected(error)
            return
        name = f"{person.given_name} {person.family_name}"
        self.hide_new_person()
        self.find.clear()
        self._add_person(person.id, name, person.external_ref)
        self.status.say(f"{name} recorded in srcdesk and added to the register.")

    # -- everyone from the last session -------------------------------------------------------

    def add_from_last_session(self) -> None:
        if self.read_only or self.sheet is None:
            return
        self.last_session_button.setEnabled(False)
        self.status.say("Looking for the last session…")
        run_task(previous_register, self.ctx, self.session_id, owner=self, name="previous register",
                 on_done=self._previous_arrived)

    def _previous_arrived(self, previous: PreviousRegister | None, error: BaseException | None) -> None:
        if self._saving:
            self._after_save.append(lambda: self._previous_arrived(previous, error))
            return
        self.last_session_button.setEnabled(not self.read_only)
        if error is not None:
            self.status.say("")
            if isinstance(error, SrcdeskError):
                self.error.show_error(str(error))
            else:
                report_unexpected(error)
            return
        if previous.session is None:
            self.status.say("This is the first session of its series: there is no earlier register."
                            if previous.same_series else
                            "There is no earlier register of this module or activity here.")
            return
        added = already = 0
        first_added = -1
        for line in previous.lines:
            at = self.model.find(line.person_id)
            if at >= 0 and not self.model.row(at).removing:
                already += 1
                continue
            # Roles carry over (last week's helper usually helps again); statuses don't.
            row, _ = self.model.add_person(line.person_id, line.display_name, line.external_ref, COPIED_STATUS,
                                           line.role)
            added += 1
            first_added = row if first_added < 0 else first_added
        day = previous.session.date
        source = f"{day:%a} {day.day} {day:%b %Y}"
        message = f"Added {added} from the register of {source}"
        message += f" ({already} already on)." if already else "."
        if added:
            message += " Mark each one: P, L, E, X or A."
            self.table.setFocus()
            self._go_to(self.model.unmarked()[0] if self.model.unmarked() else first_added, COL_STATUS)
        self.status.say(message)

    # -- saving and closing ---------------------------------------------------------------------

    def save(self) -> None:
        if self.sheet is None or self.read_only or self._saving:
            return
        self.error.clear_error()
        unmarked = self.model.unmarked()
        if unmarked:
            self._close_after_save = False
            count = len(unmarked)
            self.error.show_error(f"{count} {'person has' if count == 1 else 'people have'} no status yet: "
                                  "mark each one (P present, A absent…) before saving.")
            self.table.setFocus()
            self._go_to(unmarked[0], COL_STATUS)
            return
        if not self.model.dirty:
            self.status.say("Nothing to save: the register is as it was saved.")
            if self._close_after_save:
                self._finish_closing()
            return
        self._saving = True
        self.model.read_only = True  # the roster being saved is the roster on screen: no edits meanwhile
        self._focus_before_save = QApplication.focusWidget()
        self._set_editable(False, hide=False)
        self.status.say("Saving…")
        run_task(save_register, self.ctx, self.session_id, self.model.entries(), owner=self,
                 name="save a register", on_done=self._saved)

    def _saved(self, result: SaveResult | None, error: BaseException | None) -> None:
        self._saving = False
        self.model.read_only = False
        self._set_editable(True)
        if self._focus_before_save is not None and self._focus_before_save.isVisible():
            self._focus_before_save.setFocus()
        self._focus_before_save = None
        if error is not None:
            self._close_after_save = False
            self.status.say("")
            if isinstance(error, SrcdeskError):
                self.error.show_error(str(error))
            else:
                self.error.show_error("The register was not saved.")
                report_unexpected(error)
        else:
            self.model.mark_saved()
            parts = [f"{n} {what}" for n, what in ((result.added, "added"), (result.changed, "changed"),
                                                   (result.removed, "taken off")) if n]
            self.status.say("Saved" + (": " + ", ".join(parts) + "." if parts else "."))
            self.saved.emit(result)
        waiting, self._after_save = self._after_save, []
        for deliver in waiting:  # people who arrived during the save go on the roster now (unsaved)
            deliver()
        if self._close_after_save:
            if self.model.dirty:  # someone was added meanwhile: don't lose them by closing
                self._close_after_save = False
                self.status.say("Saved; people added while saving are not saved yet.")
            else:
                self._finish_closing()

    def reject(self) -> None:
        """Esc, Close or the window's close button: ask first if there are unsaved changes."""
        if self._closing:
            return
        if self._saving:
            self._close_after_save = True  # close once the save is through
            return
        if self.sheet is not None and not self.read_only and self.model.dirty:
            ask_unsaved(self, self._unsaved_answer)
            return
        self._finish_closing()

    def _unsaved_answer(self, answer: str) -> None:
        if answer == "save":
            self._close_after_save = True
            self.save()
        elif answer == "discard":
            self._finish_closing()

    def _finish_closing(self) -> None:
        self._closing = True
        self._close_after_save = False
        super().reject()
