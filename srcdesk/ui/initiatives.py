"""The Pathways page's Initiatives tab: the recovery initiatives in establishments (recovery cafés,
recovery communities, mutual-aid groups, pathways…) and, at the SRC office, the national map.

The list shows each initiative's type, status with its date, who runs it, its meeting pattern and
its next review (⚠ when overdue); the pane beside it the initiative in full and the sessions that
belong to it. Recorders add and edit their establishment's initiatives (the office: any
establishment's) and record their reviews; deleting one entered in error is a coordinator's, with
a reason. At the office, "National map" shows establishments × initiative types: how many of each
type are running, the gaps (none running) marked in colour and in words, and the earliest review
due; Enter on a cell lists that establishment's initiatives of that type. Everything is read and
written through :mod:`srcdesk.services.community` in the background.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QPersistentModelIndex, QSize, Qt, Signal
from PySide6.QtGui import QColor, QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QAbstractItemView,
    QButtonGroup,
    QComboBox,
    QFrame,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QRadioButton,
    QScrollArea,
    QSplitter,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from ..dates import DATE_HINT, day_month_year, numeric_date
from ..errors import ValidationError
from ..models import INITIATIVE_KINDS, INITIATIVE_RUNNERS, INITIATIVE_STATUSES
from ..services import community, estate
from ..services.base import Context
from ..services.community import InitiativeMap, InitiativeRow, MapRow
from .catalogue_dialogs import FormDialog, ReasonedDialog
from .table_model import CENTRE, RIGHT, Column, RowsTableModel, record_view
from .tasks import Task, run_task
from .widgets import StatusNote, describe_error, filter_combo, hidden_unless, open_one, push_button

OVERDUE = "⚠"
GAP_TEXT = "Gap"
# A gap on the map: a soft amber behind dark text (readable in a light or dark theme), and the
# word "gap" in the cell, so it is never told by colour alone.
GAP_BACKGROUND = QColor("#ffd9a0")
GAP_FOREGROUND = QColor("#4a2600")
LOADING = "Loading the initiatives…"
# The map's column titles, short so the whole estate fits a small screen (in full in the tooltips).
MAP_TITLES = {"recovery_cafe": "Café", "recovery_community": "Recovery community", "mutual_aid": "Mutual aid",
              "recovery_pathway": "Pathway", "peer_support": "Peer support", "other": "Other"}


def _next_review(r: InitiativeRow, today: dt.date | None = None) -> str:
    if r.review_due_on is None:
        return ""
    shown = day_month_year(r.review_due_on)
    return f"{OVERDUE} {shown}" if r.review_overdue(today) else shown


def list_columns(office: bool, today: Callable[[], dt.date | None]) -> list[Column]:
    columns = [
        Column("Name", lambda r: r.name, tooltip=lambda r: r.notes or None, min_chars=16),
        Column("Type", lambda r: r.kind_label),
        Column("Status", lambda r: r.status_with_date(), tooltip=lambda r: r.status_with_date()),
        Column("Run by", lambda r: r.run_by_label),
        Column("Meets", lambda r: r.meeting_pattern or "", tooltip=lambda r: r.meeting_pattern or None),
        Column("Next review", lambda r: _next_review(r, today()),
               tooltip=lambda r: "The review is overdue." if r.review_overdue(today()) else None),
        Column("Sessions", lambda r: r.sessions, align=RIGHT),
    ]
    if office:
        columns.insert(0, Column("Establishment", lambda r: estate.place_name(r.establishment_name),
                                 tooltip=lambda r: f"{r.establishment_name} ({r.establishment_code})"))
    return columns


SESSION_COLUMNS = [
    Column("Date", lambda s: s.date),
    Column("Session", lambda s: s.what + (" (cancelled)" if s.cancelled else ""), tooltip=lambda s: s.what),
    Column("Attended", lambda s: "" if s.cancelled else f"{s.attended} of {s.on_register}", align=RIGHT),
]


@dataclass(frozen=True)
class Loaded:
    """What the tab shows, read in the background in one go."""

    rows: list[InitiativeRow]
    establishments: list[Any]  # at the office: for the filter and the add dialog
    map: InitiativeMap | None  # at the office


def load(ctx: Context, establishment_id: str | None, status: str | None, kind: str | None,
         with_map: bool, today: dt.date | None = None) -> Loaded:
    rows = community.list_initiatives(ctx, establishment_id=establishment_id, status=status, kind=kind)
    office = ctx.installation.is_office
    return Loaded(rows, estate.establishments(ctx) if office else [],
                  community.initiative_map(ctx, today) if office and with_map else None)


# -- the national map --------------------------------------------------------------------------


class MapModel(QAbstractTableModel):
    """Establishments (rows) × initiative types (columns), then the earliest review due."""

    def __init__(self, parent: Any = None) -> None:
        super().__init__(parent)
        self.map: InitiativeMap | None = None

    @property
    def kinds(self) -> tuple[str, ...]:
        return self.map.kinds if self.map else tuple(INITIATIVE_KINDS)

    def set_map(self, m: InitiativeMap) -> None:
        self.beginResetModel()
        self.map = m
        self.endResetModel()

    def rowCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:  # noqa: N802, B008
        return 0 if parent.isValid() or self.map is None else len(self.map.rows)

    def columnCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:  # noqa: N802, B008
        return 0 if parent.isValid() else len(self.kinds) + 2

    def row(self, index: QModelIndex | int) -> MapRow | None:
        number = index if isinstance(index, int) else index.row()
        return self.map.rows[number] if self.map and 0 <= number < len(self.map.rows) else None

    def kind_at(self, column: int) -> str | None:
        return self.kinds[column - 1] if 1 <= column <= len(self.kinds) else None

    def headerData(self, section: int, orientation: Qt.Orientation,  # noqa: N802
                   role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if orientation != Qt.Orientation.Horizontal or role not in (Qt.ItemDataRole.DisplayRole,
                                                                     Qt.ItemDataRole.ToolTipRole):
            return None
        if section == 0:
            return "Establishment"
        kind = self.kind_at(section)
        if kind is not None:
            full = INITIATIVE_KINDS[kind]
            return MAP_TITLES.get(kind, full) if role == Qt.ItemDataRole.DisplayRole else f"{full}s running"
        if section == len(self.kinds) + 1:
            return "Review due" if role == Qt.ItemDataRole.DisplayRole else \
                "The earliest review due of its running and paused initiatives (⚠: overdue)"
        return None

    def data(self, index: QModelIndex | QPersistentModelIndex, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        r = self.row(index.row()) if index.isValid() else None
        if r is None:
            return None
        column = index.column()
        kind = self.kind_at(column)
        if kind is None:
            return self._edge(r, column, role)
        cell = r.cells[kind]
        if role in (Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.AccessibleTextRole):
            if cell.gap:
                shown = GAP_TEXT
            else:
                shown = str(len(cell.running)) if cell.running else ("–" if not cell.paused else "0")
            if cell.paused:
                shown += f" ({len(cell.paused)} paused)" if cell.gap else f" (+{len(cell.paused)} paused)"
            if role == Qt.ItemDataRole.AccessibleTextRole:
                return f"{INITIATIVE_KINDS[kind]} at {r.name}: {shown}"
            return shown
        if role == Qt.ItemDataRole.TextAlignmentRole:
            return int(CENTRE.value)
        if role == Qt.ItemDataRole.ToolTipRole:
            lines = [f"{INITIATIVE_KINDS[kind]} at {r.name}"]
            for label, names in (("Running", cell.running), ("Paused", cell.paused), ("Planned", cell.planned)):
                if names:
                    lines.append(f"{label}: " + "; ".join(names))
            if cell.gap:
                lines.append("A gap: no running initiative of this type.")
            lines.append("Enter lists them.")
            return "\n".join(lines)
        if cell.gap and role == Qt.ItemDataRole.BackgroundRole:
            return GAP_BACKGROUND
        if cell.gap and role == Qt.ItemDataRole.ForegroundRole:
            return GAP_FOREGROUND
        return None

    def _edge(self, r: MapRow, column: int, role: int) -> Any:
        if column == 0:
            if role in (Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.AccessibleTextRole):
                return estate.place_name(r.name)
            if role == Qt.ItemDataRole.ToolTipRole:
                gaps = ", ".join(INITIATIVE_KINDS[k].lower() for k in r.gaps)
                return f"{r.name} ({r.code})" + (f"\nGaps: {gaps}" if gaps else "\nNo gaps.")
            return None
        if role in (Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.AccessibleTextRole):
            if r.earliest_review_due is None:
                return "None set"
            shown = day_month_year(r.earliest_review_due)
            return f"{OVERDUE} {shown}" if r.overdue else shown  # (which are overdue: the tooltip)
        if role == Qt.ItemDataRole.ToolTipRole and r.overdue:
            return "Reviews overdue: " + "; ".join(r.overdue)
        if role == Qt.ItemDataRole.TextAlignmentRole:
            return int(RIGHT.value)
        return None

    def flags(self, index: QModelIndex | QPersistentModelIndex) -> Qt.ItemFlag:
        if not index.isValid():
            return Qt.ItemFlag.NoItemFlags
        return Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable | Qt.ItemFlag.ItemNeverHasChildren


# -- the tab ------------------------------------------------------------------------------------


def _shown_today() -> dt.date:
    """The date the app shows as today: the Today page's (tests and screenshots freeze it)."""
    from .pages import today as today_page

    return today_page.today()


