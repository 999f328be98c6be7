"""Sync → Conflicts: values that lost a merge, beside the value shown now; keep, use the other, or
edit. The tab's title (and :attr:`SyncPage.conflictsChanged`) carries the count."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QPalette
from PySide6.QtWidgets import QGroupBox, QHBoxLayout, QVBoxLayout, QWidget

from ....services import conflicts as conflict_service
from ....services.conflicts import ConflictItem
from ...catalogue_dialogs import open_dialog
from ...sync_dialogs import (
    ConflictEditDialog,
    fit_columns,
    note,
    one_line,
    select_first,
    side_origin,
    side_text,
)
from ...table_model import Column, PagedTableModel, record_view
from ...tasks import run_task
from ...widgets import push_button
from .base import Tab, say_error

if TYPE_CHECKING:
    from .page import SyncPage

def _short_origin(side: Any) -> str:
    """"Ann Admin, HMP Perth" (this PC's name as "this PC"); when is in the tooltip and below the table."""
    where = "this PC" if side.mine else side.origin_name
    return f"{side.user_name or 'someone'}, {where}"


CONFLICT_COLUMNS = [
    Column("Record", lambda c: c.record),
    Column("Field", lambda c: c.field_label),
    Column("Current value", lambda c: one_line(side_text(c.current, deleted=c.is_delete), 60),
           tooltip=lambda c: side_text(c.current, deleted=c.is_delete)),
    Column("Set by", lambda c: _short_origin(c.current), tooltip=lambda c: side_origin(c.current)),
    Column("Other value", lambda c: one_line(side_text(c.other), 60), tooltip=lambda c: side_text(c.other)),
    Column("Set by", lambda c: _short_origin(c.other), tooltip=lambda c: side_origin(c.other)),
]


class _SideBox(QGroupBox):
    """One side of the conflict chosen: its value in full, and who changed it, where and when."""

    def __init__(self, title: str, name: str) -> None:
        super().__init__(title)
        self.setObjectName(name)
        self.value = note("", f"{name}Value")
        self.value.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.origin = note("", f"{name}Origin")
        self.origin.setForegroundRole(QPalette.ColorRole.PlaceholderText)
        layout = QVBoxLayout(self)
        layout.addWidget(self.value)
        layout.addWidget(self.origin)
        layout.addStretch(1)

    def show_side(self, value: str, origin: str) -> None:
        self.value.setText(value)
        self.value.setAccessibleName(f"{self.title()}: {value}")
        self.origin.setText(origin)


class ConflictsTab(Tab):
    countChanged = Signal(int)

    def __init__(self, page: SyncPage) -> None:
        super().__init__(page, "conflictsTab")
        self.dialog: Any = None
        self.count = 0
        intro = note(
            "When the same thing was changed in two places before they synced, srcdesk shows the later change "
            "and keeps the other here, so nothing is lost. Decide which value is right (or type the right one); "
            "your decision travels in the next bundles.", "conflictsIntro")
        self.model = PagedTableModel(CONFLICT_COLUMNS, parent=self)
        self.view = record_view(self.model, "conflictsTable", "Open conflicts", fit=False)
        self.view.selectionModel().currentRowChanged.connect(self._selected)
        self.model.loaded.connect(self._loaded)
        self.model.failed.connect(lambda error: say_error(self.error, error))
        self.view.activated.connect(lambda _i: self.edit())
        self.empty = note("There are no conflicts: every change arrived in order.", "conflictsEmpty")
        self.empty.hide()

        self.current_box = _SideBox("Current value (shown now)", "currentSide")
        self.other_box = _SideBox("Other value (overwritten)", "otherSide")
        sides = QHBoxLayout()
        sides.addWidget(self.current_box, 1)
        sides.addWidget(self.other_box, 1)
        self.keep_button = push_button("&Keep current", "keepButton", lambda: self.resolve("keep"))
        self.other_button = push_button("&Use other", "useOtherButton", lambda: self.resolve("other"))
        self.edit_button = push_button("E&dit…", "editButton", self.edit)
        buttons = QHBoxLayout()
        for button in (self.keep_button, self.other_button, self.edit_button):
            buttons.addWidget(button)
        buttons.addStretch(1)
        self.layout_.addWidget(intro)
        self.layout_.addWidget(self.empty)
        self.layout_.addWidget(self.view, 1)
        self.layout_.addLayout(sides)
        self.layout_.addLayout(buttons)
        self.layout_.addWidget(self.status)
        self.layout_.addWidget(self.error)
        QWidget.setTabOrder(self.view, self.keep_button)
        QWidget.setTabOrder(self.keep_button, self.other_button)
        QWidget.setTabOrder(self.other_button, self.edit_button)
        self._busy = False
        self._selected()

    def load(self) -> None:
        ctx = self.ctx
        self.model.set_fetch(lambda _after: conflict_service.list_conflicts(ctx))
        self.page.track_model(self.model)

    def _loaded(self) -> None:
        self.error.clear_error()
        self.count = self.model.rowCount()
        self.empty.setVisible(self.count == 0)
        self.view.setVisible(self.count > 0)
        for box in (self.current_box, self.other_box):
            box.setVisible(self.count > 0)
        fit_columns(self.view, 38)
        if self.count and not self.view.currentIndex().isValid():
            select_first(self.view)
        self._selected()
        self.countChanged.emit(self.count)

    def selected(self) -> ConflictItem | None:
        return self.model.row(self.view.currentIndex())

    def _selected(self, *_: Any) -> None:
        item = self.selected()
        if item is None:
            self.current_box.show_side("", "")
            self.other_box.show_side("", "")
        else:
            self.current_box.show_side(side_text(item.current, deleted=item.is_delete),
                                       f"Set by {side_origin(item.current)}")
            other = ("Edited while it was being deleted: " if item.is_delete else "") + side_text(item.other)
            self.other_box.show_side(other, f"Set by {side_origin(item.other)}")
        deleting = item is not None and item.is_delete
        self.keep_button.setText("&Keep deleted" if deleting else "&Keep current")
        self.other_button.setText("&Restore with the edit" if deleting else "&Use other")
        self.keep_button.setAccessibleName(self.keep_button.text().replace("&", ""))
        self.other_button.setAccessibleName(self.other_button.text().replace("&", ""))
        self.edit_button.setToolTip("A deleted record can be kept deleted or restored, not edited."
                                    if deleting else "Type the right value yourself.")
        for button in (self.keep_button, self.other_button):
            button.setEnabled(item is not None and not self._busy)
        self.edit_button.setEnabled(item is not None and not deleting and not self._busy)

    def resolve(self, choice: str) -> None:
        item = self.selected()
        if item is None or self._busy:
            return
        self.error.clear_error()
        self._busy = True
        self._selected()
        if item.is_delete:
            done = (f"{item.record} stays deleted." if choice == "keep"
                    else f"{item.record} is restored with the edit.")
        else:
            done = (f"Kept the current {item.field_label.lower()} of {item.record}." if choice == "keep"
                    else f"The {item.field_label.lower()} of {item.record} is now the other value.")

        def finished(_result: Any) -> None:
            self._busy = False
            self.status.say(done)

        def failed(error: BaseException) -> None:
            self._busy = False
            self._selected()
            say_error(self.error, error)

        self.page.track(run_task(conflict_service.resolve_conflict, self.ctx, item.id, choice, owner=self,
                                 name="settle a conflict", on_result=finished, on_error=failed))

    def edit(self) -> Any:
        item = self.selected()
        if item is None or item.is_delete or self._busy:
            return None
        self.error.clear_error()
        dialog = ConflictEditDialog(self.ctx, item, parent=self)
        dialog.savedMessage.connect(self.status.say)
        self.dialog = open_dialog(dialog)
        return self.dialog
