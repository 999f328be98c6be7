"""Small view helpers the Sync page's tabs and dialogs share: colours that stay readable, tables
whose rows may be coloured, column fitting, notes."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from PySide6.QtCore import QItemSelectionModel, Qt
from PySide6.QtGui import QColor, QFont, QFontDatabase, QPalette
from PySide6.QtWidgets import QHeaderView, QLabel, QTableView, QWidget

from ..table_model import Column, PagedTableModel, RowsTableModel


def warning_colour(widget: QWidget) -> str:
    """Amber that stays readable (WCAG AA) on the window background, light or dark."""
    dark = widget.palette().color(QPalette.ColorRole.Window).lightness() < 128
    return "#ffcc80" if dark else "#8a4500"


def error_colour(widget: QWidget) -> str:
    dark = widget.palette().color(QPalette.ColorRole.Window).lightness() < 128
    return "#ff8a80" if dark else "#a4000f"


def monospace_font(widget: QWidget, scale: float = 1.0) -> QFont:
    font = QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont)
    base = widget.font().pointSizeF()
    if base > 0:
        font.setPointSizeF(base * scale)
    return font


class _Coloured:
    """Rows drawn in the colour ``colour(row)`` names (None: the usual colour)."""

    _colour: Callable[[Any], str | None]

    def data(self, index: Any, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if role == Qt.ItemDataRole.ForegroundRole and index.isValid():
            row = self.row(index)  # type: ignore[attr-defined]
            colour = self._colour(row) if row is not None else None
            return QColor(colour) if colour else None
        return super().data(index, role)  # type: ignore[misc]


class ColouredModel(_Coloured, RowsTableModel):
    """A table whose rows may be drawn in a colour (a refusal, a missing bundle, a held record)."""

    def __init__(self, columns: Sequence[Column], colour: Callable[[Any], str | None], parent: Any = None) -> None:
        super().__init__(columns, parent)
        self._colour = colour


class ColouredPagedModel(_Coloured, PagedTableModel):
    """A list loaded in the background whose rows may be drawn in a colour."""

    def __init__(self, columns: Sequence[Column], colour: Callable[[Any], str | None], parent: Any = None) -> None:
        super().__init__(columns, parent=parent)
        self._colour = colour


def fit_columns(view: QTableView, max_chars: int = 40) -> None:
    """Columns as wide as their contents, none wider than ``max_chars`` characters; the last
    column takes what is left."""
    header = view.horizontalHeader()
    header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
    header.setStretchLastSection(True)
    cap = view.fontMetrics().averageCharWidth() * max_chars
    model = view.model()
    for column in range(model.columnCount() - 1):
        view.resizeColumnToContents(column)
        if view.columnWidth(column) > cap:
            view.setColumnWidth(column, cap)


def select_first(view: QTableView) -> None:
    model = view.model()
    if model.rowCount() and not view.currentIndex().isValid():
        view.selectionModel().setCurrentIndex(
            model.index(0, 0), QItemSelectionModel.SelectionFlag.ClearAndSelect | QItemSelectionModel.SelectionFlag.Rows)


def note(text: str, name: str = "") -> QLabel:
    """A paragraph of plain text that wraps."""
    label = QLabel(text)
    label.setWordWrap(True)
    label.setTextFormat(Qt.TextFormat.PlainText)
    if name:
        label.setObjectName(name)
    return label
