"""People: find anyone as you type, open their page, register someone new.

The list is a :class:`~srcdesk.ui.table_model.PagedTableModel` over
:func:`srcdesk.services.people.search_people` (keyset-paged, fetched in the background; one
fetch per keystroke, older ones dropped). Opening a person (Enter or double-click) shows their
page (:class:`srcdesk.ui.person_view.PersonView`) in place of the list; Back or Alt+Left
returns to the list where it was. Other pages open a person with :meth:`PeoplePage.show_person`.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QEvent, QItemSelectionModel, QModelIndex, QObject, Qt
from PySide6.QtGui import QKeyEvent, QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPushButton,
    QStackedWidget,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from ...errors import SrcdeskError
from ...models import PERSON_KINDS
from ...services.base import Context
from ...services.estate import establishments
from ...services.people import search_people
from ..errors import report_unexpected
from ..export import ExportButton
from ..person_dialog import PersonDialog
from ..person_view import PersonView
from ..table_model import Column, PagedTableModel
from ..tasks import run_task
from ..widgets import FieldError, StatusNote, filter_combo, heading
from . import Page

COLUMNS = [
    Column("Name", lambda p: p.display_name),
    Column("Reference", lambda p: p.external_ref),
    Column("Kind", lambda p: PERSON_KINDS.get(p.kind, p.kind)),
    Column("Establishment", lambda p: p.establishment_code),
    Column("Liberation date", lambda p: p.liberation_date),
]
PAGE_SIZE = 100


class PeoplePage(Page):
    key = "people"
    title = "People"
    needs = "person.read"
    topics = frozenset({"people", "attendance", "ladder"})

    def __init__(self, ctx: Context, parent: QWidget | None = None) -> None:
        super().__init__(ctx, parent)
        self.dialog: QWidget | None = None  # the last dialog opened from here

        # -- the list ---------------------------------------------------------------------------
        self.search = QLineEdit()
        self.search.setObjectName("searchField")
        self.search.setAccessibleName("Search people by name or reference")
        self.search.setPlaceholderText("Type a name or reference; ↓ moves into the list")
        self.search.setClearButtonEnabled(True)
        search_label = QLabel("&Find:")
        search_label.setBuddy(self.search)
        self.kind, kind_label = filter_combo("&Kind:", "kindFilter", "Show people of kind",
                                             [(name, code) for code, name in PERSON_KINDS.items()],
                                             everything="All kinds")
        self.establishment, establishment_label = filter_combo(
            "E&stablishment:", "establishmentFilter", "Show people at establishment", everything="All establishments")
        self.new_button = QPushButton("&New person…")
        self.new_button.setObjectName("newPersonButton")
        self.new_button.setAccessibleName("New person")
        self.new_button.setToolTip("Register a person (Ctrl+N)")
        self.new_button.clicked.connect(self.new_person)

        # Search on its own line, filters on the next: the page stays usable in a narrow window.
        filters = QVBoxLayout()
        search_row = QHBoxLayout()
        search_row.addWidget(search_label)
        search_row.addWidget(self.search, 1)
        search_row.addWidget(self.new_button)
        self.export_button = ExportButton(ctx, "people", self.filters, say=lambda m: self.status.say(m), parent=self)
        search_row.addWidget(self.export_button)
        filter_row = QHBoxLayout()
        filter_row.addWidget(kind_label)
        filter_row.addWidget(self.kind, 1)
        filter_row.addWidget(establishment_label)
        filter_row.addWidget(self.establishment, 1)
        if not ctx.installation.is_office:  # an establishment PC holds only its own people (and transfers)
            establishment_label.hide()
            self.establishment.hide()
            filter_row.addStretch(2)
        filters.addLayout(search_row)
        filters.addLayout(filter_row)

        self.model = PagedTableModel(COLUMNS, parent=self)
        self.table = QTableView()
        self.table.setObjectName("peopleTable")
        self.table.setAccessibleName("People")
        self.table.setModel(self.model)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setAlternatingRowColors(True)
        self.table.setTabKeyNavigation(False)
        self.table.setWordWrap(False)
        self.table.verticalHeader().hide()
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        self.table.horizontalHeader().setStretchLastSection(True)
        self.table.activated.connect(self._open_index)
        self.table.doubleClicked.connect(self._open_index)
        self.model.loaded.connect(self._list_loaded)
        self.model.failed.connect(self._list_failed)
        self._columns_fitted = False

        self.count = StatusNote()
        self.count.setObjectName("countNote")
        self.status = StatusNote()
        self.status.setObjectName("status")
        self.error = FieldError(self.table)
        self.error.setObjectName("listError")

        list_page = QWidget()
        list_page.setObjectName("peopleList")
        list_layout = QVBoxLayout(list_page)
        list_layout.setContentsMargins(0, 0, 0, 0)
        list_layout.addWidget(heading(self.title, scale=1.6))
        list_layout.addLayout(filters)
        list_layout.addWidget(self.status)
        list_layout.addWidget(self.error)
        list_layout.addWidget(self.table, 1)
        list_layout.addWidget(self.count)

        self.person_view = PersonView(ctx)
        self.person_view.backRequested.connect(self.show_list)
        self.person_view.personDeleted.connect(self._person_deleted)

        self.stack = QStackedWidget()
        self.stack.setObjectName("peopleStack")
        self.stack.addWidget(list_page)
        self.stack.addWidget(self.person_view)
        self.list_page = list_page

        layout = QVBoxLayout(self)
        layout.setContentsMargins(18, 18, 18, 18)
        layout.addWidget(self.stack)

        self.setTabOrder(self.search, self.kind)
        self.setTabOrder(self.kind, self.establishment)
        self.setTabOrder(self.establishment, self.new_button)
        self.setTabOrder(self.new_button, self.export_button)
        self.setTabOrder(self.export_button, self.table)

        new = QShortcut(QKeySequence.StandardKey.New, self)
        new.setContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
        new.activated.connect(self.new_person)
        self.search.textChanged.connect(self._search_changed)
        self.search.returnPressed.connect(self._open_current_or_first)
        self.search.installEventFilter(self)
        self.kind.currentIndexChanged.connect(self._search_changed)
        self.establishment.currentIndexChanged.connect(self._search_changed)
        self._establishments_loaded = False
        self.setFocusProxy(self.search)

    # -- loading ----------------------------------------------------------------------------------

    def refresh(self) -> None:
        """Reload the list (keeping the search) and the person being shown, if any."""
        if self.ctx.installation.is_office and not self._establishments_loaded:
            self._establishments_loaded = True
            run_task(establishments, self.ctx, include_closed=True, owner=self, name="load establishments",
                     on_result=self._fill_establishments, on_error=self._list_failed)
        self._reload_list()
        if self.stack.currentWidget() is self.person_view:
            self.person_view.reload()

    def _fill_establishments(self, rows: list[Any]) -> None:
        for est in rows:
            closed = " — closed" if est.closed else ""
            self.establishment.addItem(f"{est.name} ({est.code}){closed}", est.id)

    def filters(self) -> dict[str, Any]:
        """The list's filters as :func:`search_people` keyword arguments (``query``: the search)."""
        return {"query": self.search.text(), "kind": self.kind.currentData(),
                "establishment_id": self.establishment.currentData()}

    def _reload_list(self) -> None:
        query = self.search.text()
        kind = self.kind.currentData()
        establishment_id = self.establishment.currentData()
        ctx = self.ctx
        self.model.set_fetch(lambda after: search_people(ctx, query, kind=kind, establishment_id=establishment_id,
                                                         limit=PAGE_SIZE, after=after))

    def _search_changed(self, *args: object) -> None:
        self._reload_list()

    def _list_loaded(self) -> None:
        self.error.clear_error()
        rows = self.model.rowCount()
        more = self.model.canFetchMore(QModelIndex())
        searching = bool(self.search.text().strip()) or self.kind.currentData() or self.establishment.currentData()
        if rows == 0:
            self.count.say("No one matches." if searching else "No one is registered yet. Use New person to start.")
        elif more:
            self.count.say(f"Showing the first {rows} people; more appear as you scroll.")
        else:
            self.count.say(f"{rows} {'person' if rows == 1 else 'people'}.")
        if rows and not self._columns_fitted:
            self._columns_fitted = True
            self.table.resizeColumnsToContents()
        if rows and not self.table.selectionModel().hasSelection():
            self.table.selectionModel().setCurrentIndex(
                self.model.index(0, 0),
                QItemSelectionModel.SelectionFlag.ClearAndSelect | QItemSelectionModel.SelectionFlag.Rows)

    def _list_failed(self, error: BaseException) -> None:
        if isinstance(error, SrcdeskError):
            self.error.show_error(str(error))
        else:
            report_unexpected(error)

    # -- keyboard -----------------------------------------------------------------------------------

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802 - Qt's name
        if (watched is self.search and event.type() == QEvent.Type.KeyPress and isinstance(event, QKeyEvent)
                and event.key() in (Qt.Key.Key_Down, Qt.Key.Key_PageDown)):
            if self.model.rowCount():
                self.table.setFocus()
                index = self.table.currentIndex()
                if not index.isValid():
                    index = self.model.index(0, 0)
                self.table.selectionModel().setCurrentIndex(
                    index, QItemSelectionModel.SelectionFlag.ClearAndSelect | QItemSelectionModel.SelectionFlag.Rows)
                return True
        return super().eventFilter(watched, event)

    def _open_current_or_first(self) -> None:
        index = self.table.currentIndex()
        if not index.isValid() and self.model.rowCount():
            index = self.model.index(0, 0)
        if index.isValid():
            self._open_index(index)

    def _open_index(self, index: QModelIndex) -> None:
        row = self.model.row(index)
        if row is not None:
            self.show_person(row.id)

    # -- navigation ---------------------------------------------------------------------------------

    def show_person(self, person_id: str, message: str = "") -> None:
        """Show a person's page (from this list, or from another page)."""
        self.person_view.load(person_id, message)
        self.stack.setCurrentWidget(self.person_view)
        self.person_view.back_button.setFocus()

    def show_list(self) -> None:
        """Back to the list, where it was."""
        self.stack.setCurrentWidget(self.list_page)
        (self.table if self.model.rowCount() else self.search).setFocus()

    @property
    def showing_person(self) -> bool:
        return self.stack.currentWidget() is self.person_view

    def _person_deleted(self, person_id: str) -> None:
        self.show_list()
        self.status.say("The person was deleted; their record is kept, marked as deleted.")

    # -- registering ------------------------------------------------------------------------------

    def new_person(self) -> PersonDialog:
        dialog = PersonDialog(self.ctx, None, self)
        dialog.saved.connect(self._registered)
        self.dialog = dialog
        dialog.open()
        return dialog

    def _registered(self, record: Any) -> None:
        self.show_person(record.id, f"Registered {record.given_name} {record.family_name}.")
