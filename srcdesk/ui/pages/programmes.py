"""Programmes and reference data (coordinators): programmes and their modules, activity types,
the milestone ladder with its rules, and (to look at) attendance statuses and roles.

Anything already used is retired rather than deleted ("Retire" / "Bring back"); something never
used may be deleted, with a reason. Every list loads in the background; every write goes through
:mod:`srcdesk.services.catalogue` in the background; the commit tells the data bus.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QItemSelectionModel, Qt, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSplitter,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from ...errors import SrcdeskError
from ...models import ActivityType, AttendanceRole, AttendanceStatus, MilestoneDefinition, Module, Programme
from ...services import catalogue
from ...services.base import Context
from ...services.completion import describe_completion
from ..catalogue_dialogs import (
    LABELS,
    CatalogueItemDialog,
    DeleteDialog,
    LadderLevelDialog,
    describe_rules,
    open_dialog,
)
from ..errors import report_unexpected
from ..table_model import CENTRE, RIGHT, Column, PagedTableModel, record_view
from ..tasks import run_task
from ..widgets import FieldError, StatusNote, heading
from . import Page

KIND_NAMES = {"programme": "Programme", "award": "Award"}


def _retired(row: Any) -> str:
    return "Retired" if _item(row).retired else ""


def _item(row: Any) -> Any:
    return row.item if isinstance(row, catalogue.Listed) else row


def _used(noun: str) -> Callable[[Any], str | None]:
    def tip(row: Any) -> str | None:
        return f"Used by {noun}: it can be retired, not deleted" if row.in_use else "Never used: it may be deleted"
    return tip


def _in_use(row: Any) -> str:
    return "Yes" if row.in_use else "No"


class CatalogueSection(QWidget):
    """One list of reference data with its buttons: Add, Edit, Retire / Bring back, Delete."""

    message = Signal(str)  # what happened, for the page's status line
    selectionChanged = Signal(object)  # the selected row (catalogue.Listed), or None

    def __init__(self, ctx: Context, model: type, columns: list[Column], *, name: str, stretch: int,
                 texts: dict[str, str] | None = None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self.kind = model
        # Changed at the office only: no buttons here, and the reason instead (a list that is only
        # ever shown, such as the attendance codes shipped with srcdesk, needs no reason).
        self.kept_elsewhere = catalogue.kept_elsewhere(ctx, model) if texts is not None else None
        if self.kept_elsewhere is not None:
            texts = None
        self.editable = texts is not None
        self.include_retired = False
        self.programme: Any = None  # modules only: whose modules are shown
        self._select_id: str | None = None
        self.setObjectName(f"{name}Section")

        self.model = PagedTableModel(columns, parent=self)
        self.view = record_view(self.model, f"{name}Table", catalogue.KINDS[model][0].capitalize() + " list", stretch=stretch)
        self.view.selectionModel().currentRowChanged.connect(self._selected)
        self.model.modelReset.connect(self._reselect)
        self.model.failed.connect(self._load_failed)
        self.error = FieldError(self.view)
        self.error.setObjectName(f"{name}Error")

        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        if self.kept_elsewhere is not None:  # above the list: seen on the smallest screen
            note = QLabel(self.kept_elsewhere)
            note.setObjectName(f"{name}KeptElsewhere")
            note.setWordWrap(True)
            layout.addWidget(note)
        layout.addWidget(self.view, 1)
        layout.addWidget(self.error)
        self.buttons: dict[str, QPushButton] = {}
        if texts is not None:
            row = QHBoxLayout()
            for key in ("add", "edit", "retire", "delete"):
                button = QPushButton(texts[key])
                button.setObjectName(f"{name}{key.capitalize()}Button")
                button.setAccessibleName(texts[key].replace("&", "").rstrip("…"))
                button.setAutoDefault(False)
                row.addWidget(button)
                self.buttons[key] = button
            row.addStretch(1)
            layout.addLayout(row)
            self.texts = texts
            self.buttons["add"].clicked.connect(self.add)
            self.buttons["edit"].clicked.connect(self.edit)
            self.buttons["retire"].clicked.connect(self.toggle_retired)
            self.buttons["delete"].clicked.connect(self.delete)
            self.view.activated.connect(self._activated)
        self._update_buttons()

    # -- loading ------------------------------------------------------------------------------

    def reload(self) -> None:
        if self.kind is Module and self.programme is None:
            self.model.set_rows([])
            self._update_buttons()
            return
        include, kind = self.include_retired, self.kind
        ctx = self.ctx
        programme_id = self.programme.id if self.programme is not None else None
        if kind in (AttendanceStatus, AttendanceRole):
            self.model.set_fetch(lambda _after: catalogue.list_all(ctx, kind, include_retired=include))
        else:
            self.model.set_fetch(lambda _after: catalogue.list_with_usage(
                ctx, kind, include_retired=include, programme_id=programme_id))

    def _load_failed(self, error: BaseException) -> None:
        if isinstance(error, SrcdeskError):
            self.error.show_error(str(error))
        else:
            self.error.show_error("The list could not be loaded because of an unexpected problem.")
            report_unexpected(error)

    def selected(self) -> Any:
        return self.model.row(self.view.currentIndex())

    def select_id(self, row_id: str | None) -> None:
        """Select the row with this id once it is in the list (now, or after the next load)."""
        self._select_id = row_id
        self._reselect()

    def _reselect(self) -> None:
        self.error.clear_error()
        wanted = self._select_id
        if wanted is None:
            self._update_buttons()
            self.selectionChanged.emit(self.selected())
            return
        number = self.model.find(lambda r: _item(r).id == wanted)
        if number >= 0:
            index = self.model.index(number, 0)
            self.view.selectionModel().setCurrentIndex(
                index, QItemSelectionModel.SelectionFlag.ClearAndSelect | QItemSelectionModel.SelectionFlag.Rows)
            self.view.scrollTo(index)
        self._update_buttons()
        self.selectionChanged.emit(self.selected())

    def _selected(self, *_: Any) -> None:
        row = self.selected()
        self._select_id = _item(row).id if row is not None else None
        self._update_buttons()
        self.selectionChanged.emit(row)

    def _update_buttons(self) -> None:
        if not self.buttons:
            return
        row = self.selected()
        can_add = self.kind is not Module or self.programme is not None
        self.buttons["add"].setEnabled(can_add)
        self.buttons["edit"].setEnabled(row is not None)
        retire = self.buttons["retire"]
        retire.setEnabled(row is not None)
        back = row is not None and _item(row).retired
        text = self.texts["bring_back"] if back else self.texts["retire"]
        retire.setText(text)
        retire.setAccessibleName(text.replace("&", ""))
        delete = self.buttons["delete"]
        delete.setEnabled(row is not None and not row.in_use)
        if row is not None and row.in_use:
            delete.setToolTip("It is in use: retire it instead, so the records that use it keep their meaning.")
        else:
            delete.setToolTip("Delete something entered in error (only if nothing uses it).")

    # -- actions --------------------------------------------------------------------------------

    def _dialog(self, item: Any) -> Any:
        if self.kind is MilestoneDefinition:
            return LadderLevelDialog(self.ctx, item, parent=self)
        return CatalogueItemDialog(self.ctx, self.kind, item, programme=self.programme, parent=self)

    def _activated(self, _index: Any) -> None:
        self.edit()

    def _open(self, dialog: Any) -> Any:
        dialog.saved.connect(self._saved)
        dialog.savedMessage.connect(self.message)
        return open_dialog(dialog)

    def _saved(self, record: Any) -> None:
        if record is not None and hasattr(record, "id"):
            self.select_id(record.id)

    def add(self) -> Any:
        if not self.buttons["add"].isEnabled():
            return None
        self.dialog = self._open(self._dialog(None))
        return self.dialog

    def edit(self) -> Any:
        row = self.selected()
        if row is None or not self.editable:
            return None
        self.dialog = self._open(self._dialog(_item(row)))
        return self.dialog

    def delete(self) -> Any:
        row = self.selected()
        if row is None or row.in_use:
            return None
        self.dialog = self._open(DeleteDialog(self.ctx, self.kind, _item(row), parent=self))
        return self.dialog

    def toggle_retired(self) -> None:
        row = self.selected()
        if row is None:
            return
        item = _item(row)
        retire = not item.retired
        label = LABELS.get(self.kind, "item")
        self.buttons["retire"].setEnabled(False)
        self.error.clear_error()

        def done(record: Any) -> None:
            if retire:
                self.message.emit(f"Retired {label} {record.code} — {record.name}: it stays on the records "
                                  "that use it but is no longer offered for new ones.")
            else:
                self.message.emit(f"Brought back {label} {record.code} — {record.name}.")

        def failed(error: BaseException) -> None:
            self._update_buttons()
            self._load_failed(error)

        run_task(catalogue.set_retired, self.ctx, self.kind, item.id, retire, owner=self,
                 on_result=done, on_error=failed, name=f"retire a {label}")


class ProgrammesPage(Page):
    key = "programmes"
    title = "Programmes"
    needs = "catalogue.edit"
    topics = frozenset({"catalogue"})

    def __init__(self, ctx: Context, parent: QWidget | None = None) -> None:
        super().__init__(ctx, parent)
        self.show_retired = QCheckBox("S&how retired")
        self.show_retired.setObjectName("showRetired")
        self.show_retired.setAccessibleName("Show retired")
        self.show_retired.setToolTip("Also list what has been retired, to look at it or bring it back.")
        self.show_retired.toggled.connect(self._retired_toggled)
        self.status = StatusNote()
        self.status.setObjectName("status")

        # -- programmes and their modules ---------------------------------------------------------
        self.programmes = CatalogueSection(ctx, Programme, [
            Column("Code", lambda r: r.item.code),
            Column("Name", lambda r: r.item.name, tooltip=lambda r: r.item.description),
            Column("Kind", lambda r: KIND_NAMES.get(r.item.kind, r.item.kind)),
            Column("Completed when", lambda r: describe_completion(r.item.completion_rule, programme=True)),
            Column("In use", _in_use, align=CENTRE, tooltip=_used("modules, certificates or targets")),
            Column("Retired", _retired, align=CENTRE),
        ], name="programmes", stretch=1, texts={
            "add": "&Add programme…", "edit": "&Edit programme…", "retire": "&Retire programme",
            "bring_back": "&Bring back programme", "delete": "&Delete programme…"})
        self.modules = CatalogueSection(ctx, Module, [
            Column("Order", lambda r: r.item.sequence, align=RIGHT),
            Column("Code", lambda r: r.item.code),
            Column("Name", lambda r: r.item.name, tooltip=lambda r: r.item.description),
            Column("Completed when", lambda r: describe_completion(r.item.completion_rule, programme=False)),
            Column("In use", _in_use, align=CENTRE, tooltip=_used("sessions or certificates")),
            Column("Retired", _retired, align=CENTRE),
        ], name="modules", stretch=2, texts={
            "add": "Add &module…", "edit": "Edit m&odule…", "retire": "Re&tire module",
            "bring_back": "Bring bac&k module", "delete": "Delete mod&ule…"})
        self.modules_heading = QLabel("Modules")
        self.modules_heading.setObjectName("modulesHeading")
        self.modules_heading.setWordWrap(True)
        self.programmes.selectionChanged.connect(self._programme_chosen)

        programmes_box = QWidget()
        box = QVBoxLayout(programmes_box)
        box.setContentsMargins(8, 8, 8, 0)
        box.addWidget(self.programmes)
        modules_box = QWidget()
        box = QVBoxLayout(modules_box)
        box.setContentsMargins(8, 6, 8, 8)
        box.addWidget(self.modules_heading)
        box.addWidget(self.modules)
        split = QSplitter(Qt.Orientation.Vertical)
        split.setObjectName("programmesSplitter")
        split.setChildrenCollapsible(False)
        split.addWidget(programmes_box)
        split.addWidget(modules_box)

        # -- activity types, the ladder, statuses and roles -------------------------------------
        self.activity_types = CatalogueSection(ctx, ActivityType, [
            Column("Code", lambda r: r.item.code),
            Column("Name", lambda r: r.item.name, tooltip=lambda r: r.item.description),
            Column("In use", _in_use, align=CENTRE, tooltip=_used("sessions")),
            Column("Retired", _retired, align=CENTRE),
        ], name="activityTypes", stretch=1, texts={
            "add": "&Add activity type…", "edit": "&Edit activity type…", "retire": "&Retire activity type",
            "bring_back": "&Bring back activity type", "delete": "&Delete activity type…"})
        self.role_names: dict[str, tuple[int, str]] = {}  # code -> (order, name)
        self.ladder = CatalogueSection(ctx, MilestoneDefinition, [
            Column("Level", lambda r: r.item.level, align=RIGHT),
            Column("Code", lambda r: r.item.code),
            Column("Name", lambda r: r.item.name, tooltip=lambda r: r.item.description),
            Column("Conditions", self._conditions, tooltip=self._conditions),
            Column("Achieved", _in_use, align=CENTRE, tooltip=_used("achievements")),
            Column("Retired", _retired, align=CENTRE),
        ], name="ladder", stretch=3, texts={
            "add": "&Add level…", "edit": "&Edit level…", "retire": "&Retire level",
            "bring_back": "&Bring back level", "delete": "&Delete level…"})
        ladder_box = QWidget()
        box = QVBoxLayout(ladder_box)
        box.setContentsMargins(8, 8, 8, 8)
        note = QLabel("Each level also needs the level below it." + (
            "" if self.ladder.kept_elsewhere else " A level someone has achieved can be retired but not deleted."))
        note.setWordWrap(True)
        box.addWidget(note)
        box.addWidget(self.ladder)

        self.statuses = CatalogueSection(ctx, AttendanceStatus, [
            Column("Key", lambda s: s.key, align=CENTRE),
            Column("Code", lambda s: s.code),
            Column("Name", lambda s: s.name),
            Column("Counts as attended", lambda s: s.counts_as_attended, align=CENTRE),
            Column("Retired", _retired, align=CENTRE),
        ], name="statuses", stretch=2)
        self.roles = CatalogueSection(ctx, AttendanceRole, [
            Column("Code", lambda r: r.code),
            Column("Name", lambda r: r.name),
            Column("Retired", _retired, align=CENTRE),
        ], name="roles", stretch=1)
        self.roles.model.loaded.connect(self._roles_loaded)
        codes_box = QWidget()
        box = QVBoxLayout(codes_box)
        box.setContentsMargins(8, 8, 8, 8)
        codes_note = QLabel("The statuses and roles used on registers, shipped with srcdesk (shown here to "
                            "look at). The key is the letter that marks a status on the register.")
        codes_note.setWordWrap(True)
        box.addWidget(codes_note)
        statuses_label = QLabel("Attendance statuses")
        statuses_label.setBuddy(self.statuses.view)
        box.addWidget(statuses_label)
        box.addWidget(self.statuses, 3)
        roles_label = QLabel("Roles")
        roles_label.setBuddy(self.roles.view)
        box.addWidget(roles_label)
        box.addWidget(self.roles, 4)

        self.tabs = QTabWidget()
        self.tabs.setObjectName("catalogueTabs")
        self.tabs.setAccessibleName("Reference data")
        self.tabs.tabBar().setAccessibleName("Kinds of reference data")
        self.tabs.addTab(split, "&Programmes and modules")
        activity_box = QWidget()
        box = QVBoxLayout(activity_box)
        box.setContentsMargins(8, 8, 8, 8)
        box.addWidget(self.activity_types)
        self.tabs.addTab(activity_box, "Acti&vity types")
        self.tabs.addTab(ladder_box, "The &ladder")
        self.tabs.addTab(codes_box, "Attendance &statuses and roles")

        for section in self.sections:
            section.message.connect(self.status.say)

        top = QHBoxLayout()
        top.addWidget(heading("Programmes and reference data", scale=1.6), 1)
        top.addWidget(self.show_retired, 0, Qt.AlignmentFlag.AlignBottom)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(18, 18, 18, 18)
        layout.addLayout(top)
        layout.addWidget(self.status)
        layout.addWidget(self.tabs, 1)
        self._programme_chosen(None)

    @property
    def sections(self) -> list[CatalogueSection]:
        return [self.programmes, self.modules, self.activity_types, self.ladder, self.statuses, self.roles]

    @property
    def models(self) -> list[PagedTableModel]:
        return [s.model for s in self.sections]

    def refresh(self) -> None:
        for section in self.sections:
            if section is not self.modules:  # follows the programme selection
                section.reload()

    @property
    def loaded(self) -> bool:
        return all(s.model.loaded_once or (s is self.modules and s.programme is None) for s in self.sections) \
            and not any(s.model.loading for s in self.sections)

    def _retired_toggled(self, checked: bool) -> None:
        for section in self.sections:
            section.include_retired = checked
        self.refresh()

    def _conditions(self, row: Any) -> str:
        names = {r.item.code: r.item.name for r in self.programmes.model.rows}
        return describe_rules(row.item.rules, self.role_names, names)

    def _roles_loaded(self) -> None:
        self.role_names = {r.code: (r.sort_order, r.name) for r in self.roles.model.rows}
        model = self.ladder.model
        if model.rowCount():
            model.dataChanged.emit(model.index(0, 0), model.index(model.rowCount() - 1, model.columnCount() - 1))

    def _programme_chosen(self, row: Any) -> None:
        programme = _item(row) if row is not None else None
        same = (programme is not None and self.modules.programme is not None
                and programme.id == self.modules.programme.id)
        self.modules.programme = programme
        if programme is None:
            self.modules_heading.setText("Modules — choose a programme above to see its modules.")
        else:
            self.modules_heading.setText(f"Modules of {programme.name}")
        self.modules_heading.setAccessibleName(self.modules_heading.text())
        if not same or not self.modules.model.loading:
            self.modules.reload()
