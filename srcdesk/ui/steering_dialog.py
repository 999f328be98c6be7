"""The Steering Group report dialog: choose the period (and, at the office, the establishment), type
the notes, keep small numbers hidden (on; turning it off asks first), then Save as… a PDF, made in
the background with progress and Cancel, then "Open the folder" it is in.

The notes are a draft kept per period in this PC's settings (``QSettings``, under
:data:`NOTES_KEY`), saved as they are typed, so closing the dialog loses nothing. The file chooser
(:meth:`SteeringDialog.ask_path`) and "open the folder" (:meth:`SteeringDialog.open_folder`) are
class methods that tests replace; nothing here waits on the database or the disk.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path
from typing import Any

from PySide6.QtCore import QSettings, Qt, QUrl
from PySide6.QtGui import QDesktopServices
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QLabel,
    QMessageBox,
    QPlainTextEdit,
    QVBoxLayout,
    QWidget,
)

from ..errors import Cancelled
from ..reports import steering as report
from ..reports.periods import Period, parse_period, periods_offered
from ..services import dashboard, steering
from ..services.base import Context
from .progress import run_with_progress
from .tasks import Task, run_task
from .widgets import (
    FieldError,
    StatusNote,
    choose_save_file,
    confirm,
    describe_error,
    heading,
    hidden_unless,
    push_button,
)

NOTES_KEY = "steering/notes/{}"  # + the period's code: the draft notes for that period
PLAN_YEARS_OFFERED = 5  # this plan year and the four before it, each with its quarters


class SteeringDialog(QDialog):
    """Make the Recovery Strategy Steering Group report (coordinators)."""

    def __init__(self, ctx: Context, period: Period, establishment_id: str | None = None,
                 parent: QWidget | None = None, *, settings: QSettings | None = None,
                 today: dt.date | None = None) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self.settings = settings if settings is not None else QSettings()
        self.establishment_id = establishment_id
        self.saved_path: Path | None = None
        self._task: Task | None = None
        self._loading: Task | None = None
        self._codes: dict[str, str] = {}
        self.confirm_box: QMessageBox | None = None
        self.setObjectName("steeringDialog")
        self.setWindowTitle("Steering Group report")
        self.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        self.allowed = ctx.can("report.steering")

        self.title = heading(report.TITLE)
        self.intro = QLabel("A PDF for the Steering Group: the headline figures and the change from the previous "
                            "period, charts, a table by establishment, the workplan's progress, how fresh the data "
                            "is, and your notes.")
        self.intro.setWordWrap(True)

        self.period = QComboBox()
        self.period.setObjectName("periodCombo")
        self.period.setAccessibleName("Period")
        for p in periods_offered(today or dt.date.today(), PLAN_YEARS_OFFERED, also=period):
            self.period.addItem(p.label, p.code)  # a string: Qt finds strings (findData), not Python objects
        self.period.setCurrentIndex(max(self.period.findData(period.code), 0))
        self._period_shown = self.current_period()

        self.scope = QComboBox()
        self.scope.setObjectName("scopeCombo")
        self.scope.setAccessibleName("Establishment")
        self.scope.addItem("Loading…", establishment_id)
        self.scope.setEnabled(False)

        self.notes = QPlainTextEdit()
        self.notes.setObjectName("notesEdit")
        self.notes.setAccessibleName("Notes for the Steering Group")
        self.notes.setPlaceholderText("Notes for the Steering Group: what went well, what is behind and why, "
                                      "what you ask of the group. Kept on this PC for this period as you type.")
        self.notes.setTabChangesFocus(True)
        self.notes.setMinimumHeight(120)
        self.notes.setPlainText(self._draft(self._period_shown))
        self.notes.textChanged.connect(self._keep_draft)

        self.suppress = QCheckBox("&Hide small numbers: show 1 to 9 people as “<10”")
        self.suppress.setObjectName("suppressCheck")
        self.suppress.setAccessibleName("Hide small numbers")
        self.suppress.setChecked(True)
        self.suppress.toggled.connect(self._suppress_toggled)
        self.suppress_note = QLabel("")
        self.suppress_note.setObjectName("suppressNote")
        self.suppress_note.setWordWrap(True)
        self.suppress_note.setStyleSheet("font-weight: bold;")
        self.suppress_note.hide()

        self.role_note = QLabel(ctx.refusal("report.steering"))
        self.role_note.setObjectName("roleNote")
        self.role_note.setWordWrap(True)
        hidden_unless(self.role_note, not self.allowed)
        self.error = FieldError()
        self.error.setObjectName("dialogError")
        self.status = StatusNote()
        self.status.setObjectName("status")

        form = QFormLayout()
        form.addRow("&Period:", self.period)
        form.addRow("&Establishment:", self.scope)
        form.addRow("&Notes:", self.notes)
        for row in range(form.rowCount()):
            label = form.itemAt(row, QFormLayout.ItemRole.LabelRole)
            field = form.itemAt(row, QFormLayout.ItemRole.FieldRole)
            if label is not None and field is not None and isinstance(label.widget(), QLabel):
                label.widget().setBuddy(field.widget())

        self.buttons = QDialogButtonBox()
        self.save_button = push_button("&Save as…", "saveAsButton", self.save_as, auto_default=True)
        self.save_button.setDefault(True)
        self.save_button.setEnabled(self.allowed)
        self.buttons.addButton(self.save_button, QDialogButtonBox.ButtonRole.AcceptRole)
        self.folder_button = push_button("&Open the folder", "openFolderButton", self._open_saved_folder)
        self.buttons.addButton(self.folder_button, QDialogButtonBox.ButtonRole.ActionRole)
        self.folder_button.hide()  # once a report is saved (after addButton, which shows it)
        self.close_button = self.buttons.addButton("&Close", QDialogButtonBox.ButtonRole.RejectRole)
        self.close_button.setObjectName("closeButton")
        self.close_button.setAccessibleName("Close")
        self.close_button.setAutoDefault(False)
        self.buttons.rejected.connect(self.reject)

        layout = QVBoxLayout(self)
        layout.addWidget(self.title)
        layout.addWidget(self.intro)
        layout.addWidget(self.role_note)
        layout.addLayout(form, 1)
        layout.addWidget(self.suppress)
        layout.addWidget(self.suppress_note)
        layout.addWidget(self.error)
        layout.addWidget(self.status)
        layout.addWidget(self.buttons)
        self.resize(620, 520)

        self.period.currentIndexChanged.connect(self._period_changed)
        self._loading = run_task(dashboard.establishments, ctx, owner=self, on_result=self._establishments,
                                 on_error=self._not_loaded, name="establishments for the report")

    # -- the choices ---------------------------------------------------------------------------

    def current_period(self) -> Period:
        return parse_period(self.period.currentData())

    def current_establishment(self) -> str | None:
        return self.scope.currentData()

    def _establishments(self, rows: list[tuple[str, str, str]]) -> None:
        self._loading = None
        self.scope.clear()
        self._codes = {eid: code for eid, code, _name in rows}
        if self.ctx.installation.is_office:
            self.scope.addItem("All establishments (national)", None)
        for eid, _code, name in rows:
            self.scope.addItem(name, eid)
        self.scope.setCurrentIndex(max(self.scope.findData(self.establishment_id), 0))
        self.scope.setEnabled(self.scope.count() > 1)

    def _not_loaded(self, error: BaseException) -> None:
        self._loading = None
        self.scope.setItemText(0, "—")
        self.error.show_error(describe_error(error))

    # -- the notes' draft, per period ----------------------------------------------------------------

    def _draft(self, period: Period) -> str:
        return str(self.settings.value(NOTES_KEY.format(period.code), "") or "")

    def _keep_draft(self) -> None:
        key = NOTES_KEY.format(self._period_shown.code)
        text = self.notes.toPlainText()
        if text:
            self.settings.setValue(key, text)
        else:
            self.settings.remove(key)

    def _period_changed(self) -> None:
        self._keep_draft()
        self._period_shown = self.current_period()
        self.notes.blockSignals(True)
        self.notes.setPlainText(self._draft(self._period_shown))
        self.notes.blockSignals(False)

    # -- small numbers ---------------------------------------------------------------------------

    def _suppress_toggled(self, on: bool) -> None:
        if on:
            self.suppress_note.hide()
            return
        self.suppress.blockSignals(True)
        self.suppress.setChecked(True)  # until the person says yes
        self.suppress.blockSignals(False)
        self.confirm_box = confirm(
            self, "Show small numbers?", "Show counts of 1 to 9 people as they are?", "&Show them",
            self._unsuppress, no_text="&Keep them hidden",
            informative="Small numbers could let someone recognise a person. A report with them is for use "
                        f"inside SRC only: every page will say “{report.NOT_FOR_CIRCULATION}”.")

    def _unsuppress(self) -> None:
        self.suppress.blockSignals(True)
        self.suppress.setChecked(False)
        self.suppress.blockSignals(False)
        self.suppress_note.setText(f"Small numbers will show. {report.NOT_FOR_CIRCULATION}: every page says so.")
        self.suppress_note.show()

    # -- saving ----------------------------------------------------------------------------------

    @classmethod
    def ask_path(cls, parent: QWidget, suggested: str, on_chosen: Callable[[Path], Any]) -> QFileDialog | None:
        """Ask where to save the PDF without blocking; ``on_chosen(path)`` once chosen (tests replace this)."""
        return choose_save_file(parent, "Save the Steering Group report", suggested, "PDF files (*.pdf)", "pdf",
                                "saveReportDialog", on_chosen)

    @classmethod
    def open_folder(cls, folder: Path) -> None:
        """Show the folder in the system's file manager (tests replace this)."""
        QDesktopServices.openUrl(QUrl.fromLocalFile(str(folder)))

    def suggested_name(self) -> str:
        """``steering-group-2025-Q3.pdf``, or ``…-PER.pdf`` for one establishment's report."""
        return report.file_name(self.current_period(), self._codes.get(self.current_establishment() or ""))

    def save_as(self) -> None:
        if not self.allowed or self._task is not None or self._loading is not None:
            return
        self.error.clear_error()
        self.ask_path(self, self.suggested_name(), self.write)

    def write(self, path: Path) -> None:
        """Make the report at ``path`` in the background, with progress and Cancel."""
        if self._task is not None:
            return
        self.folder_button.hide()
        self.status.say("Making the report…")
        self.save_button.setEnabled(False)
        self._task, self.progress_dialog = run_with_progress(
            self, steering.write_report, self.ctx, self.current_period(), path,
            establishment_id=self.current_establishment(), notes=self.notes.toPlainText(),
            suppressed=self.suppress.isChecked(), title="Steering Group report",
            label="Making the Steering Group report…", reports_progress=True, cancellable=True,
            on_result=self._written, on_error=self._failed, name="make the Steering Group report")

    def _written(self, path: Path) -> None:
        self._task = None
        self.saved_path = path
        self.save_button.setEnabled(True)
        self.status.say(f"Saved {path.name} in {path.parent}.")
        self.folder_button.show()
        self.folder_button.setFocus()

    def _open_saved_folder(self) -> None:
        if self.saved_path is not None:
            self.open_folder(self.saved_path.parent)

    def _failed(self, error: BaseException) -> None:
        self._task = None
        self.save_button.setEnabled(self.allowed)
        if isinstance(error, Cancelled):
            self.status.say("Cancelled: no file was saved.")
            return
        self.status.say("")
        self.error.show_error(describe_error(error))

    def reject(self) -> None:
        self._keep_draft()
        for task in (self._task, self._loading):
            if task is not None:
                task.discard()
        self._task = self._loading = None
        super().reject()