class InitiativesView(QWidget):
    """The Initiatives tab: the list with its detail pane, and (at the office) the national map."""

    loaded = Signal()  # what was read has been shown (tests wait for it)
    sessions_loaded = Signal()

    def __init__(self, ctx: Context, parent: QWidget | None = None, *,
                 today: Callable[[], dt.date | None] | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("initiativesView")
        self.ctx = ctx
        self.office = ctx.installation.is_office
        self._today = today or _shown_today
        self.refusal = ctx.refusal("initiative.record")  # "" when this user may record and edit
        self.editable = not self.refusal
        self.delete_refusal = ctx.refusal("initiative.delete")
        self.snapshot: Loaded | None = None
        self._task: Task | None = None
        self._sessions_task: Task | None = None
        self._want_map = False
        self._chosen_id: str | None = None
        self._select_first = False
        self.dialog: Any = None

        # -- list or map (the office) ---------------------------------------------------------
        self.show_list = QRadioButton("&List")
        self.show_list.setObjectName("showListButton")
        self.show_map = QRadioButton("National &map")
        self.show_map.setObjectName("showMapButton")
        self.show_map.setToolTip("Establishments by type of initiative: the gaps and the reviews due "
                                 "(the year-1 mapping and review)")
        self.show_list.setChecked(True)
        group = QButtonGroup(self)
        group.addButton(self.show_list)
        group.addButton(self.show_map)
        self.show_map.toggled.connect(self._mode_changed)
        mode = QHBoxLayout()
        mode.addWidget(QLabel("Show:"))
        mode.addWidget(self.show_list)
        mode.addWidget(self.show_map)
        mode.addStretch(1)
        self.mode_row = QWidget()
        self.mode_row.setLayout(mode)
        mode.setContentsMargins(0, 0, 0, 0)
        hidden_unless(self.mode_row, self.office)

        # -- filters ------------------------------------------------------------------------------
        self.establishment_filter, est_label = filter_combo("&Establishment:", "initiativeEstablishmentFilter",
                                                            "Establishment", everything="All establishments")
        self.establishment_filter.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToContents)
        self.status_filter, status_label = filter_combo(
            "&Status:", "initiativeStatusFilter", "Status", [(v, k) for k, v in INITIATIVE_STATUSES.items()],
            everything="All statuses")
        self.kind_filter, kind_label = filter_combo(
            "T&ype:", "initiativeKindFilter", "Type of initiative", [(v, k) for k, v in INITIATIVE_KINDS.items()],
            everything="All types")
        for combo in (self.establishment_filter, self.status_filter, self.kind_filter):
            combo.activated.connect(lambda _i: self.refresh())
        filters = QHBoxLayout()
        if self.office:
            filters.addWidget(est_label)
            filters.addWidget(self.establishment_filter)
        else:
            self.establishment_filter.hide()
        for w in (status_label, self.status_filter, kind_label, self.kind_filter):
            filters.addWidget(w)
        filters.addStretch(1)

        self.read_only_note = QLabel(f"Read only. {self.refusal}" if self.refusal else "")
        self.read_only_note.setObjectName("readOnlyNote")
        self.read_only_note.setWordWrap(True)
        hidden_unless(self.read_only_note, bool(self.refusal))

        # -- the list -----------------------------------------------------------------------------
        self.model = RowsTableModel(list_columns(self.office, self.today), self)
        self.table = record_view(self.model, "initiativesTable", "Initiatives", stretch=1 if self.office else 0)
        lines = self.fontMetrics().lineSpacing()
        self.table.setMinimumHeight(lines * 6)
        self.table.selectionModel().selectionChanged.connect(self._selection_changed)
        self.table.activated.connect(lambda _i: self._edit() if self.editable else None)
        self.empty_note = QLabel()
        self.empty_note.setObjectName("initiativesEmpty")
        self.empty_note.setWordWrap(True)
        self.empty_note.hide()
        self.add_button = push_button("&Add initiative…", "addInitiativeButton", self._add)
        self.edit_button = push_button("E&dit…", "editInitiativeButton", self._edit,
                                       accessible="Edit the initiative")
        self.review_button = push_button("Record re&view…", "reviewInitiativeButton", self._review)
        self.delete_button = push_button("Dele&te…", "deleteInitiativeButton", self._delete,
                                         accessible="Delete the initiative")
        if self.delete_refusal:
            self.delete_button.setToolTip(self.delete_refusal)
            self.delete_button.setAccessibleDescription(self.delete_refusal)
        buttons = QHBoxLayout()
        for b in (self.add_button, self.edit_button, self.review_button):
            hidden_unless(b, self.editable)
            buttons.addWidget(b)
        buttons.addWidget(self.delete_button)
        buttons.addStretch(1)
        list_side = QWidget()
        ll = QVBoxLayout(list_side)
        ll.setContentsMargins(0, 0, 0, 0)
        ll.addWidget(self.table, 1)
        ll.addWidget(self.empty_note)
        ll.addLayout(buttons)

        # -- the detail pane ----------------------------------------------------------------------
        self.detail = QLabel("Choose an initiative to see it in full and the sessions that belong to it.")
        self.detail.setObjectName("initiativeDetail")
        self.detail.setWordWrap(True)
        self.detail.setTextFormat(Qt.TextFormat.RichText)
        self.detail.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.detail.setAlignment(Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignLeft)
        self.sessions_model = RowsTableModel(SESSION_COLUMNS, self)
        self.sessions_table = record_view(self.sessions_model, "initiativeSessionsTable",
                                          "Sessions that belong to the initiative", stretch=1)
        sessions_label = QLabel("Sessions that &belong to it (newest first):")
        sessions_label.setBuddy(self.sessions_table)
        sessions_label.setWordWrap(True)
        self.sessions_note = StatusNote()
        self.sessions_note.setObjectName("initiativeSessionsNote")
        # below the list (the list needs the width): the initiative in full, and its sessions
        detail_area = QScrollArea()
        detail_area.setObjectName("initiativeDetailArea")
        detail_area.setWidgetResizable(True)
        detail_area.setFrameShape(QFrame.Shape.NoFrame)
        detail_area.setWidget(self.detail)
        detail_area.setMinimumHeight(lines * 4)
        self.sessions_table.setMinimumHeight(lines * 4)
        sessions_side = QWidget()
        sl = QVBoxLayout(sessions_side)
        sl.setContentsMargins(0, 0, 0, 0)
        sl.addWidget(sessions_label)
        sl.addWidget(self.sessions_table, 1)
        sl.addWidget(self.sessions_note)
        detail_box = QGroupBox("The initiative")
        detail_box.setObjectName("initiativeDetailBox")
        dl = QHBoxLayout(detail_box)
        dl.addWidget(detail_area, 1)
        dl.addWidget(sessions_side, 1)

        split = QSplitter(Qt.Orientation.Vertical)
        split.setObjectName("initiativesSplitter")
        split.setChildrenCollapsible(False)
        split.addWidget(list_side)
        split.addWidget(detail_box)
        split.setStretchFactor(0, 3)
        split.setStretchFactor(1, 2)
        split.setSizes([lines * 14, lines * 12])

        list_page = QWidget()
        lp = QVBoxLayout(list_page)
        lp.setContentsMargins(0, 0, 0, 0)
        lp.addLayout(filters)
        lp.addWidget(self.read_only_note)
        lp.addWidget(split, 1)

        # -- the national map (the office) ------------------------------------------------------
        self.map_model = MapModel(self)
        self.map_table = record_view(self.map_model, "initiativeMapTable", "National map of initiatives",
                                     stretch=0, fit=False)
        self.map_table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectItems)
        self.map_table.activated.connect(self._map_cell_chosen)
        self.map_intro = QLabel("Running initiatives of each type in each establishment (the year-1 mapping "
                                "and review). A cell marked “Gap” (shaded) has none running; Enter on a cell "
                                "lists that establishment's initiatives of that type.")
        self.map_intro.setWordWrap(True)
        self.map_summary = QLabel()
        self.map_summary.setObjectName("mapSummary")
        self.map_summary.setWordWrap(True)
        self.list_these_button = push_button("List these i&nitiatives", "listTheseButton",
                                             lambda: self._map_cell_chosen(self.map_table.currentIndex()))
        map_buttons = QHBoxLayout()
        map_buttons.addWidget(self.map_summary, 1)
        map_buttons.addWidget(self.list_these_button)
        map_page = QWidget()
        mp = QVBoxLayout(map_page)
        mp.setContentsMargins(0, 0, 0, 0)
        mp.addWidget(self.map_intro)
        mp.addWidget(self.map_table, 1)
        mp.addLayout(map_buttons)

        self.stack = QStackedWidget()
        self.stack.addWidget(list_page)
        self.stack.addWidget(map_page)

        self.status = StatusNote()
        self.status.setObjectName("initiativesStatus")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 6, 6, 6)
        layout.addWidget(self.mode_row)
        layout.addWidget(self.stack, 1)
        layout.addWidget(self.status)

        delete = QShortcut(QKeySequence(QKeySequence.StandardKey.Delete), self.table)
        delete.setContext(Qt.ShortcutContext.WidgetShortcut)
        delete.activated.connect(self._delete)
        chain = [self.show_list, self.show_map, self.establishment_filter, self.status_filter, self.kind_filter,
                 self.table, self.add_button, self.edit_button, self.review_button, self.delete_button,
                 self.sessions_table, self.map_table, self.list_these_button]
        chain = [w for w in chain if w.window() is self.window()]  # (the establishment filter: the office only)
        for a, b in zip(chain, chain[1:], strict=False):
            QWidget.setTabOrder(a, b)
        self.setFocusProxy(self.table)
        self._selection_changed()

    def sizeHint(self) -> QSize:  # noqa: N802
        """No taller than it must be: the page's scroll area asks the page for its height at its
        width (its subtitle wraps), which adds up what every part would like; the tables take
        whatever room there is anyway, so on a small screen nothing scrolls that need not."""
        hint = super().sizeHint()
        return QSize(hint.width(), self.minimumSizeHint().height())

    def hasHeightForWidth(self) -> bool:  # noqa: N802
        """(Its wrapped lines, the status say, would otherwise make the page ask its height at its
        width again, adding up what every part would like: see :meth:`sizeHint`.)"""
        return False

    # -- loading -----------------------------------------------------------------------------

    def today(self) -> dt.date | None:
        return self._today()

    def refresh(self, *, quiet: bool = False) -> None:  # (quiet always: it says "Loading" only while empty)
        """Read the list (and at the office the map) again in the background."""
        if self._task is not None:
            self._task.discard()
        if self.snapshot is None:
            self.status.say(LOADING)
        self._task = run_task(load, self.ctx, self.establishment_filter.currentData(),
                              self.status_filter.currentData(), self.kind_filter.currentData(),
                              self.office, self.today(), owner=self, on_result=self._show,
                              on_error=self._failed, name="load the initiatives")

    def _failed(self, error: BaseException) -> None:
        self._task = None
        self.status.say(f"The initiatives could not be read: {describe_error(error)}")

    def _show(self, loaded: Loaded) -> None:
        self._task = None
        first = self.snapshot is None
        self.snapshot = loaded
        if self.status.text() == LOADING:
            self.status.say("")
        if first and self.office:
            for e in loaded.establishments:
                self.establishment_filter.addItem(e.name, e.id)
        chosen = self._chosen_id
        self.model.set_rows(loaded.rows)
        if loaded.rows:
            self.empty_note.hide()
        else:
            filtered = any(c.currentData() for c in (self.establishment_filter, self.status_filter, self.kind_filter))
            self.empty_note.setText("No initiatives match the filters." if filtered else
                                    "No initiatives recorded yet: add the recovery cafés, recovery communities, "
                                    "mutual-aid groups and pathways that run here.")
            self.empty_note.show()
        row = self.model.find(lambda r: r.id == chosen) if chosen else -1
        if self._select_first and loaded.rows:  # listed from a cell of the map: the first of them
            row = 0
        self._select_first = False
        if row >= 0:
            self.table.selectRow(row)
        self._selection_changed()
        if loaded.map is not None:
            self._show_map(loaded.map)
        self.loaded.emit()

    def _show_map(self, m: InitiativeMap) -> None:
        current = self.map_table.currentIndex()
        self.map_model.set_map(m)
        gaps, overdue = m.gap_count, sum(len(r.overdue) for r in m.rows)
        self.map_summary.setText(f"{len(m.rows)} establishments; {gaps} gap{'s' if gaps != 1 else ''}; "
                                 f"{overdue} review{'s' if overdue != 1 else ''} overdue.")
        if current.isValid():
            self.map_table.setCurrentIndex(self.map_model.index(current.row(), current.column()))

    # -- list or map ---------------------------------------------------------------------------

    def _mode_changed(self, map_on: bool) -> None:
        self.stack.setCurrentIndex(1 if map_on else 0)
        (self.map_table if map_on else self.table).setFocus()

    def _map_cell_chosen(self, index: QModelIndex) -> None:
        r = self.map_model.row(index.row()) if index.isValid() else None
        if r is None:
            return
        kind = self.map_model.kind_at(index.column())
        self.establishment_filter.setCurrentIndex(max(0, self.establishment_filter.findData(r.establishment_id)))
        self.kind_filter.setCurrentIndex(max(0, self.kind_filter.findData(kind)))
        self.status_filter.setCurrentIndex(0)
        self.show_list.setChecked(True)
        self._select_first = True
        self.refresh()

    # -- the chosen initiative -----------------------------------------------------------------

    def selected(self) -> InitiativeRow | None:
        rows = self.table.selectionModel().selectedRows() if self.table.selectionModel() else []
        return self.model.row(rows[0].row()) if rows else None

    def _selection_changed(self, *_: Any) -> None:
        r = self.selected()
        self.edit_button.setEnabled(r is not None)
        self.review_button.setEnabled(r is not None and r.status != "ended")
        self.delete_button.setEnabled(r is not None and not self.delete_refusal)
        if r is None:
            self._chosen_id = None
            self.detail.setText("Choose an initiative to see it in full and the sessions that belong to it.")
            self.sessions_model.set_rows([])
            self.sessions_note.say("")
            return
        self.detail.setText(describe(r, self.today()))
        self._load_sessions(r.id)
        self._chosen_id = r.id

    def _load_sessions(self, initiative_id: str) -> None:
        if self._sessions_task is not None:
            self._sessions_task.discard()
        self._sessions_task = run_task(community.initiative_sessions, self.ctx, initiative_id, owner=self,
                                       on_result=self._sessions_arrived, on_error=self._sessions_failed,
                                       name="load the initiative's sessions")

    def _sessions_arrived(self, page: Any) -> None:
        self._sessions_task = None
        self.sessions_model.set_rows(page.items)
        if not page.items:
            self.sessions_note.say("No sessions name this initiative yet: choose it as the session's "
                                   "initiative when recording one.")
        else:
            more = " (the newest 200)" if page.has_more else ""
            self.sessions_note.say(f"{len(page.items)} session{'s' if len(page.items) != 1 else ''}{more}.")
        self.sessions_loaded.emit()

    def _sessions_failed(self, error: BaseException) -> None:
        self._sessions_task = None
        self.sessions_note.say(f"Its sessions could not be read: {describe_error(error)}")

    # -- dialogs ---------------------------------------------------------------------------------

    def _open(self, dialog: Any) -> None:
        open_one(self, dialog, on_saved=self._saved, say=self.status.say)

    def _saved(self, result: Any) -> None:
        self._chosen_id = getattr(result, "id", self._chosen_id)
        self.refresh()

    def _add(self) -> None:
        if self.editable:
            places = self.snapshot.establishments if self.snapshot else []
            self._open(InitiativeDialog(self.ctx, None, places, self, today=self.today()))

    def _edit(self) -> None:
        r = self.selected()
        if self.editable and r is not None:
            self._open(InitiativeDialog(self.ctx, r, [], self, today=self.today()))

    def _review(self) -> None:
        r = self.selected()
        if self.editable and r is not None and r.status != "ended":
            self._open(ReviewDialog(self.ctx, r, self, today=self.today()))

    def _delete(self) -> None:
        r = self.selected()
        if r is None:
            return
        if self.delete_refusal:
            self.status.say(self.delete_refusal)
            return
        self._open(DeleteInitiativeDialog(self.ctx, r, self))


