""""Export…" for every list: one button and one dialog (XLSX or CSV, where), the list's filters.

A page adds the button beside its other actions::

    self.export_button = ExportButton(ctx, "sessions", self.filters, say=self.status.say, parent=self)

``filters()`` is called when the export starts: the list's current filters, as the keyword
arguments of the service that fills the list (see :mod:`srcdesk.services.exports`), so the file
holds what the list shows — every row, not only those loaded on the screen. The dashboard's tables
use the same button with ``"indicators"`` and ``{"period": …, "establishment_id": …}``.

The dialog chooses the format and the file; the export runs in the background with progress and
Cancel (a cancelled export leaves no file and no record); at the end ``say`` is told how many rows
went where. A user whose role may not make this export (personal data needs a coordinator) still
opens the dialog, which says why and offers no Export button: the reason is found where the
action is looked for. The file chooser goes through :func:`ask_save_path` (tests replace it).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path
from typing import Any

from PySide6.QtCore import QStandardPaths, Signal
from PySide6.QtWidgets import (
    QButtonGroup,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QRadioButton,
    QVBoxLayout,
    QWidget,
)

from ..errors import Cancelled
from ..services import exports
from ..services.base import Context
from .progress import run_with_progress
from .widgets import FieldError, describe_error, hidden_unless, push_button

FORMAT_NAMES = {"xlsx": "Excel workbook (*.xlsx)", "csv": "CSV file (*.csv)"}


def _documents() -> Path:
    found = QStandardPaths.writableLocation(QStandardPaths.StandardLocation.DocumentsLocation)
    return Path(found) if found else Path.home()


def ask_save_path(parent: QWidget, suggested: str, file_format: str,
                  on_chosen: Callable[[Path], Any]) -> QFileDialog:
    """Ask where to save, without blocking; ``on_chosen(path)`` once chosen."""
    dialog = QFileDialog(parent, "Export to", suggested, FORMAT_NAMES[file_format])
    dialog.setObjectName("exportFileDialog")
    dialog.setAcceptMode(QFileDialog.AcceptMode.AcceptSave)
    dialog.setDefaultSuffix(file_format)
    dialog.fileSelected.connect(lambda chosen: on_chosen(Path(chosen)))
    dialog.open()
    return dialog


class ExportDialog(QDialog):
    """Choose XLSX or CSV and the file; Export runs it with progress and Cancel."""

    exported = Signal(object)  # the ExportResult

    def __init__(self, ctx: Context, what: str, filters: dict[str, Any], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ctx, self.what, self.filters = ctx, what, filters
        self.kind = exports.kind(what)
        self.result: exports.ExportResult | None = None
        self.task: Any = None
        self.setObjectName("exportDialog")
        self.setWindowTitle(f"Export {self.kind.label.lower()}")
        self.refusal = exports.refusal(ctx, what)

        intro = QLabel(
            f"Every row of the {self.kind.label.lower()} list as it is filtered now, not only the rows on "
            "the screen." + (" It holds people's names or other personal data: keep the file safe, and "
                              "delete it when it is no longer needed." if self.kind.personal else "")
            + " The export is recorded (who, what, when and the file's name).")
        intro.setObjectName("exportIntro")
        intro.setWordWrap(True)

        self.xlsx = QRadioButton("E&xcel workbook (.xlsx)")
        self.xlsx.setObjectName("formatXlsx")
        self.csv = QRadioButton("&CSV file (.csv)")
        self.csv.setObjectName("formatCsv")
        self.xlsx.setChecked(True)
        group = QButtonGroup(self)
        group.addButton(self.xlsx)
        group.addButton(self.csv)
        formats = QHBoxLayout()
        formats.addWidget(self.xlsx)
        formats.addWidget(self.csv)
        formats.addStretch(1)

        self.path = QLineEdit(str(_documents() / exports.suggested_name(what, "xlsx", dt.date.today())))
        self.path.setObjectName("exportPath")
        self.path.setAccessibleName("File to export to")
        self.path.setMinimumWidth(360)
        path_label = QLabel("&File:")
        path_label.setBuddy(self.path)
        self.browse = push_button("&Browse…", "exportBrowse", self._browse, accessible="Choose the file")
        self.error = FieldError(self.path)
        self.error.setObjectName("exportError")

        grid = QGridLayout()
        format_label = QLabel("Format:")
        grid.addWidget(format_label, 0, 0)
        grid.addLayout(formats, 0, 1, 1, 2)
        grid.addWidget(path_label, 1, 0)
        grid.addWidget(self.path, 1, 1)
        grid.addWidget(self.browse, 1, 2)
        grid.setColumnStretch(1, 1)

        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Cancel)
        self.export_button: QPushButton = self.buttons.addButton("&Export", QDialogButtonBox.ButtonRole.AcceptRole)
        self.export_button.setObjectName("exportStart")
        self.export_button.setDefault(True)
        self.buttons.accepted.connect(self.start)
        self.buttons.rejected.connect(self.reject)

        layout = QVBoxLayout(self)
        layout.addWidget(intro)
        layout.addLayout(grid)
        layout.addWidget(self.error)
        self.why_not = QLabel(self.refusal)
        self.why_not.setObjectName("exportRefusal")
        self.why_not.setWordWrap(True)
        hidden_unless(self.why_not, bool(self.refusal))
        layout.addWidget(self.why_not)
        layout.addWidget(self.buttons)
        if self.refusal:  # the reason, where the action is looked for; nothing to start
            for widget in (self.xlsx, self.csv, self.path, self.browse, self.export_button):
                widget.setEnabled(False)
            self.export_button.hide()
            self.buttons.button(QDialogButtonBox.StandardButton.Cancel).setText("Close")
            self.buttons.button(QDialogButtonBox.StandardButton.Cancel).setFocus()
        self.xlsx.toggled.connect(self._format_changed)
        self.path.returnPressed.connect(self.start)  # Enter in the file's name exports (start() runs once)
        QWidget.setTabOrder(self.xlsx, self.csv)
        QWidget.setTabOrder(self.csv, self.path)
        QWidget.setTabOrder(self.path, self.browse)

    @property
    def file_format(self) -> str:
        return "xlsx" if self.xlsx.isChecked() else "csv"

    def _format_changed(self, *_: Any) -> None:
        text = self.path.text().strip()
        if text:
            path = Path(text)
            if path.suffix.lower() in (".xlsx", ".csv", ""):
                self.path.setText(str(path.with_suffix("." + self.file_format)))

    def _browse(self) -> None:
        self.file_dialog = ask_save_path(self, self.path.text(), self.file_format,
                                         lambda chosen: self.path.setText(str(chosen)))

    def start(self) -> None:
        if self.refusal or self.task is not None:
            return
        text = self.path.text().strip()
        if not text:
            self.error.show_error("Say which file to export to.")
            return
        path = Path(text).expanduser()
        if path.suffix.lower() != "." + self.file_format:
            path = path.with_name(path.name + "." + self.file_format)
        self.error.clear_error()
        self.export_button.setEnabled(False)
        self.task, self.progress = run_with_progress(
            self, exports.export, self.ctx, self.what, path, file_format=self.file_format, filters=self.filters,
            title=f"Export {self.kind.label.lower()}", label=f"Exporting {self.kind.label.lower()}…",
            reports_progress=True, cancellable=True, on_result=self._done, on_error=self._failed,
            name=f"export {self.what}")

    def _done(self, result: exports.ExportResult) -> None:
        self.task = None
        self.result = result
        self.exported.emit(result)
        self.accept()

    def _failed(self, error: BaseException) -> None:
        self.task = None
        self.export_button.setEnabled(True)
        if isinstance(error, Cancelled):
            self.error.show_error(str(error))
        else:
            self.error.show_error(describe_error(error))


class ExportButton(QPushButton):
    """"Export…" under a list: opens :class:`ExportDialog` with the list's current filters."""

    def __init__(self, ctx: Context, what: str, filters: Callable[[], dict[str, Any]], *,
                 say: Callable[[str], Any] | None = None, parent: QWidget | None = None,
                 text: str = "E&xport…") -> None:
        super().__init__(text, parent)
        self.ctx, self.what, self.filters, self.say = ctx, what, filters, say
        label = exports.kind(what).label.lower()
        self.setObjectName("exportAction")
        self.setAccessibleName(f"Export the {label} list")
        self.setAutoDefault(False)
        refusal = exports.refusal(ctx, what)
        self.setToolTip(refusal or f"Save the {label} list as an Excel workbook or a CSV file")
        self.dialog: ExportDialog | None = None
        self.clicked.connect(self.open_dialog)

    def open_dialog(self) -> ExportDialog | None:
        if self.dialog is not None and self.dialog.isVisible():
            self.dialog.raise_()
            self.dialog.activateWindow()
            return self.dialog
        try:
            filters = self.filters()
        except Exception as error:  # noqa: BLE001 - the list's own filters are wrong: say so
            if self.say is not None:
                self.say(describe_error(error))
            return None
        dialog = ExportDialog(self.ctx, self.what, filters, self.window())
        if self.say is not None:
            dialog.exported.connect(lambda result: self.say(result.message()))
        self.dialog = dialog
        dialog.open()
        return dialog
