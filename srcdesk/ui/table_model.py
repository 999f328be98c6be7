"""Qt table models over the services' lists, loaded in the background.

:class:`PagedTableModel` shows a keyset-paged list (``search_people``, ``list_sessions``…): the
first page is fetched by :meth:`PagedTableModel.reload`, the next ones by Qt's ``fetchMore``
as the view scrolls. Every fetch runs as a background task; a reload made while an older one
is still running (one per keystroke of a search) makes the older result stale, and it is
dropped when it arrives. Nothing here touches the database on the UI thread.

Columns are declared once per view::

    COLUMNS = [
        Column("Name", lambda p: p.display_name),
        Column("Ref", lambda p: p.external_ref),
        Column("Sessions", lambda r: r.attended, align=RIGHT),
    ]
    model = PagedTableModel(COLUMNS)
    model.set_fetch(lambda after: search_people(ctx, text, after=after))

``fetch(after)`` returns a :class:`srcdesk.services.base.Page` (paged) or a plain list (the
whole list at once, for short lists such as users or programmes).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from PySide6.QtCore import (
    QAbstractTableModel,
    QEvent,
    QModelIndex,
    QObject,
    QPersistentModelIndex,
    QSettings,
    Qt,
    QTimer,
    Signal,
)
from PySide6.QtWidgets import QAbstractItemView, QApplication, QHeaderView, QStyle, QTableView

from ..dates import day_month_year
from ..services.base import Page as ServicePage
from .tasks import Task, run_task

LEFT = Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter
RIGHT = Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter
CENTRE = Qt.AlignmentFlag.AlignCenter

ROW_ROLE = Qt.ItemDataRole.UserRole + 1  # the row object itself
Index = QModelIndex | QPersistentModelIndex
Fetch = Callable[[tuple | None], "ServicePage[Any] | Sequence[Any]"]


@dataclass(frozen=True)
class Column:
    """One column: its header, how to show a row in it, and optionally a tooltip."""

    title: str
    value: Callable[[Any], Any]
    align: Qt.AlignmentFlag = LEFT
    tooltip: Callable[[Any], str | None] | None = None
    width_hint: int | None = None  # characters, for the view's default column width
    min_chars: int | None = None  # never narrower than this many characters (else: its title)


def display(value: Any) -> str:
    """How a value reads in a cell: dates as 27 Nov 2026, None as nothing, booleans as Yes/No."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "Yes" if value else "No"
    if hasattr(value, "strftime"):
        return day_month_year(value) if hasattr(value, "day") else str(value)
    return str(value)


