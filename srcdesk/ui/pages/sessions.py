"""Sessions: find sessions by date, programme, module, activity, facilitator or words; record,
edit and cancel them; open a session's register."""

from __future__ import annotations

import datetime as dt
from typing import Any

from PySide6.QtCore import QDate, QModelIndex, Qt, QTimer, Signal
from PySide6.QtGui import QKeySequence, QShortcut, QStandardItemModel
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QComboBox,
    QDateEdit,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from ...dates import QT_DATE_FORMAT
from ...services import sessions as session_service
from ...services.base import Context
from ...words import noun_for
from ..export import ExportButton
from ..session_dialog import (
    KIND_ROLE,
    CancelSessionDialog,
    IndentDelegate,
    SessionDialog,
    fill_what_model,
    find_kind,
    load_catalogue,
    pydate,
    qdate,
)
from ..table_model import CENTRE, RIGHT, Column, ColumnWidths, PagedTableModel
from ..tasks import run_task
from ..widgets import FieldError, StatusNote, describe_error, heading, push_button
from . import Page
from . import today as today_page
from .today import CancelledLook, open_register, status_text, time_span

SEARCH_DELAY_MS = 150
PAGE_SIZE = 100
ANY_DATE = QDate(2000, 1, 1)  # the dates' minimum, shown as "Any"
DEFAULT_MONTHS = 3