def _esc(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("\n", "<br>")


def describe(r: InitiativeRow, today: dt.date | None = None) -> str:
    """The detail pane's text (rich text, every value escaped)."""
    lines = [f"<b>{_esc(r.name)}</b>", f"{_esc(r.kind_label)} at {_esc(r.establishment_name)}",
             f"{_esc(r.status_with_date())}; run by {_esc(r.run_by_label)}"]
    if r.meeting_pattern:
        lines.append(f"Meets: {_esc(r.meeting_pattern)}")
    review = []
    if r.last_reviewed_on:
        review.append(f"last reviewed {day_month_year(r.last_reviewed_on)}")
    if r.review_due_on:
        due = f"next review due {day_month_year(r.review_due_on)}"
        review.append(f"<b>{OVERDUE} {due} (overdue)</b>" if r.review_overdue(today) else due)
    if review:
        lines.append("Review: " + "; ".join(review))
    elif r.status != "ended":
        lines.append("Not reviewed yet; no review date set.")
    if r.review_notes:
        lines.append(f"<i>The review found:</i> {_esc(r.review_notes)}")
    if r.notes:
        lines.append(f"<i>Notes:</i> {_esc(r.notes)}")
    return "<br>".join(lines)


# -- dialogs --------------------------------------------------------------------------------------


def _date_edit(day: dt.date | None) -> QLineEdit:
    edit = QLineEdit(numeric_date(day))
    edit.setPlaceholderText(DATE_HINT)
    edit.setMaxLength(20)
    return edit


class InitiativeDialog(FormDialog):
    """Add an initiative (at the office: choosing its establishment) or edit one."""

    def __init__(self, ctx: Context, initiative: InitiativeRow | None, establishments: list[Any],
                 parent: QWidget | None = None, *, today: dt.date | None = None) -> None:
        editing = initiative is not None
        title = "Edit initiative" if editing else "Add initiative"
        heading = f"Edit {initiative.name}" if initiative else "Add an initiative"
        super().__init__(ctx, title, heading, "Save &changes" if editing else "Add &initiative", parent)
        self.setObjectName("initiativeDialog")
        self.initiative = initiative
        self.today = today
        self.ask_establishment = not editing and ctx.installation.is_office
        self.establishment = QComboBox()
        if self.ask_establishment:
            self.establishment.setPlaceholderText("Choose the establishment…")
            for e in establishments:
                self.establishment.addItem(e.name, e.id)
            self.establishment.setCurrentIndex(-1)
            self.add_row("&Establishment:", self.establishment, "establishment_id", "initiativeEstablishment")
        self.name = self.add_row("&Name:", QLineEdit(initiative.name if initiative else ""), "name",
                                 "initiativeName")
        self.name.setPlaceholderText("e.g. Perth Recovery Café")
        self.name.setMaxLength(200)
        self.kind = self._combo(INITIATIVE_KINDS, initiative.kind if initiative else None)
        self.add_row("&Type:", self.kind, "kind", "initiativeKind", "Type of initiative")
        self.run_by = self._combo(INITIATIVE_RUNNERS, initiative.run_by if initiative else "sps")
        self.add_row("&Run by:", self.run_by, "run_by", "initiativeRunBy", "Who runs it")
        self.status_combo = self._combo(INITIATIVE_STATUSES, initiative.status if initiative else "running")
        self.add_row("&Status:", self.status_combo, "status", "initiativeStatus")
        self.started = self.add_row("St&arted on:", _date_edit(initiative.started_on if initiative else None),
                                    "started_on", "initiativeStarted", "Started on (planned: to start on)")
        self.ended = self.add_row("En&ded on:", _date_edit(initiative.ended_on if initiative else None),
                                  "ended_on", "initiativeEnded", "Ended on (only if it has ended)")
        self.hint = QLabel()  # what the dates of the chosen status are
        self.hint.setObjectName("initiativeDatesHint")
        self.hint.setWordWrap(True)
        self.hint.setForegroundRole(self.hint.foregroundRole().PlaceholderText)
        self.grid.addWidget(self.hint, self.grid.rowCount(), 1)
        self.meeting = self.add_row("&Meeting pattern:", QLineEdit(initiative.meeting_pattern or ""
                                                                  if initiative else ""),
                                    "meeting_pattern", "initiativeMeeting")
        self.meeting.setPlaceholderText("e.g. Tuesdays 14:00, weekly")
        self.meeting.setMaxLength(200)
        self.review_due = self.add_row("Next re&view due:",
                                       _date_edit(initiative.review_due_on if initiative else None),
                                       "review_due_on", "initiativeReviewDue", "Next review due")
        self.notes = QPlainTextEdit(initiative.notes or "" if initiative else "")
        self.notes.setTabChangesFocus(True)
        lines = self.notes.fontMetrics().lineSpacing()
        self.notes.setMinimumHeight(lines * 3)
        self.notes.setMaximumHeight(lines * 5)
        self.add_row("N&otes:", self.notes, "notes", "initiativeNotes")
        self.status_combo.currentIndexChanged.connect(self._status_changed)
        self._status_changed()
        self.finish_layout()
        self._dirty = False
        self._initial = self.values()

    @staticmethod
    def _combo(choices: dict[str, str], current: str | None) -> QComboBox:
        combo = QComboBox()
        for key, label in choices.items():
            combo.addItem(label, key)
        if current is not None:
            combo.setCurrentIndex(max(0, combo.findData(current)))
        else:
            combo.setCurrentIndex(-1)
            combo.setPlaceholderText("Choose…")
        return combo

    def _status_changed(self, *_: Any) -> None:
        status = self.status_combo.currentData()
        self.ended.setEnabled(status == "ended")
        self.hint.setText({
            "planned": "A planned initiative has not started: its start date, if known, is today or later.",
            "running": "Say when it started, if known.",
            "paused": "Say when it started; set it running again when it restarts.",
            "ended": "Say when it started and when it ended.",
        }.get(status, ""))

    def problems(self) -> list[ValidationError]:
        found = []
        if self.ask_establishment and self.establishment.currentData() is None:
            found.append(ValidationError("Choose the establishment the initiative is in.", "establishment_id"))
        if not self.name.text().strip():
            found.append(ValidationError("Give the initiative its name.", "name"))
        if self.kind.currentData() is None:
            found.append(ValidationError("Choose the type of initiative.", "kind"))
        return found

    def values(self) -> dict[str, Any]:
        status = self.status_combo.currentData()
        return {
            "name": self.name.text(), "kind": self.kind.currentData(), "run_by": self.run_by.currentData(),
            "status": status, "started_on": self.started.text().strip() or None,
            "ended_on": (self.ended.text().strip() or None) if status == "ended" else None,
            "meeting_pattern": self.meeting.text(), "review_due_on": self.review_due.text().strip() or None,
            "notes": self.notes.toPlainText(),
        }

    def work(self) -> tuple[Callable[..., Any], tuple, dict]:
        values = self.values()
        if self.initiative is not None:
            # only what was changed: a planned start that has since passed does not stop an edit of the notes
            changed = {k: v for k, v in values.items() if self._initial.get(k) != v}
            return community.update_initiative, (self.ctx, self.initiative.id), {**changed, "today": self.today}
        kwargs = {k: v for k, v in values.items() if k not in ("name", "kind")}
        return community.create_initiative, (self.ctx,), {
            "name": values["name"], "kind": values["kind"], "today": self.today,
            "establishment_id": self.establishment.currentData() if self.ask_establishment else None, **kwargs}

    def done_message(self, result: Any) -> str:
        return f"Saved {result.name}." if self.initiative else f"Added {result.name}."


class ReviewDialog(FormDialog):
    """Record the review of one initiative (the year-1 "mapping and review"): when, the next one, findings."""

    def __init__(self, ctx: Context, initiative: InitiativeRow, parent: QWidget | None = None, *,
                 today: dt.date | None = None) -> None:
        super().__init__(ctx, "Record review", f"Review of {initiative.name}", "Save re&view", parent)
        self.setObjectName("reviewDialog")
        self.initiative = initiative
        self.today = today
        day = today or dt.date.today()
        self.reviewed = self.add_row("&Reviewed on:", _date_edit(day), "last_reviewed_on", "reviewedOn")
        self.next_due = self.add_row("&Next review due:", _date_edit(day.replace(year=day.year + 1)
                                                                      if not (day.month == 2 and day.day == 29)
                                                                      else day + dt.timedelta(days=365)),
                                     "review_due_on", "reviewNextDue")
        self.findings = QPlainTextEdit()
        self.findings.setTabChangesFocus(True)
        self.findings.setPlaceholderText("e.g. Well attended; peer volunteers now lead it; needs a room "
                                         "after the refurbishment")
        lines = self.findings.fontMetrics().lineSpacing()
        self.findings.setMinimumHeight(lines * 4)
        self.add_row("&What the review found:", self.findings, "review_notes", "reviewFindings")
        if initiative.last_reviewed_on:
            found = f" It found: {initiative.review_notes}" if initiative.review_notes else ""
            last = QLabel(f"Last reviewed {day_month_year(initiative.last_reviewed_on)}.{found}")
            last.setTextFormat(Qt.TextFormat.PlainText)
            last.setWordWrap(True)
            self.layout_.insertWidget(1, last)
        self.finish_layout()
        self._dirty = False

    def work(self) -> tuple[Callable[..., Any], tuple, dict]:
        return community.record_review, (self.ctx, self.initiative.id, self.reviewed.text().strip(),
                                         self.next_due.text().strip() or None, self.findings.toPlainText()), \
            {"today": self.today}

    def done_message(self, result: Any) -> str:
        return f"Recorded the review of {self.initiative.name}."


class DeleteInitiativeDialog(ReasonedDialog):
    """Delete an initiative entered in error, saying why; asks once more."""

    missing_reason = "Say why the initiative is deleted; the reason goes with it to every PC."

    def __init__(self, ctx: Context, initiative: InitiativeRow, parent: QWidget | None = None) -> None:
        super().__init__(ctx, "Delete initiative", f"Delete {initiative.name}", "&Delete…", parent)
        self.setObjectName("deleteInitiativeDialog")
        self.initiative = initiative
        about = QLabel("Only for an initiative entered in error: one that has stopped is set to Ended "
                       "instead (Edit…). Its sessions stay, no longer naming it.")
        about.setWordWrap(True)
        self.layout_.insertWidget(1, about)
        self.reason = self.add_row("&Reason:", QLineEdit(), "reason", "deleteReason", "Reason for deleting")
        self.reason.setMaxLength(500)
        self.reason.setPlaceholderText("e.g. entered twice")
        self.finish_layout()

    def reason_text(self) -> str:
        return self.reason.text()

    def question(self) -> tuple[str, str, str, str, str]:
        return ("Delete the initiative?", f"Delete {self.initiative.name} ({self.initiative.establishment_name})?",
                "&Delete", "&Keep it", "Every PC loses it with the next bundles.")

    def work(self) -> tuple[Callable[..., Any], tuple, dict]:
        return community.delete_initiative, (self.ctx, self.initiative.id, self.reason.text()), {}

    def done_message(self, result: Any) -> str:
        return f"Deleted {self.initiative.name}."