class RowsTableModel(QAbstractTableModel):
    """A read-only table of row objects (frozen dataclasses from the services)."""

    # What the model is once Python's garbage collector has cleared its instance attributes while
    # Qt still holds it (a page torn down in a cycle, its view asking one last time): an empty
    # table, not an AttributeError raised into Qt's event loop (seen in CI, headerData).
    columns: Sequence[Column] = ()
    _rows: Sequence[Any] = ()

    def __init__(self, columns: Sequence[Column], parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.columns = list(columns)
        self._rows: list[Any] = []

    # -- Qt's interface ---------------------------------------------------------------------

    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: N802, B008
        return 0 if parent.isValid() else len(self._rows)

    def columnCount(self, parent: Index = QModelIndex()) -> int:  # noqa: N802, B008
        return 0 if parent.isValid() else len(self.columns)

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or index.row() >= len(self._rows) or index.column() >= len(self.columns):
            return None
        row = self._rows[index.row()]
        column = self.columns[index.column()]
        if role in (Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.AccessibleTextRole):
            return display(column.value(row))
        if role == Qt.ItemDataRole.TextAlignmentRole:
            return int(column.align.value)
        if role == Qt.ItemDataRole.ToolTipRole and column.tooltip is not None:
            return column.tooltip(row)
        if role == ROW_ROLE:
            return row
        return None

    def headerData(self, section: int, orientation: Qt.Orientation,  # noqa: N802
                   role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if orientation == Qt.Orientation.Horizontal and 0 <= section < len(self.columns):
            if role in (Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.AccessibleTextRole):
                return self.columns[section].title
            if role == Qt.ItemDataRole.TextAlignmentRole:
                return int(self.columns[section].align.value)
        return None

    def flags(self, index: Index) -> Qt.ItemFlag:
        if not index.isValid():
            return Qt.ItemFlag.NoItemFlags
        return Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable | Qt.ItemFlag.ItemNeverHasChildren

    # -- rows ---------------------------------------------------------------------------------

    @property
    def rows(self) -> list[Any]:
        return list(self._rows)

    def row(self, index: Index | int) -> Any:
        """The row object at a model index (or row number); None if out of range."""
        number = index if isinstance(index, int) else (index.row() if index.isValid() else -1)
        return self._rows[number] if 0 <= number < len(self._rows) else None

    def set_rows(self, rows: Sequence[Any]) -> None:
        self.beginResetModel()
        self._rows = list(rows)
        self.endResetModel()

    def find(self, predicate: Callable[[Any], bool]) -> int:
        """Row number of the first row matching ``predicate``, or -1."""
        return next((i for i, r in enumerate(self._rows) if predicate(r)), -1)


class PagedTableModel(RowsTableModel):
    """Rows fetched in the background, a page at a time, as the view needs them."""

    # As for the rows and columns: once cleared, nothing more to fetch and every arrival is stale.
    _fetch: Fetch | None = None
    _after: tuple | None = None
    _generation = -1
    _task: Task | None = None
    _loaded_once = False

    loaded = Signal()  # a fetch (first page or a further one) has been applied
    failed = Signal(object)  # a fetch raised; the exception (the rows are unchanged)

    def __init__(self, columns: Sequence[Column], fetch: Fetch | None = None,
                 parent: QObject | None = None) -> None:
        super().__init__(columns, parent)
        self._fetch = fetch
        self._after: tuple | None = None
        self._generation = 0
        self._task: Task | None = None
        self._loaded_once = False

    @property
    def loading(self) -> bool:
        return self._task is not None

    @property
    def loaded_once(self) -> bool:
        """True once the first page of the current fetch has arrived."""
        return self._loaded_once

    def set_fetch(self, fetch: Fetch) -> None:
        """Show a different list (a new search, new filters): fetch its first page."""
        self._fetch = fetch
        self.reload()

    def reload(self) -> None:
        """Fetch the first page again (after the data changed). Older fetches are dropped."""
        if self._fetch is None:
            return
        self._generation += 1
        self._loaded_once = False
        self._start(None, replace=True)

    def _start(self, after: tuple | None, *, replace: bool) -> None:
        generation = self._generation
        fetch = self._fetch
        assert fetch is not None
        self._task = run_task(fetch, after, owner=self, name="load a list",
                              on_result=lambda page: self._arrived(generation, page, replace),
                              on_error=lambda error: self._fetch_failed(generation, error))

    def _arrived(self, generation: int, page: Any, replace: bool) -> None:
        if generation != self._generation:
            return  # a newer reload is on its way
        self._task = None
        if isinstance(page, ServicePage):
            items, self._after = list(page.items), page.after
        else:
            items, self._after = list(page), None
        if replace:
            self.set_rows(items)
            self._loaded_once = True
        elif items:
            first = len(self._rows)
            self.beginInsertRows(QModelIndex(), first, first + len(items) - 1)
            self._rows.extend(items)
            self.endInsertRows()
        self.loaded.emit()

    def _fetch_failed(self, generation: int, error: BaseException) -> None:
        if generation != self._generation:
            return
        self._task = None
        self._after = None
        self.failed.emit(error)

    def canFetchMore(self, parent: Index) -> bool:  # noqa: N802
        return not parent.isValid() and self._after is not None and self._task is None

    def fetchMore(self, parent: Index) -> None:  # noqa: N802
        if self.canFetchMore(parent):
            self._start(self._after, replace=False)


READABLE_CHARS = 16  # a column squeezed for room keeps this much: "30 Oct 2026", "09:30–11:00"


class ColumnWidths(QObject):
    """The column widths of a table, the same way everywhere.

    - Every column is at least as wide as its title (or its ``Column.min_chars``), so none
      collapses to "D…"; one column (``stretch``, else the last) takes the room that is left,
      but never less than its own minimum: on a narrow screen the table scrolls sideways instead.
    - The other columns fit their contents when rows arrive, up to ``max_chars`` characters.
    - Widths the person sets by dragging a column's edge are remembered (QSettings, under
      ``columns/<view's object name>``) and used again, as the window layout is.
    """

    def __init__(self, view: QTableView, *, stretch: int | None = None, max_chars: int = 40,
                 settings: QSettings | None = None) -> None:
        super().__init__(view)
        self.view = view
        self.header = header = view.horizontalHeader()
        self.max_chars = max_chars
        self._stretch = stretch
        self._settings = settings
        self._busy = False
        self._remembered: dict[int, int] = {}
        self._preferred: dict[int, int] = {}
        header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        header.setStretchLastSection(False)
        header.setMinimumSectionSize(self._char() * 3)
        header.sectionResized.connect(self._resized)
        view.viewport().installEventFilter(self)
        model = view.model()
        if model is not None:
            model.modelReset.connect(self._rows_arrived)
            model.rowsInserted.connect(lambda *_: self._rows_arrived())
            model.layoutChanged.connect(self._rows_arrived)
        self._load()
        QTimer.singleShot(0, self, self.fit)

    # -- what the columns need ------------------------------------------------------------------

    def _char(self) -> int:
        return max(self.view.fontMetrics().averageCharWidth(), 1)

    @property
    def stretch(self) -> int:
        count = self.header.count()
        return self._stretch if self._stretch is not None and 0 <= self._stretch < count else count - 1

    def minimum(self, column: int) -> int:
        """The narrowest ``column`` may be: its title in full, or ``min_chars`` characters."""
        model = self.view.model()
        title = str(model.headerData(column, Qt.Orientation.Horizontal) or "") if model is not None else ""
        margin = 2 * self.header.style().pixelMetric(QStyle.PixelMetric.PM_HeaderMargin, None, self.header)
        width = self.header.fontMetrics().horizontalAdvance(title) + margin + self._char() * 2
        columns = getattr(model, "columns", ())
        chars = columns[column].min_chars if column < len(columns) else None
        return max(width, (chars or 0) * self._char())

    # -- fitting ------------------------------------------------------------------------------------

    def _rows_arrived(self) -> None:
        QTimer.singleShot(0, self, self.fit)

    def fit(self) -> None:
        """Columns fit their contents (capped at ``max_chars``) unless the person set their width;
        then :meth:`restretch` shares out the room."""
        model = self.view.model()
        if model is None or self._busy:
            return
        cap = self._char() * self.max_chars
        self._preferred = {}
        for column in range(model.columnCount()):
            if self.view.isColumnHidden(column):
                continue
            if column in self._remembered and column != self.stretch:
                width = self._remembered[column]
            else:
                width = min(max(self.view.sizeHintForColumn(column), self.header.sectionSizeHint(column)), cap)
            self._preferred[column] = max(width, self.minimum(column))
        self.restretch()

    def restretch(self) -> None:
        """Share the table's width: every column as it prefers when there is room, the stretching
        one taking the rest; when there isn't, the others give up room first (down to their
        minimum, not those set by hand), then the stretching one, down to its minimum."""
        if self._busy or self.header.count() == 0:
            return
        preferred = self._preferred
        column = self.stretch
        others = [c for c in preferred if c != column and not self.header.isSectionHidden(c)]
        wanted = preferred.get(column, self.minimum(column))
        room = self.view.viewport().width()
        widths = {c: preferred[c] for c in others}
        deficit = sum(widths.values()) + wanted - room
        # a column gives up room down to a readable width: all of a date, a time, a short name
        readable = READABLE_CHARS * self._char()
        give = {c: preferred[c] - max(self.minimum(c), min(preferred[c], readable))
                for c in others if c not in self._remembered}
        if deficit > 0 and sum(give.values()) > 0:
            share = min(1.0, deficit / sum(give.values()))
            for c, spare in give.items():
                widths[c] = preferred[c] - int(spare * share)
        widths[column] = max(room - sum(widths.values()), self.minimum(column))
        self._busy = True
        try:
            for c, width in widths.items():
                if self.header.sectionSize(c) != width:
                    self.header.resizeSection(c, width)
        finally:
            self._busy = False

    def _resized(self, column: int, _old: int, new: int) -> None:
        if self._busy:
            return
        if new < self.minimum(column):
            self._busy = True
            try:
                self.header.resizeSection(column, self.minimum(column))
            finally:
                self._busy = False
        by_hand = bool(QApplication.mouseButtons() & Qt.MouseButton.LeftButton)
        if by_hand and column != self.stretch:  # dragged by the person: remember it
            self._remembered[column] = max(new, self.minimum(column))
            self._save()
            self._preferred[column] = self._remembered[column]
        self.restretch()

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802
        if event.type() == QEvent.Type.Resize:
            self.restretch()
        return False

    # -- remembering --------------------------------------------------------------------------------

    @property
    def key(self) -> str:
        return f"columns/{self.view.objectName()}"

    def _store(self) -> QSettings | None:
        if not self.view.objectName():
            return None
        if self._settings is None:
            self._settings = QSettings()
        return self._settings

    def _load(self) -> None:
        store = self._store()
        value = store.value(self.key) if store is not None else None
        if isinstance(value, str) and value:
            try:
                pairs = (item.split(":") for item in value.split(","))
                self._remembered = {int(c): int(w) for c, w in pairs if int(w) > 0}
            except ValueError:
                self._remembered = {}

    def _save(self) -> None:
        store = self._store()
        if store is not None:
            store.setValue(self.key, ",".join(f"{c}:{w}" for c, w in sorted(self._remembered.items())))

    def forget(self) -> None:
        """Back to the widths that fit the contents."""
        self._remembered = {}
        store = self._store()
        if store is not None:
            store.remove(self.key)
        self.fit()


def column_widths(view: QTableView) -> ColumnWidths | None:
    """The :class:`ColumnWidths` looking after ``view``'s columns, if any."""
    return view.findChild(ColumnWidths)


def record_view(model: QAbstractTableModel, name: str, accessible: str, *, stretch: int | None = None,
                fit: bool = True, settings: QSettings | None = None) -> QTableView:
    """A read-only table of records: whole rows chosen one at a time, Tab leaves the table,
    columns sized by :class:`ColumnWidths` (fitted to their contents with ``fit``, never narrower
    than their titles, widths set by hand remembered) with column ``stretch`` (else the last)
    taking what is left."""
    view = QTableView()
    view.setObjectName(name)
    view.setAccessibleName(accessible)
    view.setModel(model)
    view.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
    view.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
    view.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
    view.setAlternatingRowColors(True)
    view.setTabKeyNavigation(False)
    view.setWordWrap(False)
    view.verticalHeader().hide()
    ColumnWidths(view, stretch=stretch, max_chars=40 if fit else 24, settings=settings)
    return view