class OptionalDateEdit(QDateEdit):
    """A date that may be "Any" (its minimum). Tabbing into "Any" offers today's date to type
    over (without changing the filter); leaving it untouched goes back to "Any"."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._offered: QDate | None = None
        self.dateChanged.connect(self._edited)

    def is_any(self) -> bool:
        return self.date() == ANY_DATE or self._offered is not None

    def _edited(self, _date: QDate) -> None:
        self._offered = None

    def focusInEvent(self, event) -> None:  # noqa: ANN001, N802
        if self.date() == ANY_DATE:
            offered = qdate(today_page.today())
            self.blockSignals(True)
            self.setDate(offered)
            self.blockSignals(False)
            self._offered = offered
        super().focusInEvent(event)
        if self._offered is not None:
            self.setSelectedSection(self.sectionAt(0))

    def focusOutEvent(self, event) -> None:  # noqa: ANN001, N802
        super().focusOutEvent(event)
        if self._offered is not None and self.date() == self._offered:
            self.blockSignals(True)
            self.setDate(ANY_DATE)
            self.blockSignals(False)
        self._offered = None


class SessionsModel(CancelledLook, PagedTableModel):
    """The sessions list, paged in the background."""


def months_before(day: dt.date, months: int) -> dt.date:
    month = day.month - months
    year = day.year + (month - 1) // 12
    month = (month - 1) % 12 + 1
    last = [31, 29 if year % 4 == 0 and (year % 100 or year % 400 == 0) else 28, 31, 30, 31, 30,
            31, 31, 30, 31, 30, 31][month - 1]
    return dt.date(year, month, min(day.day, last))


def _load_filters(ctx: Context, establishment_id: str | None) -> tuple[Any, list[Any]]:
    return (load_catalogue(ctx, include_retired=True),
            session_service.list_facilitators(ctx, establishment_id=establishment_id, limit=500))


class SessionsPage(Page):
    key = "sessions"
    title = "Sessions"
    topics = frozenset({"sessions", "attendance", "catalogue"})

    registerRequested = Signal(str)  # session id: take its register

    def __init__(self, ctx: Context, parent: QWidget | None = None) -> None:
        super().__init__(ctx, parent)
        self.office = ctx.installation.is_office
        self.establishment_id = ctx.installation.establishment_id
        self._filters_loaded = False

        # -- filters ---------------------------------------------------------------------------
        self.date_from = self._date_edit("dateFrom", "From date")
        self.date_to = self._date_edit("dateTo", "To date")
        self.date_from.setDate(qdate(months_before(today_page.today(), DEFAULT_MONTHS)))
        self.date_to.setDate(ANY_DATE)

        self.what_model = QStandardItemModel(self)
        self.what = QComboBox()
        self.what.setObjectName("whatFilter")
        self.what.setAccessibleName("Programme, module or activity")
        self.what.setModel(self.what_model)
        self.what.setItemDelegate(IndentDelegate(self.what))
        self.what.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.what.setMinimumContentsLength(24)
        self.what.setPlaceholderText("Loading…")

        self.facilitator = QComboBox()
        self.facilitator.setObjectName("facilitatorFilter")
        self.facilitator.setAccessibleName("Facilitator")
        self.facilitator.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.facilitator.setMinimumContentsLength(18)
        self.facilitator.addItem("Anyone", None)

        self.show_cancelled = QCheckBox("Show &cancelled")
        self.show_cancelled.setObjectName("showCancelled")
        self.show_cancelled.setAccessibleName("Show cancelled sessions")
        self.show_cancelled.setChecked(True)

        self.search = QLineEdit()
        self.search.setObjectName("search")
        self.search.setAccessibleName("Search sessions")
        self.search.setPlaceholderText("Words in the session, location or notes")
        self.search.setClearButtonEnabled(True)

        self.clear_button = QPushButton("C&lear filters")
        self.clear_button.setObjectName("clearFilters")
        self.clear_button.setAccessibleName("Clear the filters")
        self.clear_button.setAutoDefault(False)

        # Two pairs a row, so the page stays usable in a narrow window (200 % scaling).
        filters = QGridLayout()
        entries = [("&From:", self.date_from), ("&To:", self.date_to), ("&What:", self.what),
                   ("F&acilitator:", self.facilitator)]
        for n, (text, field) in enumerate(entries):
            label = QLabel(text)
            label.setBuddy(field)
            filters.addWidget(label, n // 2, 2 * (n % 2))
            filters.addWidget(field, n // 2, 2 * (n % 2) + 1)
        for combo in (self.what, self.facilitator):
            combo.setSizeAdjustPolicy(combo.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
            combo.setMinimumContentsLength(16)
        search_label = QLabel("&Search:")
        search_label.setBuddy(self.search)
        filters.addWidget(search_label, 2, 0)
        filters.addWidget(self.search, 2, 1)
        extra = QHBoxLayout()
        extra.addWidget(self.show_cancelled)
        extra.addStretch(1)
        extra.addWidget(self.clear_button)
        filters.addLayout(extra, 2, 2, 1, 2)
        filters.setColumnStretch(1, 1)
        filters.setColumnStretch(3, 1)

        # -- the list --------------------------------------------------------------------------
        columns = [Column("Date", lambda r: r.date), Column("Time", time_span)]
        if self.office:
            columns.append(Column("Establishment", lambda r: r.establishment_code))
        columns += [
            Column("Session", lambda r: r.what, min_chars=24),
            Column("Location", lambda r: r.location),
            Column("Facilitators", lambda r: r.facilitators),
            Column("Present", lambda r: r.attended, align=RIGHT),
            Column("On register", lambda r: r.on_register, align=RIGHT),
            Column("Status", status_text, align=CENTRE),
        ]
        self.what_column = 3 if self.office else 2
        self.model = SessionsModel(columns, parent=self)
        self.table = QTableView()
        self.table.setObjectName("sessionsTable")
        self.table.setAccessibleName("Sessions")
        self.table.setModel(self.model)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setAlternatingRowColors(True)
        self.table.setWordWrap(False)
        self.table.verticalHeader().hide()
        self.table.horizontalHeader().setHighlightSections(False)
        # the session's name takes the room left, never less than 24 characters (else the table scrolls)
        self.column_widths = ColumnWidths(self.table, stretch=self.what_column)
        self.table.activated.connect(self._activated)
        self.table.selectionModel().currentRowChanged.connect(lambda *_: self._update_buttons())
        self.model.loaded.connect(self._loaded)
        self.model.failed.connect(self._failed)
        self.model.modelReset.connect(self._update_buttons)

        # -- actions ---------------------------------------------------------------------------
        self.new_button = push_button("&New session…", "newSession", accessible="New session")
        self.edit_button = push_button("&Edit…", "editSession", accessible="Edit the selected session")
        self.cancel_button = push_button("Cancel sess&ion…", "cancelSession", accessible="Cancel the selected session")
        self.register_button = push_button("Take the &register", "takeRegister",
                                           accessible="Take the register of the selected session")
        self.new_button.clicked.connect(self.new_session)
        self.edit_button.clicked.connect(self.edit_session)
        self.cancel_button.clicked.connect(self.cancel_session)
        self.register_button.clicked.connect(self.take_register)
        self.registerRequested.connect(self._open_register)
        shortcut = QShortcut(QKeySequence.StandardKey.New, self)
        shortcut.setContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
        shortcut.activated.connect(self.new_session)

        self.count = QLabel()
        self.count.setObjectName("count")
        self.error = FieldError(self.table)
        self.error.setObjectName("listError")
        self.status = StatusNote()
        self.status.setObjectName("status")

        self.export_button = ExportButton(ctx, "sessions", self.filters, say=self.status.say, parent=self)
        actions = QHBoxLayout()
        for button in (self.new_button, self.edit_button, self.cancel_button, self.register_button, self.export_button):
            actions.addWidget(button)
        actions.addStretch(1)
        actions.addWidget(self.count)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(18, 18, 18, 18)
        layout.addWidget(heading(self.title, scale=1.6))
        layout.addLayout(filters)
        layout.addWidget(self.table, 1)
        layout.addWidget(self.error)
        layout.addLayout(actions)
        layout.addWidget(self.status)

        chain = [self.date_from, self.date_to, self.what, self.facilitator, self.search, self.show_cancelled,
                 self.clear_button, self.table, self.new_button, self.edit_button, self.cancel_button,
                 self.register_button, self.export_button]
        for first, second in zip(chain, chain[1:], strict=False):
            QWidget.setTabOrder(first, second)

        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(SEARCH_DELAY_MS)
        self._timer.timeout.connect(self.reload)
        self.search.textChanged.connect(lambda _t: self._timer.start())
        self.date_from.dateChanged.connect(lambda _d: self._timer.start())
        self.date_to.dateChanged.connect(lambda _d: self._timer.start())
        self.what.currentIndexChanged.connect(lambda _i: self._filter_now())
        self.facilitator.currentIndexChanged.connect(lambda _i: self._filter_now())
        self.show_cancelled.toggled.connect(lambda _b: self._filter_now())
        self.clear_button.clicked.connect(self.clear_filters)
        self._update_buttons()

    # -- building ------------------------------------------------------------------------------

    @staticmethod
    def _date_edit(name: str, accessible: str) -> OptionalDateEdit:
        edit = OptionalDateEdit()
        edit.setObjectName(name)
        edit.setAccessibleName(accessible)
        edit.setDisplayFormat(QT_DATE_FORMAT)
        edit.setCalendarPopup(True)
        edit.setMinimumDate(ANY_DATE)
        edit.setSpecialValueText("Any")
        return edit

    # -- filters ---------------------------------------------------------------------------------

    def filters(self) -> dict[str, Any]:
        """The list's filters as :func:`list_sessions` keyword arguments."""
        kind = self.what.currentData(KIND_ROLE) if self.what.currentIndex() >= 0 else None
        values: dict[str, Any] = {
            "establishment_id": self.establishment_id,
            "date_from": None if self.date_from.is_any() else pydate(self.date_from.date()),
            "date_to": None if self.date_to.is_any() else pydate(self.date_to.date()),
            "facilitator_id": self.facilitator.currentData(),
            "search": self.search.text().strip(),
            "include_cancelled": self.show_cancelled.isChecked(),
        }
        if kind:
            values[{"programme": "programme_id", "module": "module_id", "activity": "activity_type_id"}[kind[0]]] = kind[1]
        return values

    def _filter_now(self) -> None:
        if self._filters_loaded:
            self._timer.stop()
            self.reload()

    def clear_filters(self) -> None:
        self._filters_loaded, was = False, self._filters_loaded
        self.date_from.setDate(ANY_DATE)
        self.date_to.setDate(ANY_DATE)
        self.what.setCurrentIndex(0 if self.what.count() else -1)
        self.facilitator.setCurrentIndex(0)
        self.show_cancelled.setChecked(True)
        self.search.clear()
        self._filters_loaded = was
        self._timer.stop()
        self.reload()

    def showEvent(self, event) -> None:  # noqa: ANN001, N802
        super().showEvent(event)
        if not self._shown_once:  # start where people usually start: typing what they look for
            self._shown_once = True
            self.search.setFocus()

    _shown_once = False

    _filters_stale = True  # the programme/module/facilitator choices need (re)loading

    def _data_changed(self, topics: frozenset[str]) -> None:
        if topics & {"catalogue", "sessions", "people"}:  # what the filter choices are made of
            self._filters_stale = True
        super()._data_changed(topics)

    def refresh(self) -> None:
        """The list first (what the person is waiting for), then the filters' choices if they
        may have changed: one after the other, so they don't compete for the interpreter."""
        self.reload()
        if self._filters_stale:
            self._filters_stale = False
            self._load_filters_after_list = True

    _load_filters_after_list = False

    def _load_filters(self) -> None:
        self._load_filters_after_list = False
        run_task(_load_filters, self.ctx, self.establishment_id, owner=self, name="load the sessions filters",
                 on_result=self._filters_arrived, on_error=self._failed)

    def _filters_arrived(self, loaded: tuple[Any, list[Any]]) -> None:
        cat, facilitators = loaded
        kind = self.what.currentData(KIND_ROLE) if self.what.currentIndex() >= 0 else None
        person = self.facilitator.currentData()
        self._filters_loaded = False
        fill_what_model(self.what_model, cat, for_filter=True)
        self.what.setCurrentIndex(max(0, find_kind(self.what_model, kind)))
        self.facilitator.clear()
        self.facilitator.addItem("Anyone", None)
        for p in facilitators:
            self.facilitator.addItem(p.display_name, p.id)
        self.facilitator.setCurrentIndex(max(0, self.facilitator.findData(person)))
        self._filters_loaded = True
        changed = (kind != (self.what.currentData(KIND_ROLE) if self.what.currentIndex() >= 0 else None)
                   or person != self.facilitator.currentData())
        if changed:
            self.reload()

    def reload(self) -> None:
        try:
            filters = self.filters()
        except Exception as error:  # noqa: BLE001 - shown like any other failure
            self._failed(error)
            return
        ctx = self.ctx
        self.count.setText("Loading…")
        self.model.set_fetch(lambda after: session_service.list_sessions(ctx, **filters, limit=PAGE_SIZE,
                                                                           after=after))

    def _loaded(self) -> None:
        if self._load_filters_after_list:
            self._load_filters()
        self.error.clear_error()
        n = self.model.rowCount()
        more = self.model.canFetchMore(QModelIndex())
        if n == 0:
            self.count.setText("No sessions match.")
        else:
            self.count.setText(f"{n}{'+' if more else ''} {noun_for(n if not more else 2, 'session')}")
        if n and not self.table.currentIndex().isValid():
            self.table.setCurrentIndex(self.model.index(0, 0))
        self._update_buttons()


    def _failed(self, error: BaseException) -> None:
        if self._load_filters_after_list:
            self._load_filters()
        self.count.setText("")
        self.error.show_error(describe_error(error))

    # -- actions ------------------------------------------------------------------------------------

    def selected(self) -> Any | None:
        index = self.table.currentIndex()
        return self.model.row(index.row()) if index.isValid() else None

    def _update_buttons(self) -> None:
        row = self.selected()
        self.edit_button.setEnabled(row is not None)
        self.register_button.setEnabled(row is not None)
        self.cancel_button.setEnabled(row is not None and not row.cancelled)

    def new_session(self) -> SessionDialog:
        dialog = SessionDialog(self.ctx, None, self)
        dialog.saved.connect(lambda record: self._saved(dialog, record, "Recorded"))
        self.session_dialog = dialog
        dialog.show()
        return dialog

    def edit_session(self) -> SessionDialog | None:
        row = self.selected()
        if row is None:
            return None
        dialog = SessionDialog(self.ctx, row.id, self)
        dialog.saved.connect(lambda record: self._saved(dialog, record, "Saved"))
        self.session_dialog = dialog
        dialog.show()
        return dialog

    def _saved(self, dialog: SessionDialog, record: Any, verb: str) -> None:
        outcome = dialog.outcome
        when = f"{record.date.day} {record.date:%b %Y} at {record.start_time}"
        if record.cancelled and verb == "Saved":
            self.status.say(f"Cancelled the session on {when}.")
            return
        message = f"{verb} the session on {when}."
        if outcome is not None and outcome.repeats:
            last = outcome.repeats[-1].date
            message += f" Also recorded it every week until {last.day} {last:%b %Y} ({len(outcome.repeats)} more)."
        self.status.say(message)

    def cancel_session(self) -> CancelSessionDialog | None:
        row = self.selected()
        if row is None or row.cancelled:
            return None
        dialog = CancelSessionDialog(self.ctx, row.id, f"{row.what} on {row.date.day} {row.date:%b %Y} at "
                                     f"{row.start_time}", self)
        dialog.cancelled.connect(
            lambda record: self.status.say(f"Cancelled the session on {record.date.day} {record.date:%b %Y}.")
        )
        self.cancel_dialog = dialog
        dialog.show()
        return dialog

    def take_register(self) -> None:
        row = self.selected()
        if row is not None:
            self.registerRequested.emit(row.id)

    def _activated(self, index: QModelIndex) -> None:
        row = self.model.row(index)
        if row is not None:
            self.registerRequested.emit(row.id)

    def _open_register(self, session_id: str) -> None:
        self.register_dialog = open_register(self, self.ctx, session_id, self.status)
