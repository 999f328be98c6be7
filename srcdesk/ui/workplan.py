"""The workplan (the Dashboard's "Workplan" tab): a plan year's focus establishments and its targets,
each with its actual value so far and whether it is on track.

Coordinators at the SRC office change it (new plan year, focus, add / edit / remove targets);
everyone else sees it read-only with the reason ("The workplan is set at the SRC office." at an
establishment's PC, which shows the national targets and its own). Everything is read and written
through :mod:`srcdesk.services.plans` in the background; the plan tables' commits (and bundles
imported) reach the data bus, and the tab reloads itself.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from PySide6.QtCore import QModelIndex, QRect, Qt, Signal
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QApplication,
    QComboBox,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QPlainTextEdit,
    QSpinBox,
    QSplitter,
    QStyle,
    QStyledItemDelegate,
    QStyleOptionProgressBar,
    QStyleOptionViewItem,
    QVBoxLayout,
    QWidget,
)

from ..dates import day_month_year
from ..errors import ValidationError
from ..reports.indicators import INDICATOR_BY_CODE, INDICATORS
from ..services import plans
from ..services.base import Context
from .bus import data_bus
from .catalogue_dialogs import FormDialog, ReasonedDialog
from .table_model import CENTRE, RIGHT, ROW_ROLE, Column, RowsTableModel, record_view
from .tasks import Task, run_task
from .widgets import StatusNote, describe_error, filter_combo, hidden_unless, open_one, push_button

# What changes the tab: the plan tables (announced as "people"), the establishments, and what the
# indicators count; "sync" for bundles imported.
TOPICS = frozenset({"people", "catalogue", "sessions", "attendance", "ladder", "sync"})

STATUS_WORDS = {plans.MET: "Met", plans.ON_TRACK: "On track", plans.BEHIND: "Behind", plans.MISSED: "Missed",
                plans.NOT_STARTED: "Not started", plans.NO_TARGET: "No number set",
                plans.NOT_MEASURED: "Not measured"}


def _share(p: plans.Progress) -> str:
    return "" if p.share is None else f"{min(p.share, 9.99):.0%}"


TARGET_COLUMNS = [
    Column("Indicator", lambda p: p.target.label, tooltip=lambda p: p.target.description),
    Column("Establishment", lambda p: p.target.establishment),
    Column("Target", lambda p: p.target.shown_target, align=RIGHT),
    Column("So far", lambda p: p.shown_actual, align=RIGHT, tooltip=lambda p: p.note or None),
    Column("Progress", _share, align=CENTRE, min_chars=12),
    Column("On track?", lambda p: STATUS_WORDS.get(p.status, p.status), tooltip=lambda p: p.note or None),
    Column("Description", lambda p: p.target.description, tooltip=lambda p: p.target.description),
]
PROGRESS_COLUMN = 4
LOADING = "Loading the workplan…"


class ProgressDelegate(QStyledItemDelegate):
    """The Progress column as a bar (actual ÷ target, full at the target), its percentage as text."""

    def paint(self, painter: Any, option: QStyleOptionViewItem, index: QModelIndex) -> None:
        p = index.data(ROW_ROLE)
        if p is None or p.share is None:
            super().paint(painter, option, index)
            return
        bar = QStyleOptionProgressBar()
        bar.rect = QRect(option.rect).adjusted(3, 3, -3, -3)
        bar.minimum, bar.maximum = 0, 100
        bar.progress = max(0, min(100, round(p.share * 100)))
        bar.text = _share(p)
        bar.textVisible = True
        bar.textAlignment = Qt.AlignmentFlag.AlignCenter
        bar.state = option.state | QStyle.StateFlag.State_Horizontal
        bar.palette = option.palette
        style = option.widget.style() if option.widget else QApplication.style()
        style.drawControl(QStyle.ControlElement.CE_ProgressBar, bar, painter, option.widget)


@dataclass(frozen=True)
class Snapshot:
    """What the tab shows, read in the background in one go."""

    years: list[Any]
    year: Any | None  # the plan year shown
    establishments: list[plans.EstablishmentChoice]  # marked focus or not
    progress: list[plans.Progress]
    progress_error: BaseException | None  # the targets are shown without actuals if they could not be read
    suggested: str  # for "New plan year…"


def load(ctx: Context, plan_year_id: str | None, today: dt.date | None = None) -> Snapshot:
    """The plan years, the chosen one (else the one containing today, else the latest), its
    establishments with their focus and its targets with progress."""
    day = today or dt.date.today()
    years = plans.list_plan_years(ctx)
    year = next((y for y in years if y.id == plan_year_id), None)
    if year is None:
        year = next((y for y in years if y.starts_on <= day <= y.ends_on), years[-1] if years else None)
    if year is None:
        return Snapshot(years, None, plans.establishments(ctx), [], None, plans.suggested_new_year(ctx, day))
    ests = plans.establishments(ctx, year.id)
    error = None
    try:
        progress = plans.progress(ctx, year.id, today=day)
    except Exception as exc:  # noqa: BLE001 - the targets still show; the reason is said on the tab
        error = exc
        progress = [plans.Progress(t, None, None, None, plans.NOT_MEASURED, "")
                    for t in plans.targets(ctx, year.id)]
    return Snapshot(years, year, ests, progress, error, plans.suggested_new_year(ctx, day))


class WorkplanView(QWidget):
    """The Workplan tab: plan year chooser, focus establishments, targets with progress."""

    loaded = Signal()  # a snapshot has been shown (tests wait for it)

    def __init__(self, ctx: Context, parent: QWidget | None = None, *, today: Callable[[], Any] | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("workplanView")
        self.ctx = ctx
        self._today = today
        self.refusal = plans.can_edit(ctx)  # "" when this user may change the workplan here
        self.editable = not self.refusal
        self.snapshot: Snapshot | None = None
        self._task: Task | None = None
        self._stale = False
        self._wanted_year: str | None = None
        self._saved_focus: set[str] = set()
        self.dialog: Any = None

        self.year_combo, year_label = filter_combo("Plan &year:", "planYearCombo", "Plan year")
        self.year_combo.activated.connect(self._year_chosen)
        self.year_combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToContents)
        self.new_year_button = push_button("&New plan year…", "newPlanYearButton", self._new_year)
        hidden_unless(self.new_year_button, self.editable)
        self.year_dates = QLabel()
        self.year_dates.setObjectName("planYearDates")
        top = QHBoxLayout()
        top.addWidget(year_label)
        top.addWidget(self.year_combo)
        top.addWidget(self.year_dates, 1)
        top.addWidget(self.new_year_button)

        self.read_only_note = QLabel(f"Read only. {self.refusal}" if self.refusal else "")
        self.read_only_note.setObjectName("readOnlyNote")
        self.read_only_note.setWordWrap(True)
        hidden_unless(self.read_only_note, bool(self.refusal))

        # focus establishments
        self.focus_list = QListWidget()
        self.focus_list.setObjectName("focusList")
        self.focus_list.setAccessibleName("Focus establishments")
        self.focus_list.itemChanged.connect(self._focus_changed)
        self.focus_list.setWordWrap(True)
        self.focus_list.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.focus_warning = QLabel()
        self.focus_warning.setObjectName("focusWarning")
        self.focus_warning.setWordWrap(True)
        self.focus_warning.setVisible(False)
        self.save_focus_button = push_button("Sa&ve focus", "saveFocusButton", self._save_focus)
        self.save_focus_button.setEnabled(False)
        hidden_unless(self.save_focus_button, self.editable)
        focus_box = QGroupBox("Focus establishments")
        focus_box.setObjectName("focusBox")
        fl = QVBoxLayout(focus_box)
        self.focus_intro = QLabel("The strategy plans focused support for 3–5 establishments a year."
                                  if ctx.installation.is_office else "")
        self.focus_intro.setWordWrap(True)
        hidden_unless(self.focus_intro, ctx.installation.is_office)
        fl.addWidget(self.focus_intro)
        fl.addWidget(self.focus_list, 1)
        fl.addWidget(self.focus_warning)
        fl.addWidget(self.save_focus_button)
        if not ctx.installation.is_office:  # one line: whether this establishment is a focus one
            self.focus_list.setMaximumHeight(self.fontMetrics().lineSpacing() * 4)
            fl.addStretch(1)

        # targets
        self.model = RowsTableModel(TARGET_COLUMNS, self)
        self.table = record_view(self.model, "targetsTable", "Targets and progress", stretch=len(TARGET_COLUMNS) - 1)
        self.table.setItemDelegateForColumn(PROGRESS_COLUMN, ProgressDelegate(self.table))
        self.table.activated.connect(lambda _index: self._edit_target() if self.editable else None)
        self.table.selectionModel().selectionChanged.connect(self._selection_changed)
        self.add_button = push_button("&Add target…", "addTargetButton", self._add_target)
        self.edit_button = push_button("Ed&it target…", "editTargetButton", self._edit_target)
        self.remove_button = push_button("&Remove target…", "removeTargetButton", self._remove_target)
        buttons = QHBoxLayout()
        for b in (self.add_button, self.edit_button, self.remove_button):
            hidden_unless(b, self.editable)
            buttons.addWidget(b)
        buttons.addStretch(1)
        self.edit_button.setEnabled(False)
        self.remove_button.setEnabled(False)
        targets_box = QGroupBox("Targets and progress so far")
        targets_box.setObjectName("targetsBox")
        tl = QVBoxLayout(targets_box)
        tl.addWidget(self.table, 1)
        tl.addLayout(buttons)
        self.progress_note = QLabel()
        self.progress_note.setObjectName("progressNote")
        self.progress_note.setWordWrap(True)
        self.progress_note.setVisible(False)
        tl.addWidget(self.progress_note)

        split = QSplitter(Qt.Orientation.Horizontal)
        split.setObjectName("workplanSplitter")
        split.setChildrenCollapsible(False)
        split.addWidget(focus_box)
        split.addWidget(targets_box)
        split.setStretchFactor(0, 0)
        split.setStretchFactor(1, 1)
        split.setSizes([self.fontMetrics().horizontalAdvance("x") * 34, 800])

        self.status = StatusNote()
        self.status.setObjectName("workplanStatus")
        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addWidget(self.read_only_note)
        layout.addWidget(split, 1)
        layout.addWidget(self.status)

        remove = QShortcut(QKeySequence(QKeySequence.StandardKey.Delete), self.table)
        remove.setContext(Qt.ShortcutContext.WidgetShortcut)
        remove.activated.connect(lambda: self._remove_target() if self.editable else None)
        for a, b in ((self.year_combo, self.new_year_button), (self.new_year_button, self.focus_list),
                     (self.focus_list, self.save_focus_button), (self.save_focus_button, self.table),
                     (self.table, self.add_button), (self.add_button, self.edit_button),
                     (self.edit_button, self.remove_button)):
            QWidget.setTabOrder(a, b)

        data_bus().changed.connect(self._data_changed)
        self.reload()

    # -- loading -------------------------------------------------------------------------------

    def today(self) -> Any:
        return self._today() if self._today else None

    def reload(self, *, quiet: bool = False) -> None:
        """Read it again in the background (``quiet``: keep what the status line says, e.g. "Saved…")."""
        if self._task is not None:
            self._task.discard()
        if not quiet:
            self.status.say(LOADING)
        self._task = run_task(load, self.ctx, self._wanted_year, self.today(), owner=self,
                              on_result=self._show, on_error=self._failed, name="load the workplan")

    def _year_chosen(self, index: int) -> None:
        chosen = self.year_combo.itemData(index)
        if chosen and chosen != self._wanted_year:
            self._wanted_year = chosen
            self.reload()

    def _data_changed(self, topics: frozenset[str]) -> None:
        if not topics & TOPICS:
            return
        if self.isVisible():
            self.reload(quiet=True)
        else:
            self._stale = True

    def showEvent(self, event: Any) -> None:  # noqa: N802
        super().showEvent(event)
        if self._stale:
            self._stale = False
            self.reload()

    def _failed(self, error: BaseException) -> None:
        self._task = None
        self.status.say(f"The workplan could not be read: {describe_error(error)}")

    def _show(self, snap: Snapshot) -> None:
        self._task = None
        self.snapshot = snap
        if self.status.text() == LOADING:
            self.status.say("")
        self.year_combo.clear()
        for y in snap.years:
            self.year_combo.addItem(y.name, y.id)
        if snap.year is None:
            self.year_dates.setText("No plan years yet.")
        else:
            self._wanted_year = snap.year.id
            self.year_combo.setCurrentIndex(self.year_combo.findData(snap.year.id))
            self.year_dates.setText(f"{day_month_year(snap.year.starts_on)} – {day_month_year(snap.year.ends_on)}")
        self._show_focus(snap)
        selected = self.selected()
        self.model.set_rows(snap.progress)
        if selected is not None:
            row = self.model.find(lambda p: p.target.id == selected.target.id)
            if row >= 0:
                self.table.selectRow(row)
        self._selection_changed()
        self.add_button.setEnabled(snap.year is not None)
        if snap.progress_error is not None:
            self.progress_note.setText("The actual values could not be worked out: "
                                       f"{describe_error(snap.progress_error)}")
        self.progress_note.setVisible(snap.progress_error is not None)
        self.loaded.emit()

    def _show_focus(self, snap: Snapshot) -> None:
        self.focus_list.blockSignals(True)
        self.focus_list.clear()
        office = self.ctx.installation.is_office
        for e in snap.establishments:
            if office:
                item = QListWidgetItem(e.name)
                flags = Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable
                if self.editable and snap.year is not None:
                    flags |= Qt.ItemFlag.ItemIsUserCheckable
                item.setFlags(flags)
                item.setCheckState(Qt.CheckState.Checked if e.focus else Qt.CheckState.Unchecked)
            else:  # an establishment's PC: whether it is one of the year's focus establishments
                year = snap.year.code if snap.year else ""
                item = QListWidgetItem(f"{e.name} is a focus establishment in {year}." if e.focus
                                       else f"{e.name} is not a focus establishment in {year}.")
                item.setFlags(Qt.ItemFlag.ItemIsEnabled)
            item.setData(Qt.ItemDataRole.UserRole, e.id)
            item.setToolTip(f"{e.name} ({e.code})")
            self.focus_list.addItem(item)
        self.focus_list.blockSignals(False)
        self._saved_focus = {e.id for e in snap.establishments if e.focus}
        self._focus_changed()

    # -- focus ---------------------------------------------------------------------------------

    def checked_focus(self) -> list[str]:
        return [self.focus_list.item(i).data(Qt.ItemDataRole.UserRole) for i in range(self.focus_list.count())
                if self.focus_list.item(i).checkState() == Qt.CheckState.Checked]

    def _focus_changed(self, *_: Any) -> None:
        if not self.ctx.installation.is_office:
            return
        chosen = self.checked_focus()
        warning = plans.focus_warning(len(chosen)) if self.snapshot and self.snapshot.year else ""
        self.focus_warning.setText(warning)
        self.focus_warning.setVisible(bool(warning))
        self.save_focus_button.setEnabled(self.editable and set(chosen) != self._saved_focus)

    def _save_focus(self) -> None:
        if not self.snapshot or not self.snapshot.year:
            return
        chosen = self.checked_focus()
        self.save_focus_button.setEnabled(False)
        self.status.say("Saving the focus establishments…")
        run_task(plans.set_focus, self.ctx, self.snapshot.year.id, chosen, owner=self,
                 on_result=lambda _r: self.status.say(f"Saved the focus establishments of {self.snapshot.year.code}."),
                 on_error=self._save_failed, name="save the focus establishments")

    def _save_failed(self, error: BaseException) -> None:
        self.status.say(describe_error(error))
        self._focus_changed()

    # -- targets -------------------------------------------------------------------------------

    def selected(self) -> plans.Progress | None:
        rows = self.table.selectionModel().selectedRows() if self.table.selectionModel() else []
        return self.model.row(rows[0].row()) if rows else None

    def _selection_changed(self, *_: Any) -> None:
        chosen = self.selected() is not None
        self.edit_button.setEnabled(chosen)
        self.remove_button.setEnabled(chosen)

    def _open(self, dialog: Any) -> None:
        open_one(self, dialog, say=self.status.say)

    def _new_year(self) -> None:
        if self.editable and self.snapshot is not None:
            dialog = NewPlanYearDialog(self.ctx, self.snapshot.suggested, self)
            dialog.saved.connect(self._year_added)
            self._open(dialog)

    def _year_added(self, year: Any) -> None:
        self._wanted_year = year.id  # the data bus may have reloaded before the dialog heard back
        self.reload(quiet=True)

    def _add_target(self) -> None:
        if self.editable and self.snapshot is not None and self.snapshot.year is not None:
            self._open(TargetDialog(self.ctx, self.snapshot.year, self.snapshot.establishments, parent=self))

    def _edit_target(self) -> None:
        p = self.selected()
        if self.editable and p is not None and self.snapshot is not None:
            self._open(TargetDialog(self.ctx, self.snapshot.year, self.snapshot.establishments, p.target, self))

    def _remove_target(self) -> None:
        p = self.selected()
        if self.editable and p is not None:
            self._open(RemoveTargetDialog(self.ctx, p.target, self))


# -- dialogs -----------------------------------------------------------------------------------


class NewPlanYearDialog(FormDialog):
    """A new plan year (1 April to 31 March); the year after the latest is suggested."""

    def __init__(self, ctx: Context, suggested: str, parent: QWidget | None = None) -> None:
        super().__init__(ctx, "New plan year", "New plan year", "&Add plan year", parent)
        self.setObjectName("newPlanYearDialog")
        self.code = self.add_row("&Year:", QLineEdit(suggested), "code", "planYearCode", "Plan year")
        self.code.setPlaceholderText("e.g. 2026-27")
        self.name = self.add_row("&Name:", QLineEdit(), "name", "planYearName", "Name")
        self.name.setPlaceholderText("Plan year " + suggested)
        self.finish_layout()
        self._dirty = False

    def work(self) -> tuple[Callable[..., Any], tuple, dict]:
        return plans.create_plan_year, (self.ctx, self.code.text().strip()), {"name": self.name.text().strip() or None}

    def done_message(self, result: Any) -> str:
        return f"Added {result.name}; establishments get it with the next bundle."


class TargetDialog(FormDialog):
    """Add a target (indicator, establishment or all, number, description) or edit one's number
    and description."""

    def __init__(self, ctx: Context, year: Any, establishments: list[plans.EstablishmentChoice],
                 target: plans.Target | None = None, parent: QWidget | None = None) -> None:
        title = "Edit target" if target else "Add target"
        super().__init__(ctx, title, f"{title} — {year.name}", "&Save target", parent)
        self.setObjectName("targetDialog")
        self.year, self.target = year, target
        self.indicator = QComboBox()
        for i in INDICATORS:
            self.indicator.addItem(i.label, i.code)
        self.add_row("&Indicator:", self.indicator, "code", "targetIndicator", "Indicator")
        self.indicator_help = QLabel()
        self.indicator_help.setWordWrap(True)
        self.indicator_help.setObjectName("indicatorHelp")
        self.grid.addWidget(self.indicator_help, self.grid.rowCount(), 1)
        self.establishment = QComboBox()
        self.establishment.addItem(plans.NATIONAL, None)
        for e in establishments:
            self.establishment.addItem(e.name, e.id)
        self.add_row("E&stablishment:", self.establishment, "establishment_id", "targetEstablishment",
                     "Establishment")
        self.value = QSpinBox()
        self.value.setGroupSeparatorShown(True)
        self.add_row("&Target:", self.value, "target_value", "targetValue", "Target")
        self.description = QPlainTextEdit()
        self.description.setTabChangesFocus(True)
        self.description.setPlaceholderText("In the strategy's words, e.g. Recovery Awareness Training for every "
                                            "new recruit cohort")
        lines = self.description.fontMetrics().lineSpacing()
        self.description.setMinimumHeight(lines * 3)
        self.description.setMaximumHeight(lines * 6)
        self.add_row("&Description:", self.description, "description", "targetDescription", "Description")
        self.indicator.currentIndexChanged.connect(self._indicator_changed)
        if target is not None:
            self.indicator.setCurrentIndex(max(0, self.indicator.findData(target.measures)))
            self.establishment.setCurrentIndex(max(0, self.establishment.findData(target.establishment_id)))
            self.indicator.setEnabled(False)  # another indicator or establishment: a new target
            self.establishment.setEnabled(False)
            self.description.setPlainText(target.description)
        self._indicator_changed()
        if target is not None and target.target_value is not None:
            self.value.setValue(target.target_value)
        self.finish_layout()
        if target is not None:
            self.value.setFocus()
            self.value.selectAll()
        self._dirty = False

    def _indicator_changed(self, *_: Any) -> None:
        indicator = INDICATOR_BY_CODE[self.indicator.currentData() or "sessions"]
        ratio = indicator.unit == "ratio"
        self.value.setRange(0, 100 if ratio else 10_000_000)
        self.value.setSuffix(" %" if ratio else "")
        if ratio and self.value.value() == 0 and self.target is None:
            self.value.setValue(100)
        self.indicator_help.setText(indicator.description + (" The target is a percentage." if ratio else ""))

    def problems(self) -> list[ValidationError]:
        if not self.description.toPlainText().strip():
            return [ValidationError("Say what the target is, in the strategy's words.", "description")]
        return []

    def work(self) -> tuple[Callable[..., Any], tuple, dict]:
        text = self.description.toPlainText()
        if self.target is not None:
            return plans.update_target, (self.ctx, self.target.id), {"description": text,
                                                                      "target_value": self.value.value()}
        return plans.add_target, (self.ctx, self.year.id), {
            "code": self.indicator.currentData(), "description": text, "target_value": self.value.value(),
            "establishment_id": self.establishment.currentData()}

    def done_message(self, result: Any) -> str:
        return f"Saved the target: {self.indicator.currentText()}."


class RemoveTargetDialog(ReasonedDialog):
    """Remove a target, saying why (the reason travels with the removal); asks once more."""

    def __init__(self, ctx: Context, target: plans.Target, parent: QWidget | None = None) -> None:
        super().__init__(ctx, "Remove target", f"Remove the target {target.label} ({target.establishment})",
                         "&Remove…", parent)
        self.setObjectName("removeTargetDialog")
        self.target = target
        about = QLabel(target.description)
        about.setWordWrap(True)
        about.setTextFormat(Qt.TextFormat.PlainText)
        self.layout_.insertWidget(1, about)
        self.reason = self.add_row("&Reason:", QLineEdit(), "reason", "removeReason", "Reason for removing")
        self.reason.setMaxLength(500)
        self.reason.setPlaceholderText("e.g. set twice; the Steering Group dropped it")
        self.finish_layout()

    missing_reason = "Say why the target is removed; the reason goes with it to every PC."

    def reason_text(self) -> str:
        return self.reason.text()

    def question(self) -> tuple[str, str, str, str, str]:
        return ("Remove the target?", f"Remove the target {self.target.label} ({self.target.establishment})?",
                "&Remove", "&Keep it", "Establishments lose it with the next bundle.")

    def work(self) -> tuple[Callable[..., Any], tuple, dict]:
        return plans.remove_target, (self.ctx, self.target.id, self.reason.text()), {}

    def done_message(self, result: Any) -> str:
        return f"Removed the target {self.target.label} ({self.target.establishment})."
