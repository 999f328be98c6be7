"""The register being taken: an editable, in-memory Qt model of a session's roster.

Nothing here touches the database. :class:`RegisterModel` holds the lines loaded by
``services.attendance.load_register``, takes the changes made by keys or by mouse, and hands
back the whole roster as ``RegisterEntry`` values for one ``save_register`` call.

A line is one of:

- *saved*: on the register as last saved; Delete marks it for removal (struck through; Delete
  again keeps it). ``save_register`` removes people left off the roster with a tombstone, so
  removal is recorded on Save, not before.
- *new*: added since the last save; Delete simply takes it off again.
- *not marked*: added from the previous session's register without a status yet (status
  ``None``). Save refuses until everyone has one: a roll call must not claim attendance for
  someone nobody ticked.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QObject, QPersistentModelIndex, Qt, Signal
from PySide6.QtGui import QFont, QPalette
from PySide6.QtWidgets import QApplication, QComboBox, QStyledItemDelegate, QStyleOptionViewItem, QWidget

from ..services.attendance import RegisterEntry, RegisterLine, RoleChoice, StatusChoice
from .table_model import ROW_ROLE

Index = QModelIndex | QPersistentModelIndex

COL_NAME, COL_REF, COL_STATUS, COL_ROLE, COL_NOTE = range(5)
HEADERS = ("Name", "Reference", "Status", "Role", "Note")
CODE_ROLE = Qt.ItemDataRole.UserRole + 2  # the status or role code of a cell (None: not marked)
NOT_MARKED = "— not marked"


@dataclass
class RosterRow:
    """One person on the register being taken (mutable: this is the sheet being filled in)."""

    person_id: str
    name: str
    reference: str | None
    status: str | None  # None: not marked yet
    role: str
    note: str | None = None
    saved: bool = False  # on the register as last saved
    removing: bool = False  # saved, but Delete was pressed: left off on Save


class RegisterModel(QAbstractTableModel):
    """The roster of one session, editable in memory. ``changed`` fires after every edit."""

    changed = Signal()

    # Once the garbage collector has cleared the instance (see RowsTableModel): empty, read-only.
    _rows: list[RosterRow] = []  # noqa: RUF012 - never mutated: every instance sets its own list
    read_only = True

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._rows: list[RosterRow] = []
        self._baseline: dict[str, tuple[str | None, str, str | None]] = {}
        self.statuses: list[StatusChoice] = []
        self.roles: list[RoleChoice] = []
        self._status_by_code: dict[str, StatusChoice] = {}
        self._role_by_code: dict[str, RoleChoice] = {}
        self.read_only = False

    # -- loading -----------------------------------------------------------------------------

    def set_choices(self, statuses: Sequence[StatusChoice], roles: Sequence[RoleChoice]) -> None:
        self.statuses, self.roles = list(statuses), list(roles)
        self._status_by_code = {s.code: s for s in self.statuses}
        self._role_by_code = {r.code: r for r in self.roles}
        if self._rows:
            self.dataChanged.emit(self.index(0, COL_STATUS), self.index(len(self._rows) - 1, COL_ROLE))

    def load(self, lines: Sequence[RegisterLine]) -> None:
        """Show a saved register (and forget any unsaved changes)."""
        self.beginResetModel()
        self._rows = [RosterRow(ln.person_id, ln.display_name, ln.external_ref, ln.status, ln.role, ln.note,
                                saved=True) for ln in lines]
        self._baseline = {r.person_id: (r.status, r.role, r.note) for r in self._rows}
        self.endResetModel()
        self.changed.emit()

    def mark_saved(self) -> None:
        """The roster as it stands was saved: removals are gone, every line is now saved."""
        gone = [i for i, r in enumerate(self._rows) if r.removing]
        for i in reversed(gone):
            self.beginRemoveRows(QModelIndex(), i, i)
            del self._rows[i]
            self.endRemoveRows()
        for r in self._rows:
            r.saved = True
        self._baseline = {r.person_id: (r.status, r.role, r.note) for r in self._rows}
        if self._rows:
            self.dataChanged.emit(self.index(0, 0), self.index(len(self._rows) - 1, len(HEADERS) - 1))
        self.changed.emit()

    # -- what the roster says ------------------------------------------------------------------

    @property
    def rows(self) -> list[RosterRow]:
        return list(self._rows)

    def row(self, number: int) -> RosterRow | None:
        return self._rows[number] if 0 <= number < len(self._rows) else None

    def find(self, person_id: str) -> int:
        return next((i for i, r in enumerate(self._rows) if r.person_id == person_id), -1)

    def entries(self) -> list[RegisterEntry]:
        """The register to save (people marked for removal left off). Unmarked lines: see
        :meth:`unmarked`; the caller must not save while there are any."""
        return [RegisterEntry(r.person_id, r.status or "", r.role, r.note) for r in self._rows if not r.removing]

    def unmarked(self) -> list[int]:
        return [i for i, r in enumerate(self._rows) if r.status is None and not r.removing]

    @property
    def dirty(self) -> bool:
        current = {r.person_id: (r.status, r.role, r.note) for r in self._rows if not r.removing}
        return current != self._baseline

    def counts(self) -> tuple[int, int, int, int]:
        """(attended, on the register, not marked, marked for removal)."""
        live = [r for r in self._rows if not r.removing]
        attended = sum(1 for r in live if r.status and self.counts_as_attended(r.status))
        unmarked = sum(1 for r in live if r.status is None)
        return attended, len(live), unmarked, len(self._rows) - len(live)

    def counts_as_attended(self, status: str) -> bool:
        choice = self._status_by_code.get(status)
        return bool(choice and choice.counts_as_attended)

    def status_name(self, code: str | None) -> str:
        if code is None:
            return NOT_MARKED
        choice = self._status_by_code.get(code)
        return choice.name if choice else code

    def role_name(self, code: str) -> str:
        choice = self._role_by_code.get(code)
        return choice.name if choice else code

    def status_keys(self) -> dict[str, str]:
        """One-letter key (upper case) → status code, for the statuses still in use."""
        return {s.key.upper(): s.code for s in self.statuses if s.key and not s.retired}

    def default_role(self) -> str:
        live = [r for r in self.roles if not r.retired]
        return live[0].code if live else "participant"

    # -- changes -------------------------------------------------------------------------------

    def add_person(self, person_id: str, name: str, reference: str | None, status: str | None,
                   role: str | None = None) -> tuple[int, bool]:
        """Put someone on the roster. Returns (their row, whether they were added): someone
        already on it is not added twice; someone marked for removal is kept instead."""
        existing = self.find(person_id)
        if existing >= 0:
            row = self._rows[existing]
            if row.removing:
                row.removing = False
                self._row_changed(existing)
                return existing, True
            return existing, False
        if role is None or role not in self._role_by_code or self._role_by_code[role].retired:
            role = self.default_role()
        at = len(self._rows)
        self.beginInsertRows(QModelIndex(), at, at)
        self._rows.append(RosterRow(person_id, name, reference, status, role))
        self.endInsertRows()
        self.changed.emit()
        return at, True

    def set_status(self, number: int, code: str) -> bool:
        row = self.row(number)
        if row is None or self.read_only or code not in self._status_by_code:
            return False
        if row.status == code and not row.removing:
            return False
        row.status = code
        row.removing = False
        self._row_changed(number)
        return True

    def cycle_role(self, number: int) -> bool:
        row = self.row(number)
        live = [r.code for r in self.roles if not r.retired]
        if row is None or self.read_only or not live:
            return False
        at = live.index(row.role) if row.role in live else -1
        row.role = live[(at + 1) % len(live)]
        self._row_changed(number)
        return True

    def set_role(self, number: int, code: str) -> bool:
        row = self.row(number)
        if row is None or self.read_only or code not in self._role_by_code or row.role == code:
            return False
        row.role = code
        self._row_changed(number)
        return True

    def set_note(self, number: int, note: str) -> bool:
        row = self.row(number)
        note = " ".join(note.split()) or None
        if row is None or self.read_only or row.note == note:
            return False
        row.note = note
        self._row_changed(number)
        return True

    def remove(self, number: int) -> str:
        """Delete pressed on a line: 'removed' (a new line, gone), 'marked' (a saved line, to be
        removed on Save), 'kept' (a saved line already marked: unmarked), or '' (nothing)."""
        row = self.row(number)
        if row is None or self.read_only:
            return ""
        if not row.saved:
            self.beginRemoveRows(QModelIndex(), number, number)
            del self._rows[number]
            self.endRemoveRows()
            self.changed.emit()
            return "removed"
        row.removing = not row.removing
        self._row_changed(number)
        return "marked" if row.removing else "kept"

    def _row_changed(self, number: int) -> None:
        self.dataChanged.emit(self.index(number, 0), self.index(number, len(HEADERS) - 1))
        self.changed.emit()

    # -- Qt's interface --------------------------------------------------------------------------

    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: N802, B008
        return 0 if parent.isValid() else len(self._rows)

    def columnCount(self, parent: Index = QModelIndex()) -> int:  # noqa: N802, B008
        return 0 if parent.isValid() else len(HEADERS)

    def headerData(self, section: int, orientation: Qt.Orientation,  # noqa: N802
                   role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if orientation == Qt.Orientation.Horizontal and 0 <= section < len(HEADERS):
            if role in (Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.AccessibleTextRole):
                return HEADERS[section]
        if orientation == Qt.Orientation.Vertical and 0 <= section < len(self._rows):
            if role == Qt.ItemDataRole.DisplayRole:
                return str(section + 1)
        return None

    def flags(self, index: Index) -> Qt.ItemFlag:
        if not index.isValid():
            return Qt.ItemFlag.NoItemFlags
        flags = Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable | Qt.ItemFlag.ItemNeverHasChildren
        if not self.read_only and index.column() in (COL_STATUS, COL_ROLE, COL_NOTE):
            flags |= Qt.ItemFlag.ItemIsEditable
        return flags

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or not 0 <= index.row() < len(self._rows) or not 0 <= index.column() < len(HEADERS):
            return None
        row, column = self._rows[index.row()], index.column()
        if role in (Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.AccessibleTextRole):
            text = self._text(row, column)
            if role == Qt.ItemDataRole.AccessibleTextRole and row.removing and column == COL_NAME:
                text += " (to be removed)"
            return text
        if role == Qt.ItemDataRole.EditRole:
            return {COL_STATUS: row.status, COL_ROLE: row.role, COL_NOTE: row.note or ""}.get(
                column, self._text(row, column))
        if role == CODE_ROLE:
            return {COL_STATUS: row.status, COL_ROLE: row.role}.get(column)
        if role == ROW_ROLE:
            return row
        if role == Qt.ItemDataRole.FontRole and (row.removing or (column == COL_STATUS and row.status is None)):
            font = QFont(QApplication.font())
            font.setStrikeOut(row.removing)
            font.setItalic(row.status is None and column == COL_STATUS)
            return font
        if role == Qt.ItemDataRole.ForegroundRole and (
                row.removing or (column == COL_STATUS and row.status and not self.counts_as_attended(row.status))):
            return QApplication.palette().brush(QPalette.ColorGroup.Active, QPalette.ColorRole.PlaceholderText)
        if role == Qt.ItemDataRole.ToolTipRole:
            if row.removing:
                return "Will be taken off the register when you save (press Delete again to keep)."
            if not row.saved:
                return "Not saved yet."
        return None

    def _text(self, row: RosterRow, column: int) -> str:
        if column == COL_NAME:
            return row.name
        if column == COL_REF:
            return row.reference or ""
        if column == COL_STATUS:
            return self.status_name(row.status)
        if column == COL_ROLE:
            return self.role_name(row.role)
        return row.note or ""

    def setData(self, index: Index, value: Any, role: int = Qt.ItemDataRole.EditRole) -> bool:  # noqa: N802
        if not index.isValid() or role != Qt.ItemDataRole.EditRole or not (self.flags(index)
                                                                           & Qt.ItemFlag.ItemIsEditable):
            return False
        column = index.column()
        if column == COL_STATUS:
            return self.set_status(index.row(), str(value))
        if column == COL_ROLE:
            return self.set_role(index.row(), str(value))
        if column == COL_NOTE:
            return self.set_note(index.row(), "" if value is None else str(value))
        return False


class ChoiceDelegate(QStyledItemDelegate):
    """A combo box for the status and role columns (codes in, codes out)."""

    def __init__(self, model: RegisterModel, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._model = model

    def _choices(self, column: int, current: str | None) -> list[tuple[str, str]]:
        if column == COL_STATUS:
            items = [(s.code, f"{s.name} ({s.key})" if s.key else s.name)
                     for s in self._model.statuses if not s.retired or s.code == current]
        else:
            items = [(r.code, r.name) for r in self._model.roles if not r.retired or r.code == current]
        return items

    def createEditor(self, parent: QWidget, option: QStyleOptionViewItem, index: Index) -> QWidget:  # noqa: N802
        if index.column() not in (COL_STATUS, COL_ROLE):
            return super().createEditor(parent, option, index)
        combo = QComboBox(parent)
        combo.setObjectName("statusEditor" if index.column() == COL_STATUS else "roleEditor")
        combo.setAccessibleName("Status" if index.column() == COL_STATUS else "Role")
        for code, name in self._choices(index.column(), index.data(CODE_ROLE)):
            combo.addItem(name, code)
        # Choosing from the list is the whole edit: commit at once, as a paper tick would.
        combo.activated.connect(lambda _=0, c=combo: self._commit(c))
        return combo

    def _commit(self, combo: QComboBox) -> None:
        self.commitData.emit(combo)
        self.closeEditor.emit(combo, QStyledItemDelegate.EndEditHint.NoHint)

    def setEditorData(self, editor: QWidget, index: Index) -> None:  # noqa: N802
        if isinstance(editor, QComboBox):
            at = editor.findData(index.data(CODE_ROLE))
            editor.setCurrentIndex(max(at, 0))
        else:
            super().setEditorData(editor, index)

    def setModelData(self, editor: QWidget, model: QAbstractTableModel, index: Index) -> None:  # noqa: N802
        if isinstance(editor, QComboBox):
            model.setData(index, editor.currentData(), Qt.ItemDataRole.EditRole)
        else:
            super().setModelData(editor, model, index)
